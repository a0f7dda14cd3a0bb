//! The documentation of every finding code, ruff-style (SPEC §2 `tlsflow explain`, §5.4): what
//! it detects, why it matters, a minimal example that produces it, and the fix in Exchange terms.
//!
//! The `match` in [`doc`] has no wildcard arm, so a new code cannot go undocumented. Examples are
//! topology YAML in tlsflow's format 1 (SPEC §3) for configuration codes, and a scenario or a
//! situation for the codes found at run time. References are to `reference/exchange-transport.md`.

use crate::model::Code;

/// The documentation of a finding code (ruff-style).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeDoc {
    /// What it detects, one or two sentences.
    pub what: &'static str,
    /// Why it matters, for an Exchange administrator or an auditor (cite reference sections like
    /// "reference §3.9").
    pub why: &'static str,
    /// A minimal example: a YAML snippet (topology or scenario) or a situation, that produces it.
    pub example: &'static str,
    /// How to fix it, in Exchange terms (the cmdlet or the YAML change).
    pub fix: &'static str,
}

/// The documentation of `code`.
pub fn doc(code: Code) -> CodeDoc {
    match code {
        Code::Tls001 => CodeDoc {
            what: "A recipient whose transport rule required TLS (RouteMessageOutboundRequireTls) \
                   was handed to the remote host in clear text: the requirement was dropped on a \
                   hop before the sending server, the connector does not require TLS itself, and \
                   the remote did not offer STARTTLS (or its handshake failed and Exchange fell \
                   back to clear text).",
            why: "This is the defect (docs/evidence.md#the-defect, #cross-site-loss): the rule stores the requirement on \
                  the recipient inside the Transport service that ran it; a relay to another \
                  Transport service does not carry it (docs/evidence.md#what-travels) and later servers skip the rules \
                  (docs/evidence.md#rules-once-per-forest), so the sending server uses the connector's opportunistic TLS. No error, \
                  no NDR, and the encrypted intra-organisation hop hides the loss (docs/evidence.md#opportunistic-tls). Which \
                  Transport service runs the rule is Mailbox Transport Submission's choice \
                  (docs/evidence.md#where-rules-run): the delivery group of the message's mailbox recipients, else any \
                  member of the sender's own group (a DAG may span sites). So mail from the \
                  connector's own site is exposed too when it copies a mailbox in a \
                  connector-less site, or when the sender's DAG has members elsewhere; and an \
                  Exchange 2010 Hub Transport never runs 2013+ rules at all (lost at \
                  submission).",
            example: concat!(
                "send_connectors:\n",
                "  - {name: Internet, address_spaces: [\"SMTP:*;1\"],\n",
                "     source_servers: [HQ-MBX1]}\n",
                "transport_rules:\n",
                "  - name: Top secret must use TLS\n",
                "    conditions: {subject_or_body_contains: [\"top secret\"]}\n",
                "    actions: {require_tls: true}\n",
                "external_domains:\n",
                "  - domain: fabrikam.com\n",
                "    mx: [{host: mx1.fabrikam.com, starttls: not_offered}]\n",
                "# exchange2013: alice@contoso.com (BR-MBX1, site Branch) sends \"Top secret\"\n",
                "# to bob@fabrikam.com: lost on BR-MBX1 -> HQ-MBX1, sent in clear (the demo).\n",
                "# carol@contoso.com (HQ-MBX1) sends it to bob and copies alice: submitted in\n",
                "# Branch (alice's group), lost the same way although Carol sits in HQ.",
            ),
            fix: "Make every server that can run the rule a source server of the connector that \
                  sends the mail (for a stretched DAG, its members in every site; `tlsflow check` \
                  lists them as \"rules run on\"): Set-SendConnector Internet -SourceTransportServers @{Add='BR-MBX1'} \
                  (YAML: add BR-MBX1 to source_servers), or give the site its own connector \
                  (New-SendConnector -SourceTransportServers BR-MBX1, with -IsScopedConnector \
                  $true to keep it to that site). For domains that must never get clear text, \
                  also set -RequireTLS $true on their connector (require_tls: true): no relay \
                  can lose a connector's own setting.",
        },
        Code::Tls002 => CodeDoc {
            what: "A recipient was delivered over TLS, but weaker than the strongest of the \
                   rule's requirement, the connector's own level (require_tls + tls_auth_level) \
                   and Domain Secure's domain validation. Typically the rule's encryption_only \
                   overrode a connector's certificate_validation or domain_validation.",
            why: "A rule-imposed level that reaches the sending server replaces the connector's \
                  TLS settings wholesale (RequireTLS on, IgnoreSTARTTLS off, TlsAuthLevel \
                  EncryptionOnly; docs/evidence.md#rule-action), so mail the rule marks as sensitive can go to \
                  a host whose certificate the connector would refuse (docs/evidence.md#connector-defaults, docs/evidence.md#tls-requirement): \
                  encrypted, but the partner is not authenticated. The evidence (docs/evidence.md#rule-action) infers the \
                  override from decompiled code; it is UNCONFIRMED in practice, so it is the \
                  profile setting rule_level_overrides_connector (on in exchange2013, off in \
                  requiretls, where the stricter level holds).",
            example: concat!(
                "send_connectors:\n",
                "  - name: Litware partner\n",
                "    address_spaces: [\"SMTP:litwareinc.com;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    require_tls: true\n",
                "    tls_auth_level: domain_validation\n",
                "    tls_domain: litwareinc.com\n",
                "# The require_tls rule matches \"Top secret\" to ops@litwareinc.com, sent by\n",
                "# HQ-MBX1 itself; the MX's valid certificate names only *.mailprotect.example:\n",
                "# delivered encrypted, not domain-validated. Full scenario:\n",
                "# scenarios/partner-domain-validation-downgrade.yaml",
            ),
            fix: "Keep rule-flagged mail to that domain out of the override: add an exception for \
                  the partner domain (Set-TransportRule -ExceptIfRecipientDomainIs \
                  litwareinc.com; YAML exceptions: {recipient_domain_is: [litwareinc.com]}) so \
                  the connector's own TlsAuthLevel applies, and have the partner's certificate \
                  name the domain (or correct -TlsDomain).",
        },
        Code::Tls003 => CodeDoc {
            what: "Fires only when the rule's requirement was lost on a hop before the sending \
                   server, nothing else on the way out enforced as much (the connector has no \
                   require_tls and Domain Secure does not apply), and the remote offered TLS, so \
                   the message still left encrypted. Had it left in clear text, it would be \
                   TLS001.",
            why: "Nothing enforced the requirement: the same route sends in clear text as soon \
                  as the remote stops offering STARTTLS or its handshake fails (docs/evidence.md#opportunistic-tls, \
                  docs/evidence.md#cross-site-loss). An auditor should count it as unenforced; the finding names the hop, \
                  the profile rule that dropped the requirement, and its evidence (reported for \
                  cross-site relays, inferred for the others).",
            example: concat!(
                "# A scenario in scenarios/, on the shipped topology: Internet is sourced on\n",
                "# HQ-MBX1 only; the \"*\" MX offers STARTTLS with a trusted certificate.\n",
                "topology: topologies/contoso-cross-site.yaml\n",
                "messages:\n",
                "  - {at: 0s, from: alice@contoso.com, to: [carol@tailspintoys.com],\n",
                "     subject: Top secret}\n",
                "# lost on BR-MBX1 -> HQ-MBX1; HQ-MBX1 sends opportunistically: TLS by luck.",
            ),
            fix: "As for TLS001: make the origin site's Mailbox servers source servers of the \
                  connector (Set-SendConnector -SourceTransportServers @{Add='BR-MBX1'}; YAML \
                  source_servers), or give the site its own connector (New-SendConnector \
                  -SourceTransportServers BR-MBX1 -IsScopedConnector $true); for domains that \
                  must never get clear text, set -RequireTLS $true on their connector.",
        },
        Code::Tls004 => CodeDoc {
            what: "A recipient domain is on tls_send_domain_secure_list and its connector has \
                   domain_secure: true, but the connector proxies through Front End Transport \
                   (frontend_proxy: true), which breaks Domain Secure under the profile. \
                   Reported for every delivered recipient of that domain, rule or no rule.",
            why: "Domain Security needs nothing between the sending Transport service and the \
                  partner; Microsoft documents it as unsupported for outbound mail routed through \
                  a Client Access (Front End) server (docs/evidence.md#domain-security, #front-end-proxy). The partner gets no \
                  mutually authenticated session (no AuthAs: Partner) and the domain validation \
                  is skipped: the mail leaves with the connector's ordinary TLS, possibly none.",
            example: concat!(
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox, frontend]}]\n",
                "send_connectors:\n",
                "  - name: Woodgrove Domain Secure\n",
                "    address_spaces: [\"SMTP:woodgrove.com;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    domain_secure: true\n",
                "    frontend_proxy: true\n",
                "transport_config:\n",
                "  tls_send_domain_secure_list: [woodgrove.com]\n",
                "  tls_receive_domain_secure_list: [woodgrove.com]\n",
                "# dave@contoso.com (HQ-MBX1) -> ann@woodgrove.com: delivered, TLS004.",
            ),
            fix: "Send Domain Secure partners directly from the Transport service: \
                  Set-SendConnector 'Woodgrove Domain Secure' -FrontendProxyEnabled $false \
                  (YAML: frontend_proxy: false). Keep outbound proxy for connectors of other \
                  domains only. CFG102 reports the same configuration statically.",
        },
        Code::Tls005 => CodeDoc {
            what: "Mail with a TLS requirement (a rule's, the connector's or Domain Secure's) \
                   was handed to a smart host: tlsflow judged the hop to the smart host; what \
                   the smart host does next is not Exchange's.",
            why: "A Send connector with smart hosts (DNSRoutingEnabled $false) hands every \
                  message to a relay: the rule's or the connector's TLS settings govern only \
                  that hop (docs/evidence.md#connector-defaults, #rule-action). Whether the relay (a gateway, a hosted \
                  filter, an ISP) requires TLS toward the recipient is outside the \
                  organisation's Exchange configuration, so no report about Exchange can prove \
                  it: the guarantee ends at the smart host.",
            example: concat!(
                "send_connectors:\n",
                "  - name: Internet via relay\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    dns_routing: false\n",
                "    smart_hosts: [relay.contoso.net]\n",
                "# dave@contoso.com -> bob@fabrikam.com \"Top secret\": TLS to relay.contoso.net;\n",
                "# TLS005: relay.contoso.net must enforce TLS onward itself.",
            ),
            fix: "Require TLS on the smart host too (its own outbound policy: for a hosted \
                  filter, a TLS-enforcing outbound connector; for a gateway, its TLS policy for \
                  the domain), or send the domains that need TLS through a connector with DNS \
                  routing and require_tls.",
        },
        Code::Obs001 => CodeDoc {
            what: "From Exchange's own logs (`tlsflow logs`): a recipient of a message that a \
                   require-TLS rule matched (an AGENTINFO row with \
                   `S:TRA=ETR|ruleId=…|action=RouteMessageOutboundRequireTls|…|mode=Enforce`) \
                   was handed over outside the organisation in an SMTP session that negotiated \
                   no TLS before the message's content was sent. The evidence is the rule's \
                   AGENTINFO row, the SEND row and the SmtpSend protocol-log lines of the session, \
                   quoted by file and line.",
            why: "It is TLS001 observed instead of predicted: it did happen, to this message, at \
                  this time, and the auditor can show the lines. The rule stores the requirement \
                  on the recipient in the Transport service that ran it; a relay to another \
                  Transport service does not carry it (docs/evidence.md#what-travels), so the \
                  server that sends the message out uses the connector's opportunistic TLS.",
            example: concat!(
                "# tracking log of BR-MBX1 (rule ran there):\n",
                "...,AGENT,AGENTINFO,1,<1@contoso.com>,...,\"S:TRA=ETR|ruleId=…|action=RouteMessageOutboundRequireTls|sev=1|mode=Enforce\"\n",
                "# SmtpSend protocol log of HQ-MBX1: no STARTTLS offered, DATA sent\n",
                "...,Internet,08DAB13335961996,5,10.0.0.2:10437,192.0.2.25:25,<,250 mx1.fabrikam.com Hello ... SIZE ...,\n",
                "...,*,,sending message with RecordId 2 and InternetMessageId <1@contoso.com>\n",
                "...,>,DATA,\n",
                "# tlsflow logs logs/ --topology topology.yaml: OBS001",
            ),
            fix: "As for TLS001: require TLS where the message leaves (Set-SendConnector -RequireTLS \
                  $true on a connector scoped to the domains that need it), or make the servers \
                  that run the rule the source servers of the Internet connector. Then tell the \
                  data owner: the message has left in clear text and cannot be recalled.",
        },
        Code::Obs002 => CodeDoc {
            what: "From the logs: the rule required TLS, the sending server logged the recipient's \
                   RequiredTlsAuthLevel as Opportunistic on its SEND (the requirement did not \
                   reach it), and the session negotiated TLS only because the remote offered \
                   STARTTLS.",
            why: "TLS003 observed: nothing leaked this time, but nothing enforced it either. The \
                  same message to a host that stops offering STARTTLS (or whose handshake fails) \
                  leaves in clear text without an error.",
            example: concat!(
                "# SEND row of HQ-MBX1 (custom-data or EventData):\n",
                "[Microsoft.Exchange.Transport.MailRecipient.RequiredTlsAuthLevel, Opportunistic]\n",
                "# its SmtpSend session: 250-STARTTLS, STARTTLS, TLS protocol SP_PROT_TLS1_2_CLIENT ... succeeded\n",
                "# -> OBS002",
            ),
            fix: "As for TLS003: have the requirement enforced where the message leaves (a \
                  connector with -RequireTLS $true for the domain, or the rule's servers as the \
                  connector's source servers).",
        },
        Code::Obs003 => CodeDoc {
            what: "From the logs: a required recipient was sent outside, but whether over TLS cannot \
                   be told: the sending server's SmtpSend protocol log is missing for that time, \
                   or has no session for the message (protocol logging is off on the Send \
                   connector), and its SEND row does not show the requirement in force. The \
                   finding names the log that is missing.",
            why: "An auditor cannot conclude \"no leak\" from an absence of evidence. Protocol logs \
                  are written only when the Send connector's ProtocolLoggingLevel is Verbose, and \
                  are kept 30 days by default.",
            example: concat!(
                "# a tracking log with the rule's AGENTINFO and HQ-MBX1's SEND through Internet,\n",
                "# and no SmtpSend log of HQ-MBX1 in the folders given -> OBS003:\n",
                "# missing the SmtpSend protocol log of HQ-MBX1",
            ),
            fix: "Collect the missing files (scripts/Export-TlsflowInventory.ps1 -CollectLogs), and \
                  turn protocol logging on for the future: Set-SendConnector <name> \
                  -ProtocolLoggingLevel Verbose, and Set-TransportService \
                  -IntraOrgConnectorProtocolLoggingLevel Verbose.",
        },
        Code::Obs004 => CodeDoc {
            what: "With --topology: an incident the logs prove (OBS001 or OBS002) for an origin \
                   and recipient domain where `tlsflow check` predicts no exposure of that kind, \
                   under any set of up to --failures failed components.",
            why: "The model and reality disagree: the topology file is out of date (a connector, \
                  a server or a rule changed), the failure that caused it is larger than \
                  --failures, or tlsflow's model of Exchange is wrong. Either way the \
                  predictions for this organisation cannot be trusted until it is explained.",
            example: concat!(
                "# check predicts nothing for site HQ to fabrikam.com at K = 1,\n",
                "# yet the logs show <7@contoso.com> from HQ-MBX1 to bob@fabrikam.com in clear\n",
                "# text: OBS004 next to the OBS001.",
            ),
            fix: "Import the organisation again (tlsflow import exchange) and re-run with a larger \
                  --failures; if the incident stays unpredicted, report it with the evidence \
                  lines: the model needs fixing.",
        },
        Code::Dlv001 => CodeDoc {
            what: "A recipient with a TLS requirement (from a rule, or from a connector or Domain \
                   Secure that refused a hand-over) was still queued at \
                   message_expiration_timeout and got the NDR 550 4.4.7 QUEUE.Expired: it never \
                   left in clear text. Reported by simulate, whatever kept it queued.",
            why: "The guarantee held: Exchange defers with 451 5.7.3, retries on its schedule, \
                  sends a delay DSN and finally returns the message (docs/evidence.md#require-tls-connector, #retry-and-expiry), as \
                  the rule promises. But the sender waited up to two days for an NDR; repeated \
                  DLV001 to one domain means that partner cannot take TLS mail (or fails \
                  validation). Under profile requiretls the message is returned at once (5.7.30) \
                  instead, without DLV001.",
            example: concat!(
                "# contoso-cross-site topology, exchange2013: Dave's mailbox is on HQ-MBX1,\n",
                "# a source server of Internet, so the rule's requirement is kept.\n",
                "external_domains:\n",
                "  - domain: fabrikam.com\n",
                "    mx: [{host: mx1.fabrikam.com, starttls: not_offered}]\n",
                "messages:\n",
                "  - {at: 0s, from: dave@contoso.com, to: [bob@fabrikam.com],\n",
                "     subject: Top secret}\n",
                "# 451 5.7.3 STARTTLS is required, retries, delay DSN at 4h,\n",
                "# 550 4.4.7 QUEUE.Expired at 2d: DLV001.",
            ),
            fix: "Nothing to fix in the enforcement. Ask the recipient to offer STARTTLS with a \
                  valid certificate that names its domain (or correct -TlsDomain), or exempt the \
                  domain on purpose (Set-TransportRule -ExceptIfRecipientDomainIs) if clear text \
                  is acceptable for it. To fail faster, lower Set-TransportService \
                  -MessageExpirationTimeout (transport_config.message_expiration_timeout).",
        },
        Code::Dlv002 => CodeDoc {
            what: "No Send connector visible from the routing server matches the recipient \
                   domain (none enabled and up, unscoped or scoped to the local site, with an \
                   address space covering it), so the recipient goes to the Unreachable queue. \
                   Reported for every such recipient, TLS-required or not.",
            why: "Exchange marks the recipient unreachable and holds the message in the \
                  Unreachable queue until it expires with an NDR (docs/evidence.md#connector-selection, #queues): no mail \
                  to that domain leaves. Common causes: a connector scoped to another site \
                  (IsScopedConnector), a partner-only address space, or the only matching \
                  connector disabled or down.",
            example: concat!(
                "send_connectors:\n",
                "  - {name: Partner, address_spaces: [\"SMTP:fabrikam.com;1\"],\n",
                "     source_servers: [HQ-MBX1]}\n",
                "# dave@contoso.com -> bob@woodgrove.com: nothing covers woodgrove.com;\n",
                "# the message waits in the Unreachable queue on HQ-MBX1, then expires (NDR).",
            ),
            fix: "Cover the domain: add an address space (Set-SendConnector -AddressSpaces \
                  @{Add='SMTP:woodgrove.com;1'}, or 'SMTP:*;1' for the Internet; YAML \
                  address_spaces), or create a connector for it (New-SendConnector). If only a \
                  scoped connector covers it, unscope it (-IsScopedConnector $false) or add one \
                  sourced in the sender's site.",
        },
        Code::Exp001 => CodeDoc {
            what: "An assertion of the scenario's `expect` does not hold for a run: the count of \
                   findings of a code (violations) or of recipients in an outcome (outcomes: \
                   delivered, delivered_none, delivered_encrypted, \
                   delivered_certificate_validated, delivered_domain_validated, ndr, queued) is \
                   outside its bound for that variant.",
            why: "Expectations turn a scenario into a regression test: when a change brings back \
                  the cross-site loss (TLS001 above 0) or makes a fixed variant worse, simulate \
                  reports EXP001 as an error and exits 1, so the CI pipeline fails (docs/evidence.md#commands-and-exit-codes, \
                  #scenario-format).",
            example: concat!(
                "expect:\n",
                "  baseline: {violations: {TLS001: \">= 1\"}}\n",
                "  connector-in-branch: {violations: {TLS001: 0}, outcomes: {ndr: 2}}\n",
                "# If variant connector-in-branch still sends a message in clear text:\n",
                "# EXP001 variant connector-in-branch: expected TLS001 == 0, found 1",
            ),
            fix: "Read that variant's findings to see what changed. Fix the topology (the \
                  remediation of the finding concerned) or, if the new behaviour is intended, \
                  update the bound: a count or a comparison, e.g. 0, \">= 1\", \"<= 5\", \
                  \"== 2\", \"> 0\", \"< 3\".",
        },
        Code::Cfg001 => CodeDoc {
            what: "The file cannot be read as one YAML document: unreadable, a directory, over \
                   8 MiB, not UTF-8 text (binary, NUL bytes), empty, a syntax error (a tab in \
                   the indentation, bad indentation, an unclosed bracket or quote), several \
                   documents, or beyond tlsflow's nesting and alias-expansion limits.",
            why: "Nothing can be checked until the file parses, and tlsflow never guesses: it \
                  stops with exit 2 and the line and column (docs/evidence.md#commands-and-exit-codes). The limits keep a YAML \
                  bomb from exhausting a CI runner (docs/evidence.md#limits).",
            example: concat!(
                "format: 1\n",
                "sites:\n",
                "  - name: HQ\n",
                "\t- name: Branch      # a tab in the indentation",
            ),
            fix: "Fix the syntax at the reported position: indent with spaces only, close \
                  brackets and quotes, keep one document per file (no `---`), save as UTF-8. A \
                  topology starts with `format: 1`.",
        },
        Code::Cfg002 => CodeDoc {
            what: "The YAML does not have the shape of a topology or scenario: an unknown or \
                   duplicate key, a missing required key, a wrong type (text for a number, \
                   yes/no for a boolean), or a missing part (no sites, a server with no role or \
                   no site, a rule without an action, an event without exactly one of down, up \
                   or set).",
            why: "Unknown keys are errors so that a typo cannot silently change a security \
                  answer: `requre_tls: true` would otherwise leave a connector opportunistic \
                  (docs/evidence.md#topology-format). YAML 1.1 booleans (yes/no/on/off) are refused for the same reason.",
            example: concat!(
                "format: 1\n",
                "sites:\n",
                "  - name: HQ\n",
                "    hubb: true          # unknown key: did you mean `hub`?",
            ),
            fix: "Correct the key or the value at the reported YAML path (the hint lists the \
                  allowed keys); write true/false and plain numbers. `tlsflow schema` gives a \
                  JSON Schema that editors use to complete and check the file.",
        },
        Code::Cfg003 => CodeDoc {
            what: "The topology or scenario declares a `format` other than 1.",
            why: "The file format is versioned (docs/evidence.md#topology-format, #scenario-format): a file written for another format \
                  may mean something else, so tlsflow refuses to guess rather than give a wrong \
                  security answer.",
            example: concat!(
                "format: 2\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]",
            ),
            fix: "Write `format: 1`, or use a tlsflow release that reads the file's format.",
        },
        Code::Cfg004 => CodeDoc {
            what: "Two objects of one kind share a name, compared case-insensitively as Active \
                   Directory does (sites, site links, servers, send connectors, rules, \
                   variants); a mailbox or external domain listed twice; or a connector named \
                   like the `EdgeSync - <Site> to Internet` connector an Edge subscription \
                   creates.",
            why: "Active Directory and the Exchange cmdlets refuse a second object whose name \
                  differs only by case; keeping both would make every reference ambiguous and \
                  could route mail through an object that cannot exist.",
            example: concat!(
                "format: 1\n",
                "sites:\n",
                "  - name: HQ\n",
                "  - name: hq            # the same name for Active Directory",
            ),
            fix: "Rename or remove one of them (e.g. Set-SendConnector -Name, Set-TransportRule \
                  -Name); rename an explicit connector whose name clashes with an EdgeSync \
                  connector, as those names belong to Edge subscriptions.",
        },
        Code::Cfg005 => CodeDoc {
            what: "A name refers to nothing defined: a site, server, send connector, profile \
                   (built-in name or file), external domain or MX host; in a scenario also a \
                   sender without a mailbox, or an unknown variant, finding code or outcome in \
                   `expect`.",
            why: "A dangling reference would silently drop a server from SourceTransportServers \
                  or a site from a link and change the route, hence the TLS answer \
                  (docs/evidence.md#delivery-groups, #connector-selection); Exchange's cmdlets fail on an unknown identity too.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Internet\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX2]       # no such server",
            ),
            fix: "Use the exact name of a defined object (the hint suggests the closest one and \
                  points out look-alike non-ASCII characters), or define it. Built-in profiles: \
                  exchange2010, exchange2013 (alias exchange2016, exchange2019), exchange-fixed, \
                  requiretls.",
        },
        Code::Cfg006 => CodeDoc {
            what: "A site link names fewer than two distinct sites: a single site, or the same \
                   site twice.",
            why: "An AD IP site link joins two or more sites; Exchange computes least-cost paths \
                  over these links only (docs/evidence.md#least-cost-paths). A self-link adds no path and is \
                  usually a typo for the other site.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}, {name: Branch}]\n",
                "site_links:\n",
                "  - {name: HQ-Branch, sites: [HQ, HQ]}",
            ),
            fix: "Name both sites (sites: [HQ, Branch]), as in Active Directory Sites and \
                  Services (Set-ADReplicationSiteLink -SitesIncluded @{Add='Branch'}).",
        },
        Code::Cfg007 => CodeDoc {
            what: "A number or duration outside the range Exchange accepts: site link cost or \
                   exchange_cost (1-99,999), address-space cost (1-100), rule priority (0-9,999, \
                   one per rule), MX preference, retry counts (0-15), timeouts and intervals \
                   (e.g. message_expiration_timeout 5s-90d); in scenarios, negative or all-zero \
                   weights, or a size min above its max.",
            why: "Exchange's cmdlets refuse these values (docs/evidence.md#least-cost-paths, #connector-defaults, #retry-and-expiry), so the \
                  topology cannot describe a real organisation; a cost of 0 or two rules with \
                  one priority would make route choice or rule order ambiguous.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}, {name: Branch}]\n",
                "site_links:\n",
                "  - {name: HQ-Branch, sites: [HQ, Branch], cost: 0}",
            ),
            fix: "Use a value in range, as the cmdlet would require: Set-AdSiteLink -ExchangeCost \
                  1..99999 (exchange_cost), -AddressSpaces 'SMTP:*;1'..'SMTP:*;100', \
                  Set-TransportRule -Priority (a distinct number per rule), Set-TransportService \
                  -MessageExpirationTimeout within 5 seconds to 90 days.",
        },
        Code::Cfg008 => CodeDoc {
            what: "The site links do not connect every site: some site or group of sites cannot \
                   be reached from the others. A single-site organisation needs no link.",
            why: "Exchange routes between sites only over IP site links and every site must be \
                  on at least one (docs/evidence.md#least-cost-paths); mail from or to an unlinked site has no \
                  least-cost path, so no route or TLS answer could be given for it.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}, {name: Branch}, {name: Lab}]\n",
                "site_links:\n",
                "  - {name: HQ-Branch, sites: [HQ, Branch]}",
            ),
            fix: "Add the site link that exists in Active Directory (Sites and Services, or \
                  New-ADReplicationSiteLink) to site_links; use Set-AdSiteLink -ExchangeCost \
                  (exchange_cost) when Exchange should route differently from AD replication.",
        },
        Code::Cfg009 => CodeDoc {
            what: "An invalid address space: an empty address_spaces list, a pattern other than \
                   `*`, `domain` or `*.domain` (e.g. `*contoso.com`, or `--`, which is for Edge \
                   connectors only), a non-numeric cost, or a non-SMTP type, which tlsflow does \
                   not model.",
            why: "New-SendConnector refuses these patterns (docs/evidence.md#connector-selection); a misread pattern \
                  would change which connector is selected for a domain, and so whose TLS \
                  settings apply on the way out.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Partner\n",
                "    address_spaces: [\"SMTP:*contoso.com;1\"]\n",
                "    source_servers: [HQ-MBX1]",
            ),
            fix: "Write \"SMTP:*;1\", \"SMTP:contoso.com;10\", \"SMTP:*.contoso.com;1\" or \
                  {domain: \"*.contoso.com\", cost: 1} (Set-SendConnector -AddressSpaces \
                  'SMTP:*.contoso.com;1').",
        },
        Code::Cfg010 => CodeDoc {
            what: "A send connector lists no source servers (source_servers missing or empty).",
            why: "On Mailbox servers a Send connector's SourceTransportServers are the delivery \
                  group its mail is relayed to (docs/evidence.md#delivery-groups, #connector-defaults); without them no server \
                  can send through it. Which servers they are also decides whether the rule's \
                  requirement survives (docs/evidence.md#cross-site-loss).",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - {name: Internet, address_spaces: [\"SMTP:*;1\"], source_servers: []}",
            ),
            fix: "List the Mailbox servers that send for it: Set-SendConnector Internet \
                  -SourceTransportServers HQ-MBX1,BR-MBX1 (YAML source_servers). To keep a \
                  rule's requirement, include a server of every site whose mail it carries \
                  (docs/evidence.md#the-defect).",
        },
        Code::Cfg011 => CodeDoc {
            what: "DNS routing and smart hosts disagree: dns_routing: false without smart_hosts, \
                   or smart_hosts listed while dns_routing is true (the default).",
            why: "Exchange requires DNSRoutingEnabled $false when SmartHosts is set, and smart \
                  hosts when it is $false (docs/evidence.md#connector-defaults; Set-SendConnector -DNSRoutingEnabled: \
                  \"If you specify a SmartHosts parameter, the DNSRoutingEnabled parameter must \
                  be $false\", -SmartHosts: \"required if you set the DNSRoutingEnabled \
                  parameter to $false\"). The choice decides which hosts' \
                  STARTTLS offer and certificate the external hop meets.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Internet\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    smart_hosts: [relay.contoso.net]   # dns_routing defaults to true",
            ),
            fix: "Set-SendConnector Internet -DNSRoutingEnabled $false -SmartHosts \
                  relay.contoso.net (YAML: dns_routing: false with smart_hosts), or remove the \
                  smart hosts and keep MX routing.",
        },
        Code::Cfg012 => CodeDoc {
            what: "A send connector sets tls_auth_level without require_tls: true.",
            why: "Set-SendConnector refuses TlsAuthLevel when RequireTLS is $false \
                  (docs/evidence.md#connector-defaults; Set-SendConnector -TlsAuthLevel: \"You can't specify a value for this \
                  parameter if the IgnoreSTARTTLS parameter is set to $true, or if the \
                  RequireTLS parameter is set to $false\"): certificate or domain validation only applies when TLS is mandatory. \
                  The file would suggest a check that Exchange never makes.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Internet\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    tls_auth_level: certificate_validation",
            ),
            fix: "Add require_tls: true (Set-SendConnector -RequireTLS $true -TlsAuthLevel \
                  CertificateValidation), or remove tls_auth_level to stay opportunistic.",
        },
        Code::Cfg013 => CodeDoc {
            what: "Retired: tlsflow once refused domain_secure: true on a connector with a \
                   wildcard address space. It no longer reports this code.",
            why: "Exchange accepts it: its own EdgeSync connector is SMTP:*;100 with \
                  DomainSecureEnabled $true (docs/evidence.md#edge-transport), and hardening baselines (DISA \
                  STIG, EDCA-TLS-014) require Domain Secure on every Send connector. The \
                  cmdlet help's \"the wildcard character (*) is not supported in domains that \
                  are configured for mutual TLS authentication\" is about the domains on the \
                  Domain Secure lists (Set-SendConnector -DomainSecureEnabled), which tlsflow \
                  still checks (CFG018). Domain Secure then applies to the partners on \
                  tls_send_domain_secure_list that the connector carries.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Internet\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    domain_secure: true     # accepted: no finding",
            ),
            fix: "Nothing to fix. The code number stays reserved.",
        },
        Code::Cfg014 => CodeDoc {
            what: "Retired: tlsflow once refused domain_secure: true together with \
                   ignore_starttls: true. This is now the warning CFG108.",
            why: "Set-SendConnector accepts the combination; its help says mutual TLS \
                  \"functions correctly only when\" IgnoreSTARTTLS is $false \
                  (Set-SendConnector -DomainSecureEnabled). A configuration Exchange accepts is \
                  a warning, not an error.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Internet\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    domain_secure: true     # accepted: no finding",
            ),
            fix: "See CFG108. The code number stays reserved.",
        },
        Code::Cfg015 => CodeDoc {
            what: "Retired: tlsflow once refused tls_domain without tls_auth_level: \
                   domain_validation. This is now the warning CFG109.",
            why: "Set-SendConnector accepts it: \"This parameter is used only if the \
                  TlsAuthLevel parameter is set to DomainValidation\" (Set-SendConnector \
                  -TlsDomain). A configuration Exchange accepts is a warning, not an error.",
            example: concat!(
                "send_connectors:\n",
                "  - {name: Litware, address_spaces: [\"SMTP:litwareinc.com;1\"], source_servers: [HQ-MBX1],\n",
                "     require_tls: true, tls_auth_level: certificate_validation, tls_domain: litwareinc.com}",
            ),
            fix: "See CFG109. The code number stays reserved.",
        },
        Code::Cfg016 => CodeDoc {
            what: "An invalid Edge server: an Edge that also holds the mailbox or frontend role, \
                   an Edge that names a `site`, or a non-Edge server with subscribed_site.",
            why: "The Edge Transport role is installed alone in the perimeter network, belongs to \
                  no AD site, and joins mail flow only through an Edge subscription to a site \
                  (docs/evidence.md#edge-transport); its place in routing comes from subscribed_site.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers:\n",
                "  - {name: HQ-MBX1, site: HQ, roles: [mailbox]}\n",
                "  - {name: EDGE1, roles: [edge, mailbox], subscribed_site: HQ}",
            ),
            fix: "Give the Edge `roles: [edge]` only, no `site`, and `subscribed_site:` the site \
                  it is subscribed to (New-EdgeSubscription, imported in that site); remove \
                  subscribed_site from other servers.",
        },
        Code::Cfg017 => CodeDoc {
            what: "A rule action the profile lacks: actions.require_tls \
                   (RouteMessageOutboundRequireTls) under exchange2010, or route_via_connector \
                   (RouteMessageOutboundConnector, Exchange Online only) under an on-premises \
                   profile.",
            why: "New-TransportRule on those versions has no such parameter (docs/evidence.md#the-defect, \
                  docs/evidence.md#exchange-online), so the rule cannot exist; modelling it would credit the organisation \
                  with a protection it does not have.",
            example: concat!(
                "format: 1\n",
                "profile: exchange2010\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "transport_rules:\n",
                "  - name: Top secret must use TLS\n",
                "    conditions: {subject_or_body_contains: [\"top secret\"]}\n",
                "    actions: {require_tls: true}",
            ),
            fix: "On Exchange 2010, require TLS with a Send connector for the domains that need \
                  it (New-SendConnector -AddressSpaces 'SMTP:fabrikam.com;1' -RequireTLS $true; \
                  YAML require_tls: true), or model the version you run (profile: \
                  exchange2013). On-premises, route by address space instead of \
                  route_via_connector.",
        },
        Code::Cfg018 => CodeDoc {
            what: "A value that is malformed in itself: a domain, mailbox address, MX host, smart \
                   host, duration, size, date or version; an empty name or subject word; a \
                   wildcard in a Domain Secure list; an external domain with no MX host; a \
                   certificate that expires before it is valid; in scenarios, an unreadable \
                   bound or rate, or a variant named baseline.",
            why: "tlsflow does not guess what a malformed value meant: a misread domain or \
                  duration would silently change routing, the TLS judgement or the retry \
                  timing. Exchange refuses the same values (e.g. the Domain Secure lists take \
                  no wildcards, docs/evidence.md#domain-security).",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "transport_config:\n",
                "  tls_send_domain_secure_list: [\"*.fabrikam.com\"]",
            ),
            fix: "Write the value in the form the hint shows: fabrikam.com, 30s/5m/4h/2d or \
                  2.00:00:00, 35MB, 2026-01-01, 15.2; list each Domain Secure partner exactly \
                  (Set-TransportConfig -TLSSendDomainSecureList fabrikam.com).",
        },
        Code::Cfg019 => CodeDoc {
            what: "A send connector sets both require_tls: true and ignore_starttls: true.",
            why: "IgnoreSTARTTLS must be $false when RequireTLS is $true (docs/evidence.md#connector-defaults; \
                  Set-SendConnector -IgnoreSTARTTLS: \"This parameter must be set to $false if \
                  the RequireTLS parameter is set to $true\"): a connector cannot require TLS \
                  and refuse to start it.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Internet\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    require_tls: true\n",
                "    ignore_starttls: true",
            ),
            fix: "Set-SendConnector Internet -IgnoreSTARTTLS $false (YAML: remove \
                  ignore_starttls), or drop require_tls if TLS is not meant to be mandatory.",
        },
        Code::Cfg020 => CodeDoc {
            what: "Retired: tlsflow once refused domain_secure: true on a smart-host connector \
                   or together with a tls_auth_level. The first is now the warning CFG108; the \
                   second is accepted.",
            why: "Set-SendConnector accepts both. Its help says mutual TLS \"functions \
                  correctly only when\" DNSRoutingEnabled is $true and IgnoreSTARTTLS is \
                  $false, and names no condition on TlsAuthLevel (Set-SendConnector \
                  -DomainSecureEnabled); EDCA-TLS-043 even asks for DomainValidation with \
                  DomainSecureEnabled.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Internet\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    domain_secure: true     # accepted: no finding",
            ),
            fix: "See CFG108. The code number stays reserved.",
        },
        Code::Cfg021 => CodeDoc {
            what: "A server is used for what its roles cannot do: a Front-End-only server listed \
                   in a connector's source_servers, an Edge server without an Edge subscription \
                   listed there, or a mailbox placed on a server without the mailbox role.",
            why: "SourceTransportServers lists Mailbox servers (the Transport service) or Edge \
                  Subscriptions (docs/evidence.md#connector-defaults; Microsoft Learn, Edge Transport mail flow: \
                  \"You can specify one or more Edge Subscriptions as the source server for a \
                  Send connector\"): Front End Transport has no Send connector routes and never \
                  queues (docs/evidence.md#front-end-proxy), and an Edge sends for the organisation only through its \
                  subscription (docs/evidence.md#edge-transport).",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers:\n",
                "  - {name: HQ-MBX1, site: HQ, roles: [mailbox]}\n",
                "  - {name: HQ-CAS1, site: HQ, roles: [frontend]}\n",
                "send_connectors:\n",
                "  - {name: Internet, address_spaces: [\"SMTP:*;1\"], source_servers: [HQ-CAS1]}",
            ),
            fix: "List Mailbox servers (Set-SendConnector Internet -SourceTransportServers \
                  HQ-MBX1); to send through Front End, set frontend_proxy: true \
                  (-FrontendProxyEnabled $true). To send from an Edge, subscribe it \
                  (subscribed_site) and list the Edge as the connector's only source servers.",
        },
        Code::Cfg022 => CodeDoc {
            what: "A site with hub: true has no Mailbox server.",
            why: "Set-AdSite -HubSiteEnabled needs at least one Mailbox server in the site \
                  (docs/evidence.md#hub-sites): every message whose least-cost path crosses a hub site stops \
                  there and is processed by a Transport service in it.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}, {name: Branch, hub: true}]\n",
                "site_links: [{name: HQ-Branch, sites: [HQ, Branch]}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]",
            ),
            fix: "Add a Mailbox server to the site, or Set-AdSite Branch -HubSiteEnabled $false \
                  (YAML: hub: false).",
        },
        Code::Cfg023 => CodeDoc {
            what: "frontend_proxy: true on a connector under a profile without Front End \
                   outbound proxy (exchange2010: FrontendProxyEnabled is Exchange 2013 and \
                   later).",
            why: "The parameter does not exist in Exchange 2010 (docs/evidence.md#front-end-proxy, #versions), and \
                  proxying changes both whether the rule's requirement travels (docs/evidence.md#what-travels) and \
                  whether Domain Secure works (docs/evidence.md#domain-security), so it cannot be modelled on a version \
                  that lacks it.",
            example: concat!(
                "format: 1\n",
                "profile: exchange2010\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Internet\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    frontend_proxy: true",
            ),
            fix: "Remove frontend_proxy, or set the profile to the version you run (profile: \
                  exchange2013 or later).",
        },
        Code::Cfg024 => CodeDoc {
            what: "A database availability group that Exchange would not build: a member that \
                   is not a Mailbox server, a server in two DAGs, members of different Exchange \
                   versions, or more than 16 members.",
            why: "Add-DatabaseAvailabilityGroupServer takes Mailbox servers of the DAG's version, \
                  each in one DAG, at most 16 (Microsoft Learn, Add-DatabaseAvailabilityGroupServer \
                  and \"Database availability groups\"). A DAG is one delivery group even \
                  across AD sites (docs/evidence.md#delivery-groups), so it decides where Mailbox Transport \
                  Submission hands a message and where the transport rules run (docs/evidence.md#where-rules-run): a wrong \
                  DAG would decide the verdict.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers:\n",
                "  - {name: HQ-MBX1, site: HQ, roles: [mailbox]}\n",
                "  - {name: HQ-MBX2, site: HQ, roles: [mailbox]}\n",
                "database_availability_groups:\n",
                "  - {name: DAG1, members: [HQ-MBX1, HQ-MBX2]}\n",
                "  - {name: DAG2, members: [HQ-MBX2]}",
            ),
            fix: "List each Mailbox server in the one DAG it belongs to, as \
                  Get-DatabaseAvailabilityGroup shows its Servers; keep Exchange 2010 servers in \
                  DAGs of their own.",
        },
        Code::Cfg025 => CodeDoc {
            what: "A smart-host send connector (dns_routing: false) requires \
                   tls_auth_level: domain_validation but names no tls_domain.",
            why: "Set-SendConnector -TlsDomain: \"A value for this parameter is required if the \
                  TLSAuthLevel parameter is set to DomainValidation [and] the DNSRoutingEnabled \
                  parameter is set to $false (smart host Send connector)\". Without it there is \
                  no name to validate the smart host's certificate against (the recipient's \
                  domain is not the smart host's).",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Relay\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    dns_routing: false\n",
                "    smart_hosts: [relay.contoso.net]\n",
                "    require_tls: true\n",
                "    tls_auth_level: domain_validation",
            ),
            fix: "Set-SendConnector Relay -TlsDomain relay.contoso.net (YAML: tls_domain: \
                  relay.contoso.net, or \"*.contoso.net\" for the domain and its subdomains).",
        },
        Code::Cfg108 => CodeDoc {
            what: "A send connector enables Domain Secure but routes through smart hosts \
                   (dns_routing: false) or ignores STARTTLS (ignore_starttls: true).",
            why: "Exchange accepts the configuration, but mutual TLS \"functions correctly only \
                  when\" DNSRoutingEnabled is $true and IgnoreSTARTTLS is $false \
                  (Set-SendConnector -DomainSecureEnabled; docs/evidence.md#connector-defaults, #domain-security). tlsflow models \
                  what then happens: the partners on tls_send_domain_secure_list get the \
                  connector's own TLS settings, not Domain Secure's domain validation, and no \
                  TLS004 is reported for them because Domain Secure never applied.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Woodgrove\n",
                "    address_spaces: [\"SMTP:woodgrove.com;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    domain_secure: true\n",
                "    dns_routing: false\n",
                "    smart_hosts: [relay.contoso.net]",
            ),
            fix: "Route the partner connector by MX (Set-SendConnector Woodgrove \
                  -DNSRoutingEnabled $true -IgnoreSTARTTLS $false; YAML: no smart_hosts, \
                  ignore_starttls: false), or drop domain_secure and require TLS with \
                  tls_auth_level: domain_validation and tls_domain.",
        },
        Code::Cfg026 => CodeDoc {
            what: "A send connector lists both Mailbox servers and Edge servers as source \
                   servers.",
            why: "Exchange refuses the mix: \"You can specify one or more Edge Subscriptions as \
                  the source server for a Send connector. You can't specify both Mailbox servers \
                  and Edge Subscriptions\" (Microsoft Learn, Edge Transport mail flow). The two \
                  kinds route differently: an Edge-sourced connector is reached through the \
                  subscribed site and the Edge (docs/evidence.md#edge-transport), a Mailbox one by relay to its \
                  source servers (docs/evidence.md#cross-site-loss).",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers:\n",
                "  - {name: HQ-MBX1, site: HQ, roles: [mailbox]}\n",
                "  - {name: EDGE1, roles: [edge], subscribed_site: HQ}\n",
                "send_connectors:\n",
                "  - {name: Partner, address_spaces: [\"SMTP:fabrikam.com;1\"],\n",
                "     source_servers: [HQ-MBX1, EDGE1]}",
            ),
            fix: "Make one connector per kind: New-SendConnector Partner-Edge -SourceTransportServers \
                  EDGE1 on the Edge side, and keep HQ-MBX1 on its own connector (or drop it).",
        },
        Code::Cfg109 => CodeDoc {
            what: "A send connector sets tls_domain while tls_auth_level is not \
                   domain_validation.",
            why: "TlsDomain \"is used only if the TlsAuthLevel parameter is set to \
                  DomainValidation\" (Set-SendConnector -TlsDomain; docs/evidence.md#connector-defaults): Exchange \
                  accepts it with any other level and ignores it, and the file would suggest that the partner's name is \
                  checked when it is not.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Litware\n",
                "    address_spaces: [\"SMTP:litwareinc.com;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    require_tls: true\n",
                "    tls_auth_level: certificate_validation\n",
                "    tls_domain: litwareinc.com",
            ),
            fix: "Set-SendConnector Litware -TlsAuthLevel DomainValidation -TlsDomain \
                  litwareinc.com (tls_auth_level: domain_validation, which needs require_tls: \
                  true), or remove tls_domain.",
        },
        Code::Cfg110 => CodeDoc {
            what: "Part of a scenario sends nothing: a message at or after the end of the run, \
                   a workload whose senders have no mailbox, or a variant that removes every \
                   sender of a workload.",
            why: "The run is silent about it otherwise: a scenario that expects no TLS001 passes \
                  when the mail that would have shown it is never sent (issue 15).",
            example: concat!(
                "# in a scenario whose duration is 1d:\n",
                "messages:\n",
                "  - {at: 2d, from: alice@contoso.com, to: [bob@fabrikam.com]}",
            ),
            fix: "Send the message before the end (or lengthen `duration`), name senders that \
                  have a mailbox (`mailboxes:` in the topology), or keep a sender in the variant.",
        },
        Code::Cfg101 => CodeDoc {
            what: "The defect warning: an enforcing rule with require_tls can match mail from a \
                   site whose route to a recipient domain crosses a hop where the profile drops \
                   the requirement (a relay to connector source servers in another or the same \
                   site, to a hub site, or to an Edge), and the chosen connector does not \
                   enforce TLS itself. Found by routing, without failures; once per site and \
                   connector.",
            why: "The defect (docs/evidence.md#the-defect, #cross-site-loss): such mail leaves with the connector's opportunistic TLS, \
                  in clear text whenever the remote offers no STARTTLS (TLS001), with no error \
                  and no NDR. The message names the hop, the profile rule and its evidence: \
                  reported for cross-site relays, inferred for same-site, hub-site and Edge \
                  relays.",
            example: concat!(
                "format: 1\n",
                "profile: exchange2013\n",
                "sites: [{name: HQ}, {name: Branch}]\n",
                "site_links: [{name: HQ-Branch, sites: [HQ, Branch]}]\n",
                "servers:\n",
                "  - {name: HQ-MBX1, site: HQ, roles: [mailbox]}\n",
                "  - {name: BR-MBX1, site: Branch, roles: [mailbox]}\n",
                "send_connectors:\n",
                "  - {name: Internet, address_spaces: [\"SMTP:*;1\"],\n",
                "     source_servers: [HQ-MBX1]}\n",
                "transport_rules:\n",
                "  - {name: Top secret must use TLS, actions: {require_tls: true}}",
            ),
            fix: "Make every Mailbox server whose mail the rule can match a source server of the \
                  connector it uses (Set-SendConnector Internet -SourceTransportServers \
                  @{Add='BR-MBX1'}), or give the site a connector that wins there \
                  (New-SendConnector -SourceTransportServers BR-MBX1 -IsScopedConnector $true; \
                  lower its address-space cost or raise Set-AdSiteLink -ExchangeCost if HQ's \
                  still wins). For domains that must never get clear text, set -RequireTLS \
                  $true on their connector.",
        },
        Code::Cfg102 => CodeDoc {
            what: "A domain on tls_send_domain_secure_list is sent, from at least one site, \
                   through a connector with domain_secure: true that also has frontend_proxy: \
                   true.",
            why: "Domain Security is not supported for outbound mail routed through a Client \
                  Access (Front End) server (docs/evidence.md#domain-security, #front-end-proxy): the mutual-TLS session is \
                  not made and the partner sees no AuthAs: Partner. In simulation each such \
                  delivery raises TLS004.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox, frontend]}]\n",
                "send_connectors:\n",
                "  - {name: Woodgrove, address_spaces: [\"SMTP:woodgrove.com;1\"],\n",
                "     source_servers: [HQ-MBX1], domain_secure: true, frontend_proxy: true}\n",
                "transport_config:\n",
                "  tls_send_domain_secure_list: [woodgrove.com]",
            ),
            fix: "Set-SendConnector Woodgrove -FrontendProxyEnabled $false (YAML: frontend_proxy: \
                  false) on the partner's Domain Secure connector.",
        },
        Code::Cfg103 => CodeDoc {
            what: "An enabled send connector that no Mailbox server selects for any recipient \
                   domain tlsflow knows, with nothing failed: a more specific or cheaper \
                   connector always wins, or it is scoped to a site where another one wins. A \
                   standby connector that wins only when another is down is reported too.",
            why: "A connector nobody selects protects nothing: if its require_tls or \
                  domain_secure was meant to cover some mail, that mail leaves through another \
                  connector with other TLS settings (connector selection, docs/evidence.md#connector-selection). A \
                  scoped connector (IsScopedConnector) is invisible outside its site.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - {name: Internet, address_spaces: [\"SMTP:*;1\"],\n",
                "     source_servers: [HQ-MBX1]}\n",
                "  - name: Internet-TLS          # never selected: cost 5 loses to cost 1\n",
                "    address_spaces: [\"SMTP:*;5\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    require_tls: true",
            ),
            fix: "Check its address spaces, costs and scope: give it a more specific address \
                  space or a lower cost (Set-SendConnector -AddressSpaces \
                  'SMTP:fabrikam.com;1'), unscope it (-IsScopedConnector $false), or remove it \
                  (Remove-SendConnector). Keep a deliberate standby connector and accept the \
                  warning.",
        },
        Code::Cfg104 => CodeDoc {
            what: "Queue timers out of order: delay_notification_timeout not longer than \
                   transient_failure_retry_count x transient_failure_retry_interval, or \
                   message_expiration_timeout not longer than delay_notification_timeout.",
            why: "Exchange recommends the delay DSN after the transient retries (docs/evidence.md#retry-and-expiry: \
                  30 minutes by default on Mailbox servers), or senders are warned about mere \
                  glitches; if expiry comes first, no delay DSN is ever sent, and the sender of \
                  mail held for TLS (DLV001) learns of it only from the NDR.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "transport_config:\n",
                "  message_expiration_timeout: 2h\n",
                "  delay_notification_timeout: 4h",
            ),
            fix: "Set-TransportService -DelayNotificationTimeout 04:00:00 \
                  -MessageExpirationTimeout 2.00:00:00 (the defaults), or other values in that \
                  order (YAML transport_config).",
        },
        Code::Cfg105 => CodeDoc {
            what: "A server with the edge role but no subscribed_site.",
            why: "An Edge carries organisation mail only through an Edge subscription, which \
                  creates the `EdgeSync - <Site> to Internet` connector (docs/evidence.md#edge-transport); \
                  without one it is in no route, which is usually a modelling slip.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers:\n",
                "  - {name: HQ-MBX1, site: HQ, roles: [mailbox]}\n",
                "  - {name: EDGE1, roles: [edge]}",
            ),
            fix: "Subscribe the Edge (New-EdgeSubscription on the Edge, imported in the site; \
                  YAML subscribed_site: HQ), or remove the server.",
        },
        Code::Cfg106 => CodeDoc {
            what: "A connector with frontend_proxy: true has a source server in a site where no \
                   server holds the frontend role.",
            why: "Outbound proxy hands the message to a Front End Transport service in the \
                  source server's site (docs/evidence.md#front-end-proxy); with none there, tlsflow queues the \
                  mail on the source server until it expires, so nothing leaves through that \
                  connector from there.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - name: Internet\n",
                "    address_spaces: [\"SMTP:*;1\"]\n",
                "    source_servers: [HQ-MBX1]\n",
                "    frontend_proxy: true",
            ),
            fix: "Give a server of that site the frontend role (from Exchange 2016 every Mailbox \
                  server runs Front End Transport: roles: [mailbox, frontend]), or \
                  Set-SendConnector Internet -FrontendProxyEnabled $false.",
        },
        Code::Cfg107 => CodeDoc {
            what: "A domain on tls_send_domain_secure_list for which no site selects a connector \
                   with domain_secure: true (routing from every Mailbox server, without \
                   failures).",
            why: "Set-TransportConfig -TLSSendDomainSecureList alone does nothing: Domain Secure \
                  also needs a Send connector with DomainSecureEnabled for the domain \
                  (docs/evidence.md#domain-security, #connector-defaults). The partner expects mutually authenticated mail, which leaves \
                  through an ordinary, usually opportunistic, connector.",
            example: concat!(
                "format: 1\n",
                "sites: [{name: HQ}]\n",
                "servers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\n",
                "send_connectors:\n",
                "  - {name: Internet, address_spaces: [\"SMTP:*;1\"],\n",
                "     source_servers: [HQ-MBX1]}\n",
                "transport_config:\n",
                "  tls_send_domain_secure_list: [woodgrove.com]",
            ),
            fix: "New-SendConnector -Name Woodgrove -AddressSpaces 'SMTP:woodgrove.com;1' \
                  -DomainSecureEnabled $true -SourceTransportServers HQ-MBX1 (YAML: a connector \
                  with that address space and domain_secure: true), or remove the domain from \
                  the list (Set-TransportConfig -TLSSendDomainSecureList \
                  @{Remove='woodgrove.com'}).",
        },
    }
}
