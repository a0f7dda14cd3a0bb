//! The validated Exchange organisation: sites, site links, servers, Send connectors, transport
//! rules, transport configuration, mailboxes and the external world.
//!
//! Names keep the case the file gave them; lookups compare case-insensitively, as Active
//! Directory does. Every object remembers where it was defined ([`Origin`]) so that reports can
//! point back into the YAML.

use std::sync::Arc;

use super::ids::{ConnectorId, DagId, GroupId, LinkId, RuleId, ServerId, SiteId};
use super::profile::Profile;
use super::site_graph::SiteGraph;
use super::tls::TlsLevel;
use super::units::{Bytes, Millis, Timestamp};

/// Where an object was defined: file line and column (1-based) and its YAML path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub line: u64,
    pub column: u64,
    pub yaml_path: String,
}

/// A whole organisation, validated.
///
/// What never changes after loading is shared (`Arc`) by a topology's clones: a fix's verdict
/// clones the organisation once per candidate fix and changes only its Send connectors or its
/// profile (issue 17), so the servers, mailboxes, accepted domains and their indexes are not
/// copied for each candidate.
#[derive(Clone, Debug)]
pub struct Topology {
    pub organization: String,
    pub profile: Profile,
    /// Accepted domains, in file order (the first is the organisation's default).
    pub accepted_domains: Arc<[AcceptedDomain]>,
    pub sites: Arc<[Site]>,
    pub site_links: Arc<[SiteLink]>,
    pub servers: Arc<[Server]>,
    /// Database availability groups (`database_availability_groups`): each is one delivery
    /// group, even across AD sites (reference §1.3).
    pub dags: Arc<[Dag]>,
    /// Explicit connectors first, in file order, then the implicit EdgeSync connectors.
    pub send_connectors: Vec<SendConnector>,
    /// Sorted by priority (0 first), as the Transport Rule agent evaluates them.
    pub transport_rules: Arc<[TransportRule]>,
    pub transport_config: TransportConfig,
    pub mailboxes: Arc<[Mailbox]>,
    pub external_domains: Arc<[ExternalDomain]>,
    pub site_graph: SiteGraph,
    /// Indexes over `servers`, built once (see [`ServerIndex::new`]).
    pub index: Arc<ServerIndex>,
    /// The accepted domains by name, built once (see [`AcceptedDomainIndex::new`]).
    pub accepted_index: Arc<AcceptedDomainIndex>,
    /// The mailboxes by address and by domain, built once (see [`MailboxIndex::new`]).
    pub mailbox_index: Arc<MailboxIndex>,
}

/// Mailboxes by address: which mailbox holds an address is asked for each new recipient and
/// sender, and was a scan of every mailbox entry (issue 18: lookups independent of the
/// organisation's size). Mailboxes change only when a topology is loaded.
#[derive(Clone, Debug, Default)]
pub struct MailboxIndex {
    /// `alice@contoso.com` entries, the first of equal ones winning as in a scan.
    exact: std::collections::HashMap<String, usize>,
    /// `*@domain` entries by domain, the first winning likewise.
    domain: std::collections::HashMap<String, usize>,
}

impl MailboxIndex {
    pub fn new(mailboxes: &[Mailbox]) -> MailboxIndex {
        let mut index = MailboxIndex::default();
        for (i, m) in mailboxes.iter().enumerate() {
            let (map, key) = match &m.address {
                MailboxAddress::Exact(a) => (&mut index.exact, a),
                MailboxAddress::Domain(d) => (&mut index.domain, d),
            };
            map.entry(key.clone()).or_insert(i);
        }
        index
    }

    /// The entry holding `address` (lower case): an exact entry, else its domain's.
    fn find(&self, address: &str) -> Option<usize> {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        self.exact
            .get(address)
            .or_else(|| self.domain.get(domain))
            .copied()
    }
}

/// Accepted domains by name: which entry a recipient domain falls in is asked for every
/// situation `check` routes and every message `simulate` creates, and a generated organisation
/// has one per server (issue 18: the scan of 5,001 entries took 12 % of `check --failures 2` on
/// 1,000 sites). Accepted domains change only when a topology is loaded.
#[derive(Clone, Debug, Default)]
pub struct AcceptedDomainIndex {
    /// Entries without subdomains, by domain (the later of two equal entries wins, as it
    /// would in a scan for the most specific).
    exact: std::collections::HashMap<String, usize>,
    /// Entries that also cover subdomains (`*.x`), by domain, the later winning likewise.
    wildcard: std::collections::HashMap<String, usize>,
}

impl AcceptedDomainIndex {
    pub fn new(accepted: &[AcceptedDomain]) -> AcceptedDomainIndex {
        let mut index = AcceptedDomainIndex::default();
        for (i, a) in accepted.iter().enumerate() {
            let map = if a.subdomains {
                &mut index.wildcard
            } else {
                &mut index.exact
            };
            map.insert(a.domain.clone(), i);
        }
        index
    }

    /// The entry `domain` (lower case) falls in: an exact entry, else the longest wildcard that
    /// is the domain itself or one of its parents.
    fn find(&self, domain: &str) -> Option<usize> {
        if let Some(&i) = self.exact.get(domain) {
            return Some(i);
        }
        if self.wildcard.is_empty() {
            return None;
        }
        if let Some(&i) = self.wildcard.get(domain) {
            return Some(i);
        }
        domain
            .match_indices('.')
            .find_map(|(dot, _)| self.wildcard.get(&domain[dot + 1..]).copied())
    }
}

/// Server lookups the router makes on every decision, precomputed: servers change only when a
/// topology is loaded (or a variant is built and validated again).
#[derive(Clone, Debug, Default)]
pub struct ServerIndex {
    /// Every server, in case-insensitive name order.
    by_name: Vec<ServerId>,
    /// Per site, its Mailbox servers in name order.
    transport_by_site: Vec<Vec<ServerId>>,
    /// The delivery groups of Mailbox servers: DAGs first (file order), then one per (site,
    /// Exchange major version) for the servers in no DAG, by site then version.
    groups: Vec<DeliveryGroup>,
    /// Per server, its delivery group (`None` for Edge and Front End-only servers).
    group_of: Vec<Option<GroupId>>,
}

/// A delivery group of Mailbox servers (reference §1.3): where Mailbox Transport Submission
/// hands a message (§1.10) and where mailbox delivery is routed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryGroup {
    pub kind: GroupKind,
    /// Its Mailbox servers, in name order.
    pub servers: Vec<ServerId>,
    /// The AD sites of those servers, in site order.
    pub sites: Vec<SiteId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKind {
    /// A routable DAG (2013+): its members, in whatever sites they are.
    Dag(DagId),
    /// The Mailbox servers of one major version (14 = Exchange 2010, 15 = 2013 and later) in
    /// one AD site that belong to no DAG: a mailbox delivery group.
    Site { site: SiteId, major: u8 },
}

impl ServerIndex {
    pub fn new(servers: &[Server], site_count: usize, dags: &[Dag]) -> ServerIndex {
        let mut by_name: Vec<ServerId> = (0..servers.len()).map(ServerId::from_index).collect();
        by_name.sort_by_key(|&s| name_key(&servers[s.index()].name));
        let mut transport_by_site = vec![Vec::new(); site_count];
        for &s in &by_name {
            let server = &servers[s.index()];
            if let (Some(site), true) = (server.site, server.is_transport()) {
                transport_by_site[site.index()].push(s);
            }
        }
        let mut group_of: Vec<Option<GroupId>> = vec![None; servers.len()];
        let mut kinds: Vec<GroupKind> = Vec::new();
        for (d, dag) in dags.iter().enumerate() {
            kinds.push(GroupKind::Dag(DagId::from_index(d)));
            for &m in &dag.members {
                if servers[m.index()].is_transport() && group_of[m.index()].is_none() {
                    group_of[m.index()] = Some(GroupId::from_index(d));
                }
            }
        }
        let mut site_groups: std::collections::BTreeMap<(SiteId, u8), GroupId> =
            std::collections::BTreeMap::new();
        for (site, list) in transport_by_site.iter().enumerate() {
            for &s in list {
                if group_of[s.index()].is_some() {
                    continue;
                }
                let key = (SiteId::from_index(site), servers[s.index()].major_version());
                let id = *site_groups.entry(key).or_insert_with(|| {
                    kinds.push(GroupKind::Site {
                        site: key.0,
                        major: key.1,
                    });
                    GroupId::from_index(kinds.len() - 1)
                });
                group_of[s.index()] = Some(id);
            }
        }
        let groups = kinds
            .into_iter()
            .enumerate()
            .map(|(g, kind)| {
                let members: Vec<ServerId> = by_name
                    .iter()
                    .copied()
                    .filter(|s| group_of[s.index()] == Some(GroupId::from_index(g)))
                    .collect();
                let mut sites: Vec<SiteId> = members
                    .iter()
                    .filter_map(|s| servers[s.index()].site)
                    .collect();
                sites.sort();
                sites.dedup();
                DeliveryGroup {
                    kind,
                    servers: members,
                    sites,
                }
            })
            .collect();
        ServerIndex {
            by_name,
            transport_by_site,
            groups,
            group_of,
        }
    }
}

/// `DomainType` of an accepted domain (New-AcceptedDomain).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptedDomainType {
    /// Exchange holds the mailboxes: an address without one is refused (`5.1.1`).
    Authoritative,
    /// Served by another system under the organisation's control: "treat the messages to this
    /// domain as internal"; recipients without a mailbox are relayed by a Send connector.
    InternalRelay,
    /// Served by a system outside the organisation: relayed by a Send connector, external.
    ExternalRelay,
}

/// An accepted domain: `contoso.com`, or `*.contoso.com` for the domain and its subdomains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedDomain {
    /// Lower case, without `*.`.
    pub domain: String,
    pub subdomains: bool,
    pub kind: AcceptedDomainType,
}

impl AcceptedDomain {
    /// Whether `domain` falls in this entry (the oracle of [`AcceptedDomainIndex`]'s tests).
    #[cfg(test)]
    fn matches(&self, domain: &str) -> bool {
        domain == self.domain
            || (self.subdomains
                && domain.len() > self.domain.len()
                && domain.ends_with(self.domain.as_str())
                && domain.as_bytes()[domain.len() - self.domain.len() - 1] == b'.')
    }
}

/// A database availability group (`New-DatabaseAvailabilityGroup`): Mailbox servers of one
/// version, in one or several AD sites.
#[derive(Clone, Debug)]
pub struct Dag {
    pub name: String,
    pub members: Vec<ServerId>,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct Site {
    pub name: String,
    /// `HubSiteEnabled` (reference §1.6), default false.
    pub hub: bool,
    /// `InboundMailEnabled` (reference §1.6), default true.
    pub inbound_mail_enabled: bool,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct SiteLink {
    pub name: String,
    pub sites: Vec<SiteId>,
    /// AD cost, 1..=99,999, default 100.
    pub cost: u32,
    /// `ExchangeCost`: replaces `cost` for routing when set (reference §1.4).
    pub exchange_cost: Option<u32>,
    /// `MaxMessageSize` (reference §1.4): `None` = unlimited.
    pub max_message_size: Option<Bytes>,
    pub origin: Origin,
}

impl SiteLink {
    /// The cost Exchange routes with.
    pub fn routing_cost(&self) -> u32 {
        self.exchange_cost.unwrap_or(self.cost)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Transport + Mailbox Transport (Hub Transport in 2010).
    Mailbox,
    /// Front End Transport.
    Frontend,
    /// Edge Transport.
    Edge,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mailbox => "mailbox",
            Role::Frontend => "frontend",
            Role::Edge => "edge",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Server {
    pub name: String,
    /// Edge servers belong to no AD site (they sit in the perimeter); every other server has one.
    pub site: Option<SiteId>,
    pub roles: Vec<Role>,
    /// `AdminDisplayVersion` major.minor, e.g. `15.0`; `None` when not given.
    pub version: Option<String>,
    /// For Edge servers: the site of the Edge subscription.
    pub subscribed_site: Option<SiteId>,
    /// For Edge servers: whether the subscription creates "EdgeSync - SITE to Internet"
    /// (New-EdgeSubscription -CreateInternetSendConnector, default true).
    pub create_internet_send_connector: bool,
    pub origin: Origin,
}

impl Server {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// A Transport service that categorises and routes (Mailbox role).
    pub fn is_transport(&self) -> bool {
        self.has_role(Role::Mailbox)
    }

    /// The Exchange major version: 14 for Exchange 2010 (`14.x`), else 15 (2013, 2016, 2019,
    /// SE, and servers whose version is not given: the topology's profile decides their
    /// behaviour).
    pub fn major_version(&self) -> u8 {
        if self.is_exchange2010() { 14 } else { 15 }
    }

    /// An Exchange 2010 server (`version: "14.x"`): a Hub Transport that never evaluates rules
    /// made with 2013 or later and has no `RouteMessageOutboundRequireTls` (reference §1.10,
    /// SPEC §5.1 "Version coexistence").
    pub fn is_exchange2010(&self) -> bool {
        self.version
            .as_deref()
            .is_some_and(|v| v == "14" || v.starts_with("14."))
    }
}

/// One entry of `AddressSpaces`: `SMTP:<pattern>;<cost>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressSpace {
    pub pattern: AddressPattern,
    /// 1..=100, default 1.
    pub cost: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressPattern {
    /// `*`: every domain.
    Any,
    /// `contoso.com`: exactly this domain, no subdomains (lower case).
    Exact(String),
    /// `*.contoso.com`: the domain and all its subdomains (lower case, without `*.`).
    WithSubdomains(String),
}

impl AddressPattern {
    /// How specifically this pattern matches `domain` (lower case), or `None`. More specific
    /// matches compare greater: exact beats `*.` of the same domain, which beats a shorter
    /// suffix, which beats `*` (reference §2.1 step 3).
    pub fn specificity(&self, domain: &str) -> Option<(usize, u8)> {
        match self {
            AddressPattern::Any => Some((0, 0)),
            AddressPattern::Exact(d) => (d == domain).then(|| (label_count(d), 1)),
            AddressPattern::WithSubdomains(d) => {
                let matches = domain == d
                    || (domain.len() > d.len()
                        && domain.ends_with(d.as_str())
                        && domain.as_bytes()[domain.len() - d.len() - 1] == b'.');
                matches.then(|| (label_count(d), 0))
            }
        }
    }

    pub fn is_wildcard(&self) -> bool {
        !matches!(self, AddressPattern::Exact(_))
    }
}

impl std::fmt::Display for AddressPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddressPattern::Any => f.write_str("*"),
            AddressPattern::Exact(d) => f.write_str(d),
            AddressPattern::WithSubdomains(d) => write!(f, "*.{d}"),
        }
    }
}

fn label_count(domain: &str) -> usize {
    domain.split('.').count()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendConnector {
    pub name: String,
    pub address_spaces: Vec<AddressSpace>,
    pub source_servers: Vec<ServerId>,
    /// `IsScopedConnector`: only Transport services in the source servers' sites may use it.
    pub scoped: bool,
    pub enabled: bool,
    /// `FrontendProxyEnabled`.
    pub frontend_proxy: bool,
    /// `DNSRoutingEnabled`.
    pub dns_routing: bool,
    pub smart_hosts: Vec<String>,
    /// `RequireTLS`.
    pub require_tls: bool,
    /// `TlsAuthLevel`.
    pub tls_auth_level: Option<TlsLevel>,
    /// `TlsDomain`.
    pub tls_domain: Option<String>,
    /// `IgnoreSTARTTLS`.
    pub ignore_starttls: bool,
    /// `DomainSecureEnabled`.
    pub domain_secure: bool,
    /// `TlsCertificateName` (hybrid connectors): reported, not judged.
    pub tls_certificate_name: Option<String>,
    /// `CloudServicesMailEnabled` (hybrid connectors): reported, not judged.
    pub cloud_services_mail_enabled: bool,
    /// `MaxMessageSize`; `None` = unlimited.
    pub max_message_size: Option<Bytes>,
    /// Created by an Edge subscription rather than written in the file.
    pub implicit: bool,
    pub origin: Origin,
}

impl SendConnector {
    /// Domain Secure that can work: mutual TLS "functions correctly only when" DNS routing is on
    /// and STARTTLS is not ignored (Set-SendConnector -DomainSecureEnabled; CFG108 warns
    /// otherwise).
    pub fn domain_secure_effective(&self) -> bool {
        self.domain_secure && self.dns_routing && !self.ignore_starttls
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleMode {
    Enforce,
    Audit,
}

impl RuleMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleMode::Enforce => "enforce",
            RuleMode::Audit => "audit",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    InOrganization,
    NotInOrganization,
}

/// Rule predicates. Every field is optional; present fields must all hold (AND); the values
/// inside one field are alternatives (OR), as in Exchange.
#[derive(Clone, Debug, Default)]
pub struct RulePredicates {
    /// Lower-case words or phrases (`SubjectOrBodyContainsWords`).
    pub subject_or_body_contains: Vec<String>,
    /// `SentToScope`.
    pub sent_to_scope: Option<Scope>,
    /// Lower-case domains (`RecipientDomainIs`: the domain and its subdomains).
    pub recipient_domain_is: Vec<String>,
    /// The sender's AD site (a scenario convenience, not an Exchange predicate).
    pub from_site: Vec<SiteId>,
}

impl RulePredicates {
    pub fn is_empty(&self) -> bool {
        self.subject_or_body_contains.is_empty()
            && self.sent_to_scope.is_none()
            && self.recipient_domain_is.is_empty()
            && self.from_site.is_empty()
    }
}

#[derive(Clone, Debug, Default)]
pub struct RuleActions {
    /// `RouteMessageOutboundRequireTls`.
    pub require_tls: bool,
    /// `RouteMessageOutboundConnector` (Exchange Online only).
    pub route_via_connector: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TransportRule {
    pub id: RuleId,
    pub name: String,
    /// `Get-TransportRule` `Guid`: the `ruleId` the Transport Rule agent logs in message
    /// tracking (`S:TRA=ETR|ruleId=<guid>|…`, reference §5.3); read by `tlsflow logs`.
    pub guid: Option<String>,
    pub priority: u32,
    pub mode: RuleMode,
    pub conditions: RulePredicates,
    pub exceptions: RulePredicates,
    pub actions: RuleActions,
    pub origin: Origin,
}

/// `Get-TransportConfig` / `Get-TransportService` settings that transport uses (reference §4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportConfig {
    pub tls_send_domain_secure_list: Vec<String>,
    pub tls_receive_domain_secure_list: Vec<String>,
    pub message_expiration_timeout: Millis,
    pub delay_notification_timeout: Millis,
    pub transient_failure_retry_count: u32,
    pub transient_failure_retry_interval: Millis,
    pub outbound_connection_failure_retry_interval: Millis,
    pub queue_glitch_retry_count: u32,
    pub queue_glitch_retry_interval: Millis,
    /// `MaxSendSize`: `None` = unlimited.
    pub max_send_size: Option<Bytes>,
    /// `MaxReceiveSize`: `None` = unlimited.
    pub max_receive_size: Option<Bytes>,
}

impl Default for TransportConfig {
    /// Exchange's defaults for a Mailbox server (reference §4.3).
    fn default() -> Self {
        TransportConfig {
            tls_send_domain_secure_list: Vec::new(),
            tls_receive_domain_secure_list: Vec::new(),
            message_expiration_timeout: Millis::DAY.times(2),
            delay_notification_timeout: Millis::HOUR.times(4),
            transient_failure_retry_count: 6,
            transient_failure_retry_interval: Millis::MINUTE.times(5),
            outbound_connection_failure_retry_interval: Millis::MINUTE.times(10),
            queue_glitch_retry_count: 4,
            queue_glitch_retry_interval: Millis::MINUTE,
            max_send_size: Some(Bytes(10 * 1024 * 1024)),
            max_receive_size: Some(Bytes(10 * 1024 * 1024)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxAddress {
    /// `alice@contoso.com` (lower case).
    Exact(String),
    /// `*@branch.contoso.com`: every address of the domain (lower case domain).
    Domain(String),
}

#[derive(Clone, Debug)]
pub struct Mailbox {
    pub address: MailboxAddress,
    pub server: ServerId,
    pub origin: Origin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartTls {
    Offered,
    NotOffered,
    HandshakeFails,
}

impl StartTls {
    pub fn as_str(self) -> &'static str {
        match self {
            StartTls::Offered => "offered",
            StartTls::NotOffered => "not_offered",
            StartTls::HandshakeFails => "handshake_fails",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Certificate {
    /// Lower-case subject common name.
    pub subject: Option<String>,
    /// Lower-case subject alternative names.
    pub san: Vec<String>,
    /// Chains to a trusted CA.
    pub trusted: bool,
    pub not_before: Option<Timestamp>,
    pub not_after: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct MxHost {
    /// Lower case.
    pub host: String,
    pub preference: u32,
    pub starttls: StartTls,
    pub certificate: Option<Certificate>,
    /// False: connection refused / host down.
    pub available: bool,
    /// The TLS versions the host accepts; empty: any.
    pub tls_versions: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ExternalDomain {
    /// Lower case, or `*` for the default.
    pub domain: String,
    /// Sorted by preference, then host name.
    pub mx: Vec<MxHost>,
    pub origin: Origin,
}

/// The comparison key of a name: Unicode NFC, then lower case (AD compares names
/// case-insensitively; `Café` typed with a combining accent is the same name as with `é`, issue
/// 15).
pub fn name_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    name.nfc().collect::<String>().to_lowercase()
}

/// What a name looks like: its confusable skeleton (Unicode TR 39), in lower case, so `НQ` with
/// a Cyrillic `Н` looks like `HQ`. The loader refuses two different names that look alike when
/// one of them is not ASCII (`rn` and `m` are confusable too, but two ASCII names are as
/// distinct as the administrator who typed them).
pub fn look_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let nfc: String = name.nfc().collect();
    unicode_security::skeleton(&nfc)
        .collect::<String>()
        .to_lowercase()
}

/// The first character of a name that would forge or hide text where the name is printed: a
/// control character (a newline starts a fake line in a report, ESC drives the terminal) or a
/// bidirectional override (it reorders what is shown).
fn forbidden_char(name: &str) -> Option<char> {
    name.chars().find(|&c| forbidden(c))
}

fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why `text` may not be printed, when it holds a [`forbidden_char`]: one message for every
/// place tlsflow refuses such text (names, rule words, subjects, certificate names, command-line
/// arguments). `what` names the text (`site name`, `argument 3`); `where_` what is printed (`the
/// name`, `it`).
pub fn unprintable(what: &str, text: &str, where_: &str) -> Option<String> {
    forbidden_char(text).map(|c| {
        format!(
            "{what} {text:?} contains the character U+{:04X}: control characters and bidirectional overrides would forge or reorder text wherever {where_} is printed",
            u32::from(c)
        )
    })
}

/// `text` with every [`forbidden_char`] written as a Rust-style escape (`\u{1b}`): what a
/// diagnostic quotes from a refused value is shown, never obeyed by the terminal (issue 15).
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if forbidden_char(text).is_none() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if forbidden(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `c` as a source snippet shows it: a C0 control character as its Unicode control picture
/// (`␛` for ESC), any other [`forbidden_char`] as `�`, one character for one so the snippet's
/// label stays under its column. A tab stays a tab.
pub fn shown_char(c: char) -> char {
    match c {
        '\t' => c,
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{FFFD}'),
        '\u{7f}' => '\u{2421}',
        _ if forbidden(c) => '\u{FFFD}',
        _ => c,
    }
}

/// The domain that stands for "every domain not listed" when a `*` must be exercised.
pub const OTHER_DOMAIN: &str = "any-other-domain.example";

impl Topology {
    /// The size limits routing looks at on the way out: those of the connectors `connectors`
    /// keeps, and of every site link (Set-AdSiteLink -MaxMessageSize); unsorted.
    pub fn path_size_limits<'a>(
        &'a self,
        connectors: impl Fn(&SendConnector) -> bool + 'a,
    ) -> impl Iterator<Item = Bytes> + 'a {
        self.send_connectors
            .iter()
            .filter(move |c| connectors(c))
            .filter_map(|c| c.max_message_size)
            .chain(self.site_links.iter().filter_map(|l| l.max_message_size))
    }

    /// The external recipient domains worth telling apart: every listed external domain, every
    /// domain a connector's address space names, and [`OTHER_DOMAIN`] for the rest.
    pub fn domain_classes(&self) -> Vec<String> {
        let mut domains: Vec<String> = self
            .external_domains
            .iter()
            // An entry that names a connector's smart host (`relay.contoso.net`, `[10.1.1.1]`)
            // describes that host, not a recipient domain; an address space naming it below
            // makes it one again.
            .filter(|d| {
                d.domain != "*"
                    && !d.domain.starts_with('[')
                    && !self
                        .send_connectors
                        .iter()
                        .any(|c| c.smart_hosts.contains(&d.domain))
            })
            .map(|d| d.domain.clone())
            .collect();
        for c in &self.send_connectors {
            for a in &c.address_spaces {
                if let AddressPattern::Exact(d) | AddressPattern::WithSubdomains(d) = &a.pattern {
                    domains.push(d.clone());
                }
            }
        }
        // Relay domains are destinations too: their recipients without a mailbox leave by a
        // connector. Authoritative domains are not.
        for a in self.accepted_domains.iter() {
            if a.kind != AcceptedDomainType::Authoritative {
                domains.push(a.domain.clone());
            }
        }
        domains.retain(|d| !self.is_accepted_domain(d) || self.is_relay_domain(d));
        domains.push(OTHER_DOMAIN.to_owned());
        domains.sort();
        domains.dedup();
        domains
    }

    pub fn site(&self, id: SiteId) -> &Site {
        &self.sites[id.index()]
    }

    pub fn server(&self, id: ServerId) -> &Server {
        &self.servers[id.index()]
    }

    pub fn connector(&self, id: ConnectorId) -> &SendConnector {
        &self.send_connectors[id.index()]
    }

    pub fn link(&self, id: LinkId) -> &SiteLink {
        &self.site_links[id.index()]
    }

    pub fn site_by_name(&self, name: &str) -> Option<SiteId> {
        let key = name_key(name);
        self.sites
            .iter()
            .position(|s| name_key(&s.name) == key)
            .map(SiteId::from_index)
    }

    pub fn server_by_name(&self, name: &str) -> Option<ServerId> {
        let key = name_key(name);
        self.servers
            .iter()
            .position(|s| name_key(&s.name) == key)
            .map(ServerId::from_index)
    }

    pub fn connector_by_name(&self, name: &str) -> Option<ConnectorId> {
        let key = name_key(name);
        self.send_connectors
            .iter()
            .position(|c| name_key(&c.name) == key)
            .map(ConnectorId::from_index)
    }

    pub fn link_by_name(&self, name: &str) -> Option<LinkId> {
        let key = name_key(name);
        self.site_links
            .iter()
            .position(|l| name_key(&l.name) == key)
            .map(LinkId::from_index)
    }

    /// The accepted domain `domain` (lower case) falls in: an exact entry, else the most specific
    /// wildcard (`*.x`).
    pub fn accepted_domain(&self, domain: &str) -> Option<&AcceptedDomain> {
        self.accepted_index
            .find(domain)
            .and_then(|i| self.accepted_domains.get(i))
    }

    /// Whether `domain` (lower case) is one of the organisation's accepted domains (any type).
    pub fn is_accepted_domain(&self, domain: &str) -> bool {
        self.accepted_domain(domain).is_some()
    }

    /// Whether mail to `domain` stays inside the organisation for transport rules (SentToScope):
    /// authoritative and internal relay domains are in the organisation, external relay domains
    /// and every other domain are not (New-AcceptedDomain -DomainType).
    pub fn is_internal_domain(&self, domain: &str) -> bool {
        self.accepted_domain(domain)
            .is_some_and(|a| a.kind != AcceptedDomainType::ExternalRelay)
    }

    /// Whether a recipient in `domain` without a mailbox is relayed out through a Send connector
    /// (an internal or external relay domain) rather than refused.
    pub fn is_relay_domain(&self, domain: &str) -> bool {
        self.accepted_domain(domain)
            .is_some_and(|a| a.kind != AcceptedDomainType::Authoritative)
    }

    /// The organisation's default domain (the first accepted domain), for Message-Ids.
    pub fn default_domain(&self) -> Option<&str> {
        self.accepted_domains.first().map(|a| a.domain.as_str())
    }

    /// The mailbox that holds `address` (lower case): an exact entry wins over a `*@domain`
    /// pattern.
    pub fn mailbox_for(&self, address: &str) -> Option<&Mailbox> {
        self.mailbox_index
            .find(address)
            .and_then(|i| self.mailboxes.get(i))
    }

    /// The external-world entry for `domain`: the exact entry, else `*`.
    pub fn external_domain(&self, domain: &str) -> Option<&ExternalDomain> {
        self.external_domains
            .iter()
            .find(|d| d.domain == domain)
            .or_else(|| self.external_domains.iter().find(|d| d.domain == "*"))
    }

    /// Transport servers (Mailbox role) of a site, in name order.
    pub fn transport_servers_in(&self, site: SiteId) -> impl Iterator<Item = ServerId> + '_ {
        self.index.transport_by_site[site.index()].iter().copied()
    }

    /// All server ids, in case-insensitive name order (the deterministic choice among equals).
    pub fn servers_sorted_by_name(&self) -> impl Iterator<Item = ServerId> + '_ {
        self.index.by_name.iter().copied()
    }

    /// The delivery group of a Mailbox server (`None` for Edge and Front End-only servers).
    pub fn group_of(&self, server: ServerId) -> Option<GroupId> {
        self.index.group_of[server.index()]
    }

    pub fn group(&self, id: GroupId) -> &DeliveryGroup {
        &self.index.groups[id.index()]
    }

    /// Every delivery group, in id order (DAGs first).
    pub fn groups(&self) -> impl Iterator<Item = (GroupId, &DeliveryGroup)> + '_ {
        self.index
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (GroupId::from_index(i), g))
    }

    /// A delivery group as a person reads it: the DAG's name, the site's name, or the site's
    /// name with "(Exchange 2010)" for the 2010 group of a site.
    pub fn group_name(&self, id: GroupId) -> String {
        match self.group(id).kind {
            GroupKind::Dag(d) => format!("DAG {}", self.dags[d.index()].name),
            GroupKind::Site { site, major: 14 } => {
                format!("{} (Exchange 2010)", self.site(site).name)
            }
            GroupKind::Site { site, .. } => self.site(site).name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{
        AcceptedDomain, AcceptedDomainIndex, AcceptedDomainType, Mailbox, MailboxAddress,
        MailboxIndex, ServerId,
    };

    /// Labels from a small alphabet, so that entries and domains share suffixes often.
    fn name() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "com"]), 1..4)
            .prop_map(|labels| labels.join("."))
    }

    proptest! {
        /// The mailbox index finds the entry a scan finds: the first exact entry, else the
        /// first entry of the address's domain.
        #[test]
        fn the_mailbox_index_finds_what_a_scan_finds(
            entries in prop::collection::vec((prop::sample::select(vec!["a", "b", "*"]), name(), 0usize..3), 0..10),
            addresses in prop::collection::vec((prop::sample::select(vec!["a", "b", "c"]), name()), 1..10),
        ) {
            let mailboxes: Vec<Mailbox> = entries
                .into_iter()
                .map(|(local, domain, server)| Mailbox {
                    address: if local == "*" {
                        MailboxAddress::Domain(domain)
                    } else {
                        MailboxAddress::Exact(format!("{local}@{domain}"))
                    },
                    server: ServerId::from_index(server),
                    origin: crate::model::Origin::default(),
                })
                .collect();
            let index = MailboxIndex::new(&mailboxes);
            for (local, domain) in &addresses {
                let address = format!("{local}@{domain}");
                let scan = mailboxes
                    .iter()
                    .position(|m| matches!(&m.address, MailboxAddress::Exact(a) if *a == address))
                    .or_else(|| {
                        mailboxes.iter().position(
                            |m| matches!(&m.address, MailboxAddress::Domain(d) if d == domain),
                        )
                    });
                prop_assert_eq!(index.find(&address), scan, "{}", address);
            }
        }

        /// The index finds the entry a scan for the most specific match finds: an exact entry,
        /// else the longest wildcard, the later of two equal entries winning.
        #[test]
        fn the_index_finds_what_a_scan_finds(
            entries in prop::collection::vec((name(), any::<bool>()), 0..12),
            domains in prop::collection::vec(name(), 1..12),
        ) {
            let accepted: Vec<AcceptedDomain> = entries
                .into_iter()
                .map(|(domain, subdomains)| AcceptedDomain {
                    domain,
                    subdomains,
                    kind: AcceptedDomainType::Authoritative,
                })
                .collect();
            let index = AcceptedDomainIndex::new(&accepted);
            for domain in &domains {
                let scan = accepted
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.matches(domain))
                    .max_by_key(|(_, a)| (!a.subdomains, a.domain.len()))
                    .map(|(i, _)| i);
                prop_assert_eq!(index.find(domain), scan, "{}", domain);
            }
        }
    }
}
