//! `tlsflow import exchange` (SPEC §2): an Exchange Management Shell export — one JSON file per
//! cmdlet, as `scripts/Export-TlsflowInventory.ps1` writes it — turned into a commented topology
//! YAML (SPEC §3) that `validate` accepts.
//!
//! Sans-I/O: the caller hands over the files' bytes by name and writes the text returned. Values
//! are read as `ConvertTo-Json` renders Exchange objects: property names as the cmdlets print
//! them (matched case-insensitively), one object where a cmdlet returned one item, enums as names
//! or numbers, AD paths (`contoso.com/Configuration/Sites/HQ`), address spaces (`SMTP:*;1` or
//! `{Address, Type, Cost}`), timespans (`2.00:00:00`) and sizes (`35 MB (36,700,160 bytes)`).
//!
//! Nothing is dropped silently: what tlsflow does not model is collected in `unmapped`, which
//! the CLI prints as a warning and the YAML carries as a comment block. The external world
//! (remote MX behaviour) is not in any export; it is written as a template to fill in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use crate::load;

/// The files of an export: `(file name, required)`. The names are the cmdlets' with `.json`;
/// `Get-Mailbox.json` holds a sample of mailboxes (PrimarySmtpAddress, Database).
pub const FILES: &[(&str, bool)] = &[
    (AD_SITE, true),
    (AD_SITE_LINK, true),
    (EXCHANGE_SERVER, true),
    (TRANSPORT_SERVICE, false),
    (FRONTEND_TRANSPORT_SERVICE, false),
    (SEND_CONNECTOR, true),
    (RECEIVE_CONNECTOR, false),
    (EDGE_SUBSCRIPTION, false),
    (TRANSPORT_RULE, true),
    (TRANSPORT_CONFIG, true),
    (ACCEPTED_DOMAIN, true),
    (MAILBOX_DATABASE, false),
    (DAG, false),
    (MAILBOX, false),
];

const AD_SITE: &str = "Get-ADSite.json";
const AD_SITE_LINK: &str = "Get-AdSiteLink.json";
const EXCHANGE_SERVER: &str = "Get-ExchangeServer.json";
const TRANSPORT_SERVICE: &str = "Get-TransportService.json";
const FRONTEND_TRANSPORT_SERVICE: &str = "Get-FrontendTransportService.json";
const SEND_CONNECTOR: &str = "Get-SendConnector.json";
const RECEIVE_CONNECTOR: &str = "Get-ReceiveConnector.json";
const EDGE_SUBSCRIPTION: &str = "Get-EdgeSubscription.json";
const TRANSPORT_RULE: &str = "Get-TransportRule.json";
const TRANSPORT_CONFIG: &str = "Get-TransportConfig.json";
const ACCEPTED_DOMAIN: &str = "Get-AcceptedDomain.json";
const MAILBOX_DATABASE: &str = "Get-MailboxDatabase.json";
const DAG: &str = "Get-DatabaseAvailabilityGroup.json";
const MAILBOX: &str = "Get-Mailbox.json";

/// Nesting deeper than this in an export is refused (ConvertTo-Json -Depth 5 writes at most 6).
const MAX_DEPTH: usize = 32;

/// The result of an import: the topology YAML, and everything that could not be mapped (also
/// written as a comment block in the YAML).
#[derive(Clone, Debug)]
pub struct Imported {
    pub yaml: String,
    pub unmapped: Vec<String>,
    /// One line: what was imported.
    pub summary: String,
}

/// Builds a topology from an export. `files` maps a file name of [`FILES`] to its bytes (files
/// absent from the export are absent from the map); `dir` is how error messages name the folder.
/// Every problem is returned at once, each naming its file and, where possible, the JSON path.
pub fn exchange(dir: &str, files: &BTreeMap<String, Vec<u8>>) -> Result<Imported, Vec<String>> {
    let mut cx = Cx {
        dir: dir.trim_end_matches(['/', '\\']).to_owned(),
        errors: Vec::new(),
        unmapped: Vec::new(),
    };
    let mut docs: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for &(name, required) in FILES {
        match files.get(name) {
            Some(bytes) => {
                if let Some(items) = cx.parse(name, bytes) {
                    docs.insert(name, items);
                }
            }
            None if required => cx.errors.push(format!(
                "{}: missing: the export has no {name} (run scripts/Export-TlsflowInventory.ps1 again, or write `[]` into the file if the organisation has none)",
                cx.file(name)
            )),
            None => {}
        }
    }
    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    let get = |name: &str| docs.get(name).map_or(&[][..], Vec::as_slice);
    let org = Org::build(&mut cx, &get);
    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    let yaml = org.render(&cx.unmapped);
    let source = match load::source_from_bytes("topology.yaml", yaml.as_bytes(), None) {
        Ok(source) => source,
        Err(failure) => return Err(vec![failure.render()]),
    };
    if let Err(failure) = load::topology_from_source(source) {
        return Err(vec![format!(
            "{}: the export imports into a topology tlsflow refuses (positions are in the YAML it would have written); fix the organisation or edit the export:\n{}",
            cx.dir,
            failure.render()
        )]);
    }
    let summary = format!(
        "imported: sites {}, site links {}, servers {}, send connectors {}, transport rules with the TLS action {}, mailboxes {}; not mapped {}",
        org.sites.len(),
        org.links.len(),
        org.servers.len(),
        org.connectors.len(),
        org.rules.len(),
        org.mailboxes.len(),
        cx.unmapped.len()
    );
    Ok(Imported {
        yaml,
        unmapped: cx.unmapped,
        summary,
    })
}

/// The collecting context: errors (the import fails) and unmapped items (it goes on).
struct Cx {
    dir: String,
    errors: Vec<String>,
    unmapped: Vec<String>,
}

impl Cx {
    fn file(&self, name: &str) -> String {
        if self.dir.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.dir)
        }
    }

    fn error(&mut self, file: &str, path: &str, message: &str) {
        let file = self.file(file);
        self.errors.push(format!("{file}: {path}: {message}"));
    }

    fn note(&mut self, file: &str, message: &str) {
        self.unmapped.push(format!("{file}: {message}"));
    }

    /// Decodes (UTF-8 with or without BOM, or the UTF-16 Windows PowerShell's `Out-File`
    /// writes) and parses one file into its items: an array, or one object for one item, or
    /// nothing (an empty file: the cmdlet returned nothing).
    fn parse(&mut self, name: &str, bytes: &[u8]) -> Option<Vec<Value>> {
        let Some(text) = decode(bytes) else {
            let file = self.file(name);
            self.errors.push(format!(
                "{file}: not text: write the file as UTF-8 (the export script does)"
            ));
            return None;
        };
        if text.trim().is_empty() {
            return Some(Vec::new());
        }
        let value: Value = match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(e) => {
                let file = self.file(name);
                let reason = e.to_string();
                let reason = reason
                    .split(" at line ")
                    .next()
                    .unwrap_or(&reason)
                    .to_owned();
                self.errors.push(format!(
                    "{file}:{}:{}: invalid JSON: {reason}",
                    e.line(),
                    e.column()
                ));
                return None;
            }
        };
        if depth(&value) > MAX_DEPTH {
            let file = self.file(name);
            self.errors
                .push(format!("{file}: nested deeper than {MAX_DEPTH} levels"));
            return None;
        }
        match unwrap_array(&value) {
            Value::Array(items) => Some(items.clone()),
            Value::Null => Some(Vec::new()),
            Value::Object(_) => Some(vec![value.clone()]),
            other => {
                self.error(
                    name,
                    "$",
                    &format!(
                        "expected an object or an array of objects, found {}",
                        kind(other)
                    ),
                );
                None
            }
        }
    }
}

fn decode(bytes: &[u8]) -> Option<String> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).ok();
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        return String::from_utf16(&units).ok();
    }
    let text = String::from_utf8(bytes.to_vec()).ok()?;
    (!text.contains('\0')).then_some(text)
}

fn depth(value: &Value) -> usize {
    // Iterative, so a hostile file cannot overflow the stack.
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        if d > MAX_DEPTH {
            break;
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    deepest
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Windows PowerShell 5.1 sometimes writes an array as `{"value": [...], "Count": n}`.
fn unwrap_array(v: &Value) -> &Value {
    if let Value::Object(map) = v
        && map.len() == 2
        && let Some(inner @ Value::Array(_)) = map.get("value")
        && map.contains_key("Count")
    {
        return inner;
    }
    v
}

/// A property, matched case-insensitively as PowerShell does; `null` counts as absent.
fn prop<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    let Value::Object(map) = obj else {
        return None;
    };
    map.get(key)
        .or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

/// A multi-valued property's values: an array, one value, or none.
fn values(v: Option<&Value>) -> Vec<&Value> {
    match v.map(unwrap_array) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter(|i| !i.is_null()).collect(),
        Some(other) => vec![other],
    }
}

/// The text of a value: a string, a number, or an Exchange object rendered with its
/// identifying property (ADObjectId `Name`, SmtpDomain `Domain`, SmtpAddress `Address`).
fn text(v: &Value) -> Option<String> {
    let mut v = v;
    for _ in 0..4 {
        match v {
            Value::String(s) => return Some(s.trim().to_owned()),
            Value::Number(n) => return Some(n.to_string()),
            Value::Bool(b) => return Some(b.to_string()),
            Value::Object(_) => {
                v = ["Name", "Domain", "Address", "DistinguishedName", "Value"]
                    .iter()
                    .find_map(|k| prop(v, k))?;
            }
            Value::Null | Value::Array(_) => return None,
        }
    }
    None
}

/// The last element of an AD path (`contoso.com/Configuration/Sites/HQ`), the first RDN of a
/// distinguished name (`CN=HQ,CN=Sites,...`), or the name itself.
fn leaf_name(t: &str) -> String {
    let t = t.trim();
    if let Some(rest) = t.strip_prefix("CN=").or_else(|| t.strip_prefix("cn=")) {
        return rest.split(',').next().unwrap_or(rest).to_owned();
    }
    t.rsplit(['/', '\\']).next().unwrap_or(t).to_owned()
}

/// A server name from a name or an FQDN (`HQ-MBX1.contoso.com` -> `HQ-MBX1`).
fn server_name(t: &str) -> String {
    let leaf = leaf_name(t);
    leaf.split('.').next().unwrap_or(&leaf).to_owned()
}

/// One object of one file, with the path used in error messages.
struct Item<'a> {
    file: &'static str,
    index: usize,
    value: &'a Value,
}

impl Item<'_> {
    fn path(&self, key: &str) -> String {
        format!("[{}].{key}", self.index)
    }

    fn text(&self, key: &str) -> Option<String> {
        prop(self.value, key)
            .and_then(text)
            .filter(|t| !t.is_empty())
    }

    fn texts(&self, key: &str) -> Vec<String> {
        values(prop(self.value, key))
            .into_iter()
            .filter_map(text)
            .filter(|t| !t.is_empty())
            .collect()
    }

    fn required_text(&self, cx: &mut Cx, key: &str) -> Option<String> {
        let t = self.text(key);
        if t.is_none() {
            cx.error(
                self.file,
                &self.path(key),
                "missing: this property is required",
            );
        }
        t
    }

    /// `true`/`false`, `"True"`/`"False"`, or 0/1.
    fn bool(&self, cx: &mut Cx, key: &str) -> Option<bool> {
        let v = prop(self.value, key)?;
        let b = match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            Value::Number(n) if n.as_i64() == Some(0) => Some(false),
            Value::Number(n) if n.as_i64() == Some(1) => Some(true),
            _ => None,
        };
        if b.is_none() {
            cx.error(
                self.file,
                &self.path(key),
                &format!("expected True or False, found {}", show(v)),
            );
        }
        b
    }

    fn int(&self, cx: &mut Cx, key: &str) -> Option<i64> {
        let v = prop(self.value, key)?;
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().replace(',', "").parse().ok(),
            _ => None,
        };
        if n.is_none() {
            cx.error(
                self.file,
                &self.path(key),
                &format!("expected a whole number, found {}", show(v)),
            );
        }
        n
    }

    /// An enum written by name (case-insensitive) or by its numeric value.
    fn enumerated<T: Copy>(
        &self,
        cx: &mut Cx,
        key: &str,
        what: &str,
        table: &[(&str, i64, T)],
    ) -> Option<T> {
        let v = prop(self.value, key)?;
        let found = match v {
            Value::String(s) if s.trim().is_empty() => return None,
            Value::String(s) => table
                .iter()
                .find(|(name, _, _)| name.eq_ignore_ascii_case(s.trim())),
            Value::Number(n) => {
                let found = table.iter().find(|(_, num, _)| Some(*num) == n.as_i64());
                // The numbering is not in Microsoft's documentation: say how it was read.
                if let Some((name, num, _)) = found {
                    cx.note(
                        self.file,
                        &format!(
                            "{}: {what} {num} read as {name} (Exchange's enum numbering is UNCONFIRMED; the export script writes names: re-export to be sure)",
                            self.path(key)
                        ),
                    );
                }
                found
            }
            _ => None,
        };
        if found.is_none() {
            let names: Vec<String> = table
                .iter()
                .map(|(name, num, _)| format!("{name} ({num})"))
                .collect();
            cx.error(
                self.file,
                &self.path(key),
                &format!(
                    "unknown {what} {}: expected one of {}",
                    show(v),
                    names.join(", ")
                ),
            );
        }
        found.map(|(_, _, t)| *t)
    }
}

fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

fn items<'a>(file: &'static str, docs: &'a [Value]) -> impl Iterator<Item = Item<'a>> {
    docs.iter()
        .enumerate()
        .map(move |(index, value)| Item { file, index, value })
}

// ---- the organisation, as tlsflow will see it ------------------------------------------------

#[derive(Default)]
struct Site {
    name: String,
    hub: bool,
    inbound_mail_enabled: bool,
}

struct Link {
    name: String,
    sites: Vec<String>,
    cost: Option<i64>,
    exchange_cost: Option<i64>,
}

struct Server {
    name: String,
    site: Option<String>,
    roles: Vec<&'static str>,
    version: Option<(u32, u32)>,
    subscribed_site: Option<String>,
}

struct Connector {
    name: String,
    address_spaces: Vec<String>,
    source_servers: Vec<String>,
    scoped: bool,
    enabled: bool,
    frontend_proxy: bool,
    dns_routing: bool,
    smart_hosts: Vec<String>,
    require_tls: bool,
    tls_auth_level: Option<&'static str>,
    tls_domain: Option<String>,
    ignore_starttls: bool,
    domain_secure: bool,
    max_message_size: Option<String>,
}

struct Rule {
    name: String,
    priority: Option<i64>,
    audit: bool,
    conditions: Predicates,
    exceptions: Predicates,
}

#[derive(Default)]
struct Predicates {
    words: Vec<String>,
    scope: Option<&'static str>,
    domains: Vec<String>,
}

impl Predicates {
    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.scope.is_none() && self.domains.is_empty()
    }
}

#[derive(Default)]
struct Config {
    send_secure: Vec<String>,
    receive_secure: Vec<String>,
    /// (yaml key, value, cmdlet property).
    timeouts: Vec<(&'static str, String, &'static str)>,
    timeouts_from: Option<String>,
}

struct Org {
    organization: Option<String>,
    profile: (&'static str, String),
    accepted: Vec<String>,
    sites: Vec<Site>,
    links: Vec<Link>,
    servers: Vec<Server>,
    connectors: Vec<Connector>,
    rules: Vec<Rule>,
    config: Config,
    mailboxes: Vec<(String, String)>,
}

// Enum tables: (name as the cmdlets print it, numeric value, tlsflow's value). The export script
// writes names; the numbers (what ConvertTo-Json writes for an enum it is not told to stringify)
// follow the declaration order of Exchange's enums (RequiredTlsAuthLevel starts at 1, the
// others at 0). UNCONFIRMED against Microsoft's documentation, which shows only names: a
// number that is not in a table is an error, never a guess.

/// TlsAuthLevel as Exchange numbers it (a flags enum: there is no 3), as deserialized exports
/// show it (issue 14).
const TLS_AUTH_LEVELS: &[(&str, i64, &str)] = &[
    ("EncryptionOnly", 1, "encryption_only"),
    ("CertificateValidation", 2, "certificate_validation"),
    ("DomainValidation", 4, "domain_validation"),
];

/// RuleMode: AuditAndNotify applies no action either, so it is audit to tlsflow.
/// Numbered as deserialized exports show it: Audit = 1, AuditAndNotify = 2, Enforce = 3.
const RULE_MODES: &[(&str, i64, bool)] = &[
    ("Audit", 1, true),
    ("AuditAndNotify", 2, true),
    ("Enforce", 3, false),
];

/// SentToScope (ToUserScope). The partner scopes are not modelled (`None`).
const SCOPES: &[(&str, i64, Option<&str>)] = &[
    ("InOrganization", 0, Some("in_organization")),
    ("NotInOrganization", 1, Some("not_in_organization")),
    ("ExternalPartner", 2, None),
    ("ExternalNonPartner", 3, None),
];

const DOMAIN_TYPES: &[(&str, i64, Option<&str>)] = &[
    ("Authoritative", 0, Some("Authoritative")),
    ("ExternalRelay", 1, Some("ExternalRelay")),
    ("InternalRelay", 2, Some("InternalRelay")),
];

/// RuleState: Enabled = 0, Disabled = 1 (as deserialized exports show it).
const RULE_STATES: &[(&str, i64, bool)] = &[("Enabled", 0, true), ("Disabled", 1, false)];

/// New-TransportRule predicates tlsflow does not model; each also exists as `ExceptIf...`.
const UNMODELLED_PREDICATES: &[&str] = &[
    "From",
    "FromMemberOf",
    "FromAddressContainsWords",
    "FromAddressMatchesPatterns",
    "SenderDomainIs",
    "SenderIpRanges",
    "SenderADAttributeContainsWords",
    "SenderADAttributeMatchesPatterns",
    "SenderInRecipientList",
    "SenderManagementRelationship",
    "SentTo",
    "SentToMemberOf",
    "RecipientAddressContainsWords",
    "RecipientAddressMatchesPatterns",
    "RecipientADAttributeContainsWords",
    "RecipientADAttributeMatchesPatterns",
    "RecipientInSenderList",
    "AnyOfToHeader",
    "AnyOfToHeaderMemberOf",
    "AnyOfCcHeader",
    "AnyOfCcHeaderMemberOf",
    "AnyOfToCcHeader",
    "AnyOfToCcHeaderMemberOf",
    "AnyOfRecipientAddressContainsWords",
    "AnyOfRecipientAddressMatchesPatterns",
    "BetweenMemberOf1",
    "ManagerAddresses",
    "ADComparisonAttribute",
    "SubjectContainsWords",
    "SubjectMatchesPatterns",
    "SubjectOrBodyMatchesPatterns",
    "HeaderContainsMessageHeader",
    "HeaderMatchesMessageHeader",
    "AttachmentNameMatchesPatterns",
    "AttachmentExtensionMatchesWords",
    "AttachmentContainsWords",
    "AttachmentMatchesPatterns",
    "AttachmentSizeOver",
    "AttachmentIsUnsupported",
    "AttachmentProcessingLimitExceeded",
    "AttachmentHasExecutableContent",
    "AttachmentIsPasswordProtected",
    "AttachmentPropertyContainsWords",
    "ContentCharacterSetContainsWords",
    "HasClassification",
    "HasNoClassification",
    "HasSenderOverride",
    "MessageContainsDataClassifications",
    "MessageSizeOver",
    "MessageTypeMatches",
    "SCLOver",
    "WithImportance",
];

type Get<'a> = dyn Fn(&str) -> &'a [Value] + 'a;

impl Org {
    fn build(cx: &mut Cx, get: &Get<'_>) -> Org {
        let sites = sites(cx, get(AD_SITE));
        let site_names: BTreeSet<String> = sites.iter().map(|s| s.name.to_lowercase()).collect();
        let links = links(cx, get(AD_SITE_LINK), &site_names);
        let servers = servers(
            cx,
            get(EXCHANGE_SERVER),
            get(EDGE_SUBSCRIPTION),
            &site_names,
        );
        let connectors = connectors(cx, get(SEND_CONNECTOR), &servers);
        let rules = rules(cx, get(TRANSPORT_RULE));
        let config = config(cx, get(TRANSPORT_CONFIG), get(TRANSPORT_SERVICE), &servers);
        let accepted = accepted(cx, get(ACCEPTED_DOMAIN));
        let mailboxes = mailboxes(cx, get(MAILBOX), get(MAILBOX_DATABASE), &servers);
        notes(cx, get);
        let profile = profile(&servers);
        Org {
            organization: organization(get),
            profile,
            accepted,
            sites,
            links,
            servers,
            connectors,
            rules,
            config,
            mailboxes,
        }
    }
}

fn sites(cx: &mut Cx, docs: &[Value]) -> Vec<Site> {
    let mut out: Vec<Site> = Vec::new();
    for item in items(AD_SITE, docs) {
        let Some(name) = item.required_text(cx, "Name") else {
            continue;
        };
        let hub = item.bool(cx, "HubSiteEnabled").unwrap_or(false);
        let inbound = item.bool(cx, "InboundMailEnabled").unwrap_or(true);
        if out.iter().any(|s| s.name.eq_ignore_ascii_case(&name)) {
            cx.error(
                AD_SITE,
                &item.path("Name"),
                &format!("site `{name}` appears twice"),
            );
            continue;
        }
        out.push(Site {
            name: leaf_name(&name),
            hub,
            inbound_mail_enabled: inbound,
        });
    }
    out
}

fn links(cx: &mut Cx, docs: &[Value], sites: &BTreeSet<String>) -> Vec<Link> {
    let mut out = Vec::new();
    for item in items(AD_SITE_LINK, docs) {
        let Some(name) = item.required_text(cx, "Name") else {
            continue;
        };
        let cost = item.int(cx, "Cost");
        let exchange_cost = item.int(cx, "ExchangeCost").filter(|&c| c > 0);
        let mut linked = Vec::new();
        let mut missing = Vec::new();
        for site in item.texts("Sites").iter().map(|s| leaf_name(s)) {
            if !sites.contains(&site.to_lowercase()) {
                missing.push(format!("`{site}`"));
            } else if !linked.contains(&site) {
                linked.push(site);
            }
        }
        let missing = missing.join(", ");
        if linked.len() < 2 {
            cx.note(
                AD_SITE_LINK,
                &format!(
                    "site link `{name}` joins fewer than two exported sites (not in {AD_SITE}: {}); not imported",
                    if missing.is_empty() { "none" } else { &missing }
                ),
            );
            continue;
        }
        if !missing.is_empty() {
            cx.note(
                AD_SITE_LINK,
                &format!("site link `{name}`: sites {missing} are not in {AD_SITE}; left out"),
            );
        }
        out.push(Link {
            name,
            sites: linked,
            cost,
            exchange_cost,
        });
    }
    out
}

/// `Version 15.1 (Build 2507.6)`, `15.1.2507.6`, or `{Major: 15, Minor: 1}`.
fn version_of(item: &Item) -> Option<(u32, u32)> {
    let v = prop(item.value, "AdminDisplayVersion")?;
    if let (Some(major), Some(minor)) = (prop(v, "Major"), prop(v, "Minor")) {
        let major = u32::try_from(major.as_u64()?).ok()?;
        let minor = u32::try_from(minor.as_u64()?).ok()?;
        return Some((major, minor));
    }
    let t = text(v)?;
    let numbers = t
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| w.contains('.') && w.starts_with(|c: char| c.is_ascii_digit()))?;
    let mut parts = numbers.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// ServerRole as text (`Mailbox, ClientAccess`) or as its flag value.
fn role_flags(item: &Item) -> BTreeSet<&'static str> {
    const FLAGS: &[(i64, &str)] = &[
        (2, "Mailbox"),
        (4, "ClientAccess"),
        (32, "HubTransport"),
        (64, "Edge"),
    ];
    let mut out = BTreeSet::new();
    match prop(item.value, "ServerRole") {
        Some(Value::Number(n)) => {
            let bits = n.as_i64().unwrap_or(0);
            out.extend(
                FLAGS
                    .iter()
                    .filter(|(bit, _)| bits & bit != 0)
                    .map(|(_, n)| *n),
            );
        }
        Some(v) => {
            for part in values(Some(v)).into_iter().filter_map(text) {
                for word in part.split([',', ' ']).filter(|w| !w.is_empty()) {
                    if let Some((_, name)) =
                        FLAGS.iter().find(|(_, n)| n.eq_ignore_ascii_case(word))
                    {
                        out.insert(*name);
                    }
                }
            }
        }
        None => {}
    }
    out
}

fn servers(
    cx: &mut Cx,
    docs: &[Value],
    subscriptions: &[Value],
    sites: &BTreeSet<String>,
) -> Vec<Server> {
    // Edge name, lowercase -> (the name as exported, the subscribed site).
    let mut subscribed: BTreeMap<String, (String, String)> = BTreeMap::new();
    for item in items(EDGE_SUBSCRIPTION, subscriptions) {
        let (Some(name), Some(site)) = (
            item.required_text(cx, "Name"),
            item.required_text(cx, "Site"),
        ) else {
            continue;
        };
        let site = leaf_name(&site);
        if !sites.contains(&site.to_lowercase()) {
            cx.error(
                EDGE_SUBSCRIPTION,
                &item.path("Site"),
                &format!("site `{site}` is not in {AD_SITE}"),
            );
            continue;
        }
        let name = server_name(&name);
        subscribed.insert(name.to_lowercase(), (name, site));
    }
    let mut out: Vec<Server> = Vec::new();
    for item in items(EXCHANGE_SERVER, docs) {
        let Some(name) = item.required_text(cx, "Name") else {
            continue;
        };
        let name = server_name(&name);
        let flags = role_flags(&item);
        let is = |cx: &mut Cx, key: &str, flag: &str| {
            item.bool(cx, key).unwrap_or(false) || flags.contains(flag)
        };
        let edge = is(cx, "IsEdgeServer", "Edge");
        let mailbox =
            is(cx, "IsMailboxServer", "Mailbox") || is(cx, "IsHubTransportServer", "HubTransport");
        let frontend = item.bool(cx, "IsFrontendTransportServer").unwrap_or(false)
            || (flags.contains("ClientAccess") && version_of(&item).is_some_and(|v| v >= (15, 0)));
        let version = version_of(&item);
        if version.is_some_and(|(major, minor)| !(major == 14 || (major == 15 && minor <= 2))) {
            cx.note(
                EXCHANGE_SERVER,
                &format!("server `{name}`: version {} is not one tlsflow knows (14.x, 15.0-15.2); written without a version", fmt_version(version)),
            );
        }
        let version = version.filter(|&(major, minor)| major == 14 || (major == 15 && minor <= 2));
        if out.iter().any(|s| s.name.eq_ignore_ascii_case(&name)) {
            cx.error(
                EXCHANGE_SERVER,
                &item.path("Name"),
                &format!("server `{name}` appears twice"),
            );
            continue;
        }
        if edge {
            let Some((_, site)) = subscribed.remove(&name.to_lowercase()) else {
                cx.note(
                    EXCHANGE_SERVER,
                    &format!("Edge server `{name}` has no Edge subscription in {EDGE_SUBSCRIPTION}; not imported (it sends no mail for the organisation)"),
                );
                continue;
            };
            out.push(Server {
                name,
                site: None,
                roles: vec!["edge"],
                version,
                subscribed_site: Some(site),
            });
            continue;
        }
        let mut roles = Vec::new();
        if mailbox {
            roles.push("mailbox");
        }
        if frontend {
            roles.push("frontend");
        }
        if roles.is_empty() {
            cx.note(
                EXCHANGE_SERVER,
                &format!(
                    "server `{name}` runs no transport role (ServerRole {}); not imported",
                    item.text("ServerRole").unwrap_or_else(|| "None".to_owned())
                ),
            );
            continue;
        }
        let Some(site) = item.text("Site").map(|s| leaf_name(&s)) else {
            cx.error(
                EXCHANGE_SERVER,
                &item.path("Site"),
                &format!("server `{name}` has no AD site"),
            );
            continue;
        };
        if !sites.contains(&site.to_lowercase()) {
            cx.error(
                EXCHANGE_SERVER,
                &item.path("Site"),
                &format!("site `{site}` of server `{name}` is not in {AD_SITE}"),
            );
            continue;
        }
        out.push(Server {
            name,
            site: Some(site),
            roles,
            version,
            subscribed_site: None,
        });
    }
    for (edge, site) in subscribed.into_values() {
        cx.note(
            EDGE_SUBSCRIPTION,
            &format!("Edge subscription `{edge}` (site {site}) has no server in {EXCHANGE_SERVER}; imported as an Edge server of unknown version"),
        );
        out.push(Server {
            name: edge,
            site: None,
            roles: vec!["edge"],
            version: None,
            subscribed_site: Some(site),
        });
    }
    out
}

fn fmt_version(v: Option<(u32, u32)>) -> String {
    v.map_or_else(|| "unknown".to_owned(), |(a, b)| format!("{a}.{b}"))
}

/// `SMTP:*;1`, or `{Address: "*", Type: "SMTP", Cost: 1}`; `None` for a non-SMTP type.
fn address_space(v: &Value) -> Result<Option<String>, String> {
    let (kind, space, cost) = match v {
        Value::String(s) => {
            let s = s.trim();
            let (kind, rest) = match s.split_once(':') {
                Some((k, rest)) => (k.trim().to_owned(), rest),
                None => ("SMTP".to_owned(), s),
            };
            let (space, cost) = match rest.rsplit_once(';') {
                Some((space, cost)) => (space.trim().to_owned(), Some(cost.trim().to_owned())),
                None => (rest.trim().to_owned(), None),
            };
            (kind, space, cost)
        }
        Value::Object(_) => {
            let kind = prop(v, "Type")
                .and_then(text)
                .unwrap_or_else(|| "SMTP".to_owned());
            let space = prop(v, "Address")
                .or_else(|| prop(v, "Domain"))
                .and_then(text)
                .ok_or_else(|| format!("an address space object needs Address: {}", show(v)))?;
            (kind, space, prop(v, "Cost").and_then(text))
        }
        other => {
            return Err(format!(
                "expected an address space such as \"SMTP:*;1\", found {}",
                show(other)
            ));
        }
    };
    if !kind.eq_ignore_ascii_case("smtp") {
        return Ok(None);
    }
    let text = match cost {
        Some(cost) => format!("SMTP:{space};{cost}"),
        None => format!("SMTP:{space};1"),
    };
    load::values::address_space(&text).map_err(|e| format!("address space {}: {e}", show(v)))?;
    Ok(Some(text))
}

/// `35 MB (36,700,160 bytes)` -> `36700160`; `Unlimited` -> `unlimited`.
fn size(v: &Value) -> Result<String, String> {
    if let Some(unlimited) = prop(v, "IsUnlimited").and_then(Value::as_bool) {
        if unlimited {
            return Ok("unlimited".to_owned());
        }
        if let Some(inner) = prop(v, "Value") {
            return size(inner);
        }
    }
    if let Some(bytes) = prop(v, "ToBytes").or_else(|| prop(v, "Bytes")) {
        return size(bytes);
    }
    let t = text(v).ok_or_else(|| {
        format!(
            "expected a size such as \"35 MB (36,700,160 bytes)\", found {}",
            show(v)
        )
    })?;
    if let Some((_, inside)) = t.split_once('(') {
        let digits: String = inside
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        if !digits.is_empty() && inside.contains("bytes") {
            return Ok(digits);
        }
    }
    match load::values::size(&t) {
        Ok(None) => Ok("unlimited".to_owned()),
        Ok(Some(bytes)) => Ok(bytes.0.to_string()),
        Err(e) => Err(e),
    }
}

fn connectors(cx: &mut Cx, docs: &[Value], servers: &[Server]) -> Vec<Connector> {
    let find = |name: &str| servers.iter().find(|s| s.name.eq_ignore_ascii_case(name));
    let mut out: Vec<Connector> = Vec::new();
    let mut edge_sync = BTreeSet::new();
    for item in items(SEND_CONNECTOR, docs) {
        let Some(name) = item.required_text(cx, "Name") else {
            continue;
        };
        let mut spaces = Vec::new();
        let mut skipped = Vec::new();
        for (i, v) in values(prop(item.value, "AddressSpaces"))
            .into_iter()
            .enumerate()
        {
            match address_space(v) {
                Ok(Some(s)) => spaces.push(s),
                Ok(None) => skipped.push(text(v).unwrap_or_else(|| show(v))),
                Err(_) if text(v).is_some_and(|t| t.contains("--")) => {
                    skipped.push(text(v).unwrap_or_default());
                }
                Err(e) => cx.error(
                    SEND_CONNECTOR,
                    &format!("[{}].AddressSpaces[{i}]", item.index),
                    &e,
                ),
            }
        }
        let sources: Vec<String> = item
            .texts("SourceTransportServers")
            .iter()
            .map(|s| server_name(s))
            .collect();
        let edge_sources = !sources.is_empty()
            && sources
                .iter()
                .all(|s| find(s).is_some_and(|s| s.subscribed_site.is_some()));
        if name.starts_with("EdgeSync - Inbound to ") {
            cx.note(
                SEND_CONNECTOR,
                &format!("connector `{name}`: the Edge's inbound connector (Edge to Mailbox servers, address space `--`); inbound mail is not modelled"),
            );
            continue;
        }
        if edge_sources || name.starts_with("EdgeSync - ") {
            edge_sync.insert(name.to_lowercase());
            cx.note(
                SEND_CONNECTOR,
                &format!("connector `{name}`: created by an Edge subscription; tlsflow models it from `subscribed_site` with Exchange's defaults (SMTP:*;100, Domain Secure on; reference §1.11), so its own settings (RequireTLS, TlsAuthLevel, Enabled, MaxMessageSize) are not imported"),
            );
            continue;
        }
        for s in &skipped {
            cx.note(
                SEND_CONNECTOR,
                &format!("connector `{name}`: address space `{s}` is not SMTP; left out"),
            );
        }
        let mut source_servers = Vec::new();
        for s in &sources {
            match find(s) {
                Some(server) if server.roles.contains(&"mailbox") => source_servers.push(server.name.clone()),
                _ => cx.note(SEND_CONNECTOR, &format!("connector `{name}`: source server `{s}` is not an imported Mailbox server; left out")),
            }
        }
        if spaces.is_empty() || source_servers.is_empty() {
            cx.note(SEND_CONNECTOR, &format!("connector `{name}` has no SMTP address space or no imported source server; not imported"));
            continue;
        }
        let require_tls = item.bool(cx, "RequireTLS").unwrap_or(false);
        let level = item.enumerated(cx, "TlsAuthLevel", "TlsAuthLevel", TLS_AUTH_LEVELS);
        let tls_domain = item.text("TlsDomain");
        let tls_domain = match (tls_domain, level) {
            (Some(d), Some("domain_validation")) => Some(d),
            (Some(d), _) => {
                cx.note(SEND_CONNECTOR, &format!("connector `{name}`: TlsDomain `{d}` is used only with TlsAuthLevel DomainValidation; left out"));
                None
            }
            (None, _) => None,
        };
        let dns_routing = item.bool(cx, "DNSRoutingEnabled").unwrap_or(true);
        let smart_hosts: Vec<String> = if dns_routing {
            Vec::new()
        } else {
            item.texts("SmartHosts")
                .into_iter()
                .chain(item.texts("SmartHostsString").into_iter().flat_map(|s| {
                    s.split(',')
                        .map(|h| h.trim().to_owned())
                        .collect::<Vec<_>>()
                }))
                .fold(Vec::new(), |mut acc, h| {
                    if !h.is_empty() && !acc.contains(&h) {
                        acc.push(h);
                    }
                    acc
                })
        };
        let max_message_size = match prop(item.value, "MaxMessageSize").map(size) {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                cx.error(SEND_CONNECTOR, &item.path("MaxMessageSize"), &e);
                None
            }
            None => None,
        };
        if out.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
            cx.error(
                SEND_CONNECTOR,
                &item.path("Name"),
                &format!("connector `{name}` appears twice"),
            );
            continue;
        }
        out.push(Connector {
            name,
            address_spaces: spaces,
            source_servers,
            scoped: item.bool(cx, "IsScopedConnector").unwrap_or(false),
            enabled: item.bool(cx, "Enabled").unwrap_or(true),
            frontend_proxy: item.bool(cx, "FrontendProxyEnabled").unwrap_or(false),
            dns_routing,
            smart_hosts,
            require_tls,
            tls_auth_level: level,
            tls_domain,
            ignore_starttls: item.bool(cx, "IgnoreSTARTTLS").unwrap_or(false),
            domain_secure: item.bool(cx, "DomainSecureEnabled").unwrap_or(false),
            max_message_size,
        });
    }
    for edge in servers.iter().filter_map(|s| s.subscribed_site.as_ref()) {
        let expected = format!("edgesync - {} to internet", edge.to_lowercase());
        if !docs.is_empty() && !edge_sync.contains(&expected) {
            cx.note(
                SEND_CONNECTOR,
                &format!("no `EdgeSync - {edge} to Internet` connector in the export, but tlsflow creates one for every Edge subscription (New-EdgeSubscription -CreateInternetSendConnector $false is not modelled)"),
            );
            edge_sync.insert(expected);
        }
    }
    out
}

fn predicates(cx: &mut Cx, item: &Item, rule: &str, prefix: &str) -> Predicates {
    let key = |k: &str| format!("{prefix}{k}");
    let words = item.texts(&key("SubjectOrBodyContainsWords"));
    let domains: Vec<String> = item
        .texts(&key("RecipientDomainIs"))
        .into_iter()
        .map(|d| d.to_lowercase())
        .collect();
    let scope = item.enumerated(cx, &key("SentToScope"), "SentToScope", SCOPES);
    let which = if prefix.is_empty() {
        "condition"
    } else {
        "exception"
    };
    if let Some(None) = scope {
        cx.note(
            TRANSPORT_RULE,
            &format!(
                "rule `{rule}`: {which} {} {} is not modelled; imported as if it {}",
                key("SentToScope"),
                item.text(&key("SentToScope")).unwrap_or_default(),
                if prefix.is_empty() {
                    "always held"
                } else {
                    "never held"
                }
            ),
        );
    }
    match item.text(&key("FromScope")) {
        Some(s) if s.eq_ignore_ascii_case("InOrganization") || s == "0" => cx.note(
            TRANSPORT_RULE,
            &format!("rule `{rule}`: {which} {} InOrganization holds for every sender tlsflow models (mailboxes of the organisation); left out", key("FromScope")),
        ),
        Some(s) => cx.note(TRANSPORT_RULE, &format!("rule `{rule}`: {which} {} {s} is not modelled; imported as if it {}", key("FromScope"), if prefix.is_empty() { "always held" } else { "never held" })),
        None => {}
    }
    for name in UNMODELLED_PREDICATES {
        let k = key(name);
        let present = match prop(item.value, &k) {
            None | Some(Value::Bool(false)) => false,
            Some(v) => !values(Some(v)).is_empty(),
        };
        if present {
            cx.note(
                TRANSPORT_RULE,
                &format!("rule `{rule}`: {which} {k} is not modelled; imported as if it {} (tlsflow may report exposures for mail the rule would not match)", if prefix.is_empty() { "always held" } else { "never held" }),
            );
        }
    }
    Predicates {
        words,
        scope: scope.flatten(),
        domains,
    }
}

fn rules(cx: &mut Cx, docs: &[Value]) -> Vec<Rule> {
    let mut out = Vec::new();
    let mut ignored = Vec::new();
    for item in items(TRANSPORT_RULE, docs) {
        let Some(name) = item.required_text(cx, "Name") else {
            continue;
        };
        let tls = item
            .bool(cx, "RouteMessageOutboundRequireTls")
            .unwrap_or(false);
        let enabled = item
            .enumerated(cx, "State", "rule State", RULE_STATES)
            .unwrap_or(true);
        let audit = item
            .enumerated(cx, "Mode", "rule Mode", RULE_MODES)
            .unwrap_or(false);
        let priority = item.int(cx, "Priority");
        if !tls {
            ignored.push(name);
            continue;
        }
        if !enabled {
            cx.note(TRANSPORT_RULE, &format!("rule `{name}` has the TLS action but is disabled (State Disabled); not imported"));
            continue;
        }
        let conditions = predicates(cx, &item, &name, "");
        let exceptions = predicates(cx, &item, &name, "ExceptIf");
        out.push(Rule {
            name,
            priority,
            audit,
            conditions,
            exceptions,
        });
    }
    if !ignored.is_empty() {
        cx.note(
            TRANSPORT_RULE,
            &format!(
                "rules without the RouteMessageOutboundRequireTls action are ignored ({}): {}",
                ignored.len(),
                ignored
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    out
}

fn domains(item: &Item, key: &str) -> Vec<String> {
    item.texts(key)
        .into_iter()
        .map(|d| d.to_lowercase())
        .collect()
}

/// A timespan as `2.00:00:00`, or as PowerShell's TimeSpan object (`TotalMilliseconds`): the
/// text to write and its milliseconds (to compare servers).
fn duration(v: &Value) -> Result<(String, u64), String> {
    if let Some(ms) = prop(v, "TotalMilliseconds").and_then(Value::as_f64) {
        if ms.is_finite() && (0.0..1e15).contains(&ms) {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked finite, non-negative and below 1e15 just above"
            )]
            let ms = ms.round() as u64;
            return Ok((format!("{ms}ms"), ms));
        }
        return Err(format!("TotalMilliseconds {ms} is not a duration"));
    }
    let t = text(v).ok_or_else(|| {
        format!(
            "expected a timespan such as \"2.00:00:00\", found {}",
            show(v)
        )
    })?;
    let ms = load::values::duration(&t)?;
    Ok((t, ms.0))
}

// Get-TransportService: per-server settings; tlsflow has one set, taken from the first
// Mailbox server by name, and differences are reported.
/// Get-TransportService properties: (cmdlet property, YAML key, is a timespan).
const TIMEOUTS: &[(&str, &str, bool)] = &[
    (
        "MessageExpirationTimeout",
        "message_expiration_timeout",
        true,
    ),
    (
        "DelayNotificationTimeout",
        "delay_notification_timeout",
        true,
    ),
    (
        "TransientFailureRetryCount",
        "transient_failure_retry_count",
        false,
    ),
    (
        "TransientFailureRetryInterval",
        "transient_failure_retry_interval",
        true,
    ),
    (
        "OutboundConnectionFailureRetryInterval",
        "outbound_connection_failure_retry_interval",
        true,
    ),
];

fn config(cx: &mut Cx, docs: &[Value], services: &[Value], servers: &[Server]) -> Config {
    let mut config = Config::default();
    if docs.len() > 1 {
        cx.error(
            TRANSPORT_CONFIG,
            "$",
            "expected one object (the organisation's transport configuration)",
        );
    }
    if let Some(item) = items(TRANSPORT_CONFIG, docs).next() {
        config.send_secure = domains(&item, "TLSSendDomainSecureList");
        config.receive_secure = domains(&item, "TLSReceiveDomainSecureList");
    }
    let mut by_server: BTreeMap<String, Item> = BTreeMap::new();
    for item in items(TRANSPORT_SERVICE, services) {
        let Some(name) = item.text("Name").or_else(|| item.text("Identity")) else {
            continue;
        };
        let name = server_name(&name);
        if let Some(server) = servers
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&name) && s.roles.contains(&"mailbox"))
        {
            by_server.insert(server.name.clone(), item);
        }
    }
    // Per key: canonical value -> (the text first seen, the servers with it).
    let mut per_key: BTreeMap<&str, BTreeMap<u64, (String, Vec<String>)>> = BTreeMap::new();
    for (server, item) in &by_server {
        for &(property, key, is_duration) in TIMEOUTS {
            let Some(v) = prop(item.value, property) else {
                continue;
            };
            // `Err(None)`: a number that did not parse, already reported by `int`.
            let parsed = if is_duration {
                duration(v).map_err(Some)
            } else {
                item.int(cx, property)
                    .and_then(|n| u64::try_from(n).ok())
                    .map(|n| (n.to_string(), n))
                    .ok_or(None)
            };
            match parsed {
                Ok((value, canonical)) => per_key
                    .entry(key)
                    .or_default()
                    .entry(canonical)
                    .or_insert_with(|| (value, Vec::new()))
                    .1
                    .push(server.clone()),
                Err(Some(e)) => cx.error(TRANSPORT_SERVICE, &item.path(property), &e),
                Err(None) => {}
            }
        }
    }
    let first = by_server.keys().next().cloned();
    for &(property, key, _) in TIMEOUTS {
        let Some(values) = per_key.get(key) else {
            continue;
        };
        let chosen = values
            .values()
            .find(|(_, servers)| first.as_ref().is_some_and(|f| servers.contains(f)))
            .or_else(|| values.values().next());
        let Some((value, _)) = chosen else {
            continue;
        };
        if values.len() > 1 {
            let all: Vec<String> = values
                .values()
                .map(|(v, s)| format!("{v} on {}", s.join(", ")))
                .collect();
            cx.note(TRANSPORT_SERVICE, &format!("{property} differs between servers ({}); tlsflow has one value for the organisation and uses {value}", all.join("; ")));
        }
        config.timeouts.push((key, value.clone(), property));
    }
    config.timeouts_from = first;
    config
}

/// Accepted domains as YAML flow items: `"contoso.com"`, `"*.contoso.com"`, or
/// `{domain: "x", type: internal_relay}` for the relay types (New-AcceptedDomain -DomainType).
fn accepted(cx: &mut Cx, docs: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for item in items(ACCEPTED_DOMAIN, docs) {
        let Some(domain) = item
            .text("DomainName")
            .or_else(|| item.required_text(cx, "Name"))
        else {
            continue;
        };
        let domain = domain.to_lowercase();
        let kind = item
            .enumerated(cx, "DomainType", "DomainType", DOMAIN_TYPES)
            .unwrap_or(Some("Authoritative"));
        let bare = domain.strip_prefix("*.").unwrap_or(&domain);
        if bare.contains('*') || load::values::domain_name(bare).is_err() {
            cx.note(ACCEPTED_DOMAIN, &format!("accepted domain `{domain}` is not a domain name or a `*.domain` wildcard; left out"));
            continue;
        }
        if seen.contains(&domain) {
            continue;
        }
        seen.push(domain.clone());
        out.push(match kind {
            Some("InternalRelay") => format!("{{domain: {}, type: internal_relay}}", q(&domain)),
            Some("ExternalRelay") => format!("{{domain: {}, type: external_relay}}", q(&domain)),
            _ => q(&domain),
        });
    }
    out
}

fn mailboxes(
    cx: &mut Cx,
    docs: &[Value],
    databases: &[Value],
    servers: &[Server],
) -> Vec<(String, String)> {
    let mut db_server: BTreeMap<String, String> = BTreeMap::new();
    for item in items(MAILBOX_DATABASE, databases) {
        let Some(name) = item.text("Name") else {
            continue;
        };
        // MountedOnServer (with -Status) is where the active copy is; Server is the active
        // copy's server as AD last recorded it.
        if let Some(server) = item.text("MountedOnServer").or_else(|| item.text("Server")) {
            db_server.insert(name.to_lowercase(), server_name(&server));
        }
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for item in items(MAILBOX, docs) {
        let Some(address) = item.required_text(cx, "PrimarySmtpAddress") else {
            continue;
        };
        let Some(db) = item.required_text(cx, "Database") else {
            continue;
        };
        let db = leaf_name(&db);
        let Some(server) = db_server.get(&db.to_lowercase()) else {
            cx.note(
                MAILBOX,
                &format!(
                    "mailbox `{address}`: database `{db}` is not in {MAILBOX_DATABASE}; left out"
                ),
            );
            continue;
        };
        let Some(server) = servers
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(server) && s.roles.contains(&"mailbox"))
        else {
            cx.note(MAILBOX, &format!("mailbox `{address}`: server `{server}` of database `{db}` is not an imported Mailbox server; left out"));
            continue;
        };
        if load::values::address(&address).is_err() {
            cx.note(
                MAILBOX,
                &format!("mailbox `{address}` is not an SMTP address; left out"),
            );
            continue;
        }
        if !out.iter().any(|(a, _)| a.eq_ignore_ascii_case(&address)) {
            out.push((address, server.name.clone()));
        }
    }
    out
}

/// What is read but not modelled at all.
fn notes(cx: &mut Cx, get: &Get<'_>) {
    let receive = get(RECEIVE_CONNECTOR).len();
    if receive > 0 {
        cx.note(RECEIVE_CONNECTOR, &format!("{receive} Receive connectors are not modelled (inbound TLS settings; internal hops are TLS, reference §3.1, §3.5)"));
    }
    let frontend = get(FRONTEND_TRANSPORT_SERVICE).len();
    if frontend > 0 {
        cx.note(FRONTEND_TRANSPORT_SERVICE, &format!("{frontend} Front End Transport services: only their existence is modelled (servers with IsFrontendTransportServer); their settings are not"));
    }
    let dags: Vec<String> = items(DAG, get(DAG))
        .filter_map(|i| i.text("Name"))
        .collect();
    if !dags.is_empty() {
        cx.note(DAG, &format!("DAGs {} are not delivery groups to tlsflow: mailboxes are placed on the server of their database's active copy (reference §1.3)", dags.join(", ")));
    }
    if !get(EDGE_SUBSCRIPTION).is_empty() {
        cx.note(EDGE_SUBSCRIPTION, "settings on the Edge servers themselves (their own transport rules, Receive connectors, EdgeTransport.exe.config) are not in an organisation export and are not modelled",);
    }
    if !get(TRANSPORT_SERVICE).is_empty() {
        cx.note(TRANSPORT_SERVICE, "QueueGlitchRetryCount and QueueGlitchRetryInterval live in EdgeTransport.exe.config, not in any cmdlet: Exchange's defaults (4, 1m) are used",);
    }
}

/// The organisation's name: the CN above `CN=Microsoft Exchange` in any distinguished name.
fn organization(get: &Get<'_>) -> Option<String> {
    for &(file, _) in FILES {
        for item in items(file, get(file)) {
            if let Some(dn) = item.text("DistinguishedName")
                && let Some(head) = dn
                    .split(",CN=Microsoft Exchange,")
                    .next()
                    .filter(|h| h.len() < dn.len())
                && let Some(org) = head
                    .rsplit(",CN=")
                    .next()
                    .filter(|o| !o.is_empty() && !o.contains('='))
            {
                return Some(org.to_owned());
            }
        }
    }
    None
}

/// The behaviour profile from the servers' versions (reference §6, §3.10).
fn profile(servers: &[Server]) -> (&'static str, String) {
    let versions: BTreeSet<(u32, u32)> = servers
        .iter()
        .filter(|s| s.subscribed_site.is_none())
        .filter_map(|s| s.version)
        .collect();
    let seen: Vec<String> = versions
        .iter()
        .map(|&(a, b)| {
            let names: Vec<&str> = servers
                .iter()
                .filter(|s| s.version == Some((a, b)) && s.subscribed_site.is_none())
                .map(|s| s.name.as_str())
                .collect();
            format!("{a}.{b} ({})", names.join(", "))
        })
        .collect();
    let newest = versions.iter().next_back().copied();
    let name = match newest {
        Some((14, _)) => "exchange2010",
        Some((15, 1)) => "exchange2016",
        Some((15, 2)) => "exchange2019",
        _ => "exchange2013",
    };
    let why = if seen.is_empty() {
        "no server version in the export: Exchange 2013 assumed".to_owned()
    } else if versions.len() > 1 {
        format!(
            "versions {}; one profile applies to the whole organisation: the newest's",
            seen.join(", ")
        )
    } else {
        format!("version {}", seen.join(", "))
    };
    (name, why)
}

// ---- rendering ------------------------------------------------------------------------------

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Text safe inside a `#` comment.
fn c(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", ")
    )
}

impl Org {
    fn render(&self, unmapped: &[String]) -> String {
        let mut y = String::new();
        let w = &mut y;
        let _ = writeln!(
            w,
            "# Imported by `tlsflow import exchange` from an Exchange Management Shell export"
        );
        let _ = writeln!(
            w,
            "# (scripts/Export-TlsflowInventory.ps1). Each object names the cmdlet it came from."
        );
        let _ = writeln!(
            w,
            "# Review it, then fill in `external_domains` at the end: no export can say how remote"
        );
        let _ = writeln!(
            w,
            "# MX hosts behave, and the check's answer depends on it."
        );
        let _ = writeln!(w, "#");
        if unmapped.is_empty() {
            let _ = writeln!(
                w,
                "# NOT MAPPED: nothing; every exported setting tlsflow reads was imported."
            );
        } else {
            let _ = writeln!(
                w,
                "# NOT MAPPED ({}): read from the export, but not in this topology, or read by a guess:",
                unmapped.len()
            );
            for u in unmapped {
                let _ = writeln!(w, "#   - {}", c(u));
            }
        }
        let _ = writeln!(w, "#\nformat: 1");
        if let Some(org) = &self.organization {
            let _ = writeln!(
                w,
                "organization: {}   # from the DistinguishedName of the exported objects",
                q(org)
            );
        }
        let _ = writeln!(
            w,
            "profile: {}   # from Get-ExchangeServer AdminDisplayVersion: {} (reference §6, §3.10)",
            self.profile.0,
            c(&self.profile.1)
        );
        let _ = writeln!(
            w,
            "accepted_domains: [{}]   # from Get-AcceptedDomain (DomainName, DomainType)",
            self.accepted.join(", ")
        );
        self.render_sites(w);
        self.render_servers(w);
        self.render_connectors(w);
        self.render_rules(w);
        self.render_config(w);
        let _ = writeln!(
            w,
            "\nmailboxes:   # from Get-Mailbox (a sample) -> Get-MailboxDatabase (the active copy's server)"
        );
        if self.mailboxes.is_empty() {
            let _ = writeln!(w, "  []");
        }
        for (address, server) in &self.mailboxes {
            let _ = writeln!(w, "  - {{address: {}, server: {}}}", q(address), q(server));
        }
        render_external(w);
        y
    }

    fn render_sites(&self, w: &mut String) {
        let _ = writeln!(w, "\nsites:");
        if self.sites.is_empty() {
            let _ = writeln!(w, "  []");
        }
        for s in &self.sites {
            let _ = writeln!(w, "  - name: {}   # from Get-ADSite", q(&s.name));
            if s.hub {
                let _ = writeln!(w, "    hub: true   # HubSiteEnabled (reference §1.6)");
            }
            if !s.inbound_mail_enabled {
                let _ = writeln!(w, "    inbound_mail_enabled: false   # InboundMailEnabled");
            }
        }
        let _ = writeln!(w, "\nsite_links:");
        if self.links.is_empty() {
            let _ = writeln!(w, "  []");
        }
        for l in &self.links {
            let _ = writeln!(w, "  - name: {}   # from Get-AdSiteLink", q(&l.name));
            let _ = writeln!(w, "    sites: {}", list(&l.sites));
            if let Some(cost) = l.cost {
                let _ = writeln!(w, "    cost: {cost}");
            }
            if let Some(cost) = l.exchange_cost {
                let _ = writeln!(
                    w,
                    "    exchange_cost: {cost}   # replaces the AD cost for Exchange routing (reference §1.4)"
                );
            }
        }
    }

    fn render_servers(&self, w: &mut String) {
        let _ = writeln!(w, "\nservers:");
        if self.servers.is_empty() {
            let _ = writeln!(w, "  []");
        }
        for s in &self.servers {
            let from = if s.subscribed_site.is_some() {
                "Get-ExchangeServer, Get-EdgeSubscription"
            } else {
                "Get-ExchangeServer"
            };
            let _ = writeln!(w, "  - name: {}   # from {from}", q(&s.name));
            if let Some(site) = &s.site {
                let _ = writeln!(w, "    site: {}", q(site));
            }
            let _ = writeln!(w, "    roles: [{}]", s.roles.join(", "));
            if let Some((a, b)) = s.version {
                let _ = writeln!(w, "    version: \"{a}.{b}\"");
            }
            if let Some(site) = &s.subscribed_site {
                let _ = writeln!(
                    w,
                    "    subscribed_site: {}   # creates \"EdgeSync - {} to Internet\" (reference §1.11)",
                    q(site),
                    c(site)
                );
            }
        }
    }

    fn render_connectors(&self, w: &mut String) {
        let _ = writeln!(w, "\nsend_connectors:");
        if self.connectors.is_empty() {
            let _ = writeln!(w, "  []");
        }
        for k in &self.connectors {
            let _ = writeln!(w, "  - name: {}   # from Get-SendConnector", q(&k.name));
            let _ = writeln!(w, "    address_spaces: {}", list(&k.address_spaces));
            let _ = writeln!(w, "    source_servers: {}", list(&k.source_servers));
            let _ = writeln!(w, "    scoped: {}   # IsScopedConnector", k.scoped);
            let _ = writeln!(w, "    enabled: {}", k.enabled);
            let _ = writeln!(
                w,
                "    frontend_proxy: {}   # FrontendProxyEnabled",
                k.frontend_proxy
            );
            let _ = writeln!(
                w,
                "    dns_routing: {}   # DNSRoutingEnabled",
                k.dns_routing
            );
            if !k.smart_hosts.is_empty() {
                let _ = writeln!(w, "    smart_hosts: {}", list(&k.smart_hosts));
            }
            let _ = writeln!(w, "    require_tls: {}   # RequireTLS", k.require_tls);
            if let Some(level) = k.tls_auth_level {
                let _ = writeln!(w, "    tls_auth_level: {level}");
            }
            if let Some(domain) = &k.tls_domain {
                let _ = writeln!(w, "    tls_domain: {}", q(domain));
            }
            if k.ignore_starttls {
                let _ = writeln!(w, "    ignore_starttls: true   # IgnoreSTARTTLS");
            }
            let _ = writeln!(
                w,
                "    domain_secure: {}   # DomainSecureEnabled",
                k.domain_secure
            );
            if let Some(size) = &k.max_message_size {
                let _ = writeln!(w, "    max_message_size: {}", q(size));
            }
        }
    }

    fn render_rules(&self, w: &mut String) {
        let _ = writeln!(
            w,
            "\ntransport_rules:   # only rules with RouteMessageOutboundRequireTls $true (reference §3.6)"
        );
        if self.rules.is_empty() {
            let _ = writeln!(w, "  []");
        }
        for r in &self.rules {
            let _ = writeln!(w, "  - name: {}   # from Get-TransportRule", q(&r.name));
            if let Some(p) = r.priority {
                let _ = writeln!(w, "    priority: {p}");
            }
            let _ = writeln!(w, "    mode: {}", if r.audit { "audit" } else { "enforce" });
            for (key, p) in [("conditions", &r.conditions), ("exceptions", &r.exceptions)] {
                if p.is_empty() {
                    continue;
                }
                let _ = writeln!(w, "    {key}:");
                if !p.words.is_empty() {
                    let _ = writeln!(w, "      subject_or_body_contains: {}", list(&p.words));
                }
                if let Some(scope) = p.scope {
                    let _ = writeln!(w, "      sent_to_scope: {scope}");
                }
                if !p.domains.is_empty() {
                    let _ = writeln!(w, "      recipient_domain_is: {}", list(&p.domains));
                }
            }
            let _ = writeln!(
                w,
                "    actions:\n      require_tls: true   # RouteMessageOutboundRequireTls $true"
            );
        }
    }

    fn render_config(&self, w: &mut String) {
        let from = self
            .config
            .timeouts_from
            .as_ref()
            .map_or(String::new(), |s| format!(", Get-TransportService ({s})"));
        let _ = writeln!(
            w,
            "\ntransport_config:   # from Get-TransportConfig{from}; omitted keys take Exchange's defaults (reference §4.3)"
        );
        let _ = writeln!(
            w,
            "  tls_send_domain_secure_list: {}",
            list(&self.config.send_secure)
        );
        let _ = writeln!(
            w,
            "  tls_receive_domain_secure_list: {}",
            list(&self.config.receive_secure)
        );
        for (key, value, property) in &self.config.timeouts {
            // Counts are numbers in YAML; durations are text.
            let value = if value.parse::<u64>().is_ok() {
                value.clone()
            } else {
                q(value)
            };
            let _ = writeln!(w, "  {key}: {value}   # {property}");
        }
    }
}

fn render_external(w: &mut String) {
    let text = r#"
# ---- TEMPLATE: THE OUTSIDE WORLD -- FILL THIS IN ---------------------------------------------
# No Exchange export says how remote MX hosts behave; the entries below are placeholders.
# Describe the domains your TLS rules care about (partners, regulators), each with its MX
# hosts: `starttls: offered | not_offered | handshake_fails`, and the certificate they present.
# "*" stands for every domain not listed.
#
# `cleartext.example` is a WORST-CASE PLACEHOLDER: a domain whose MX offers no STARTTLS, so that
# `tlsflow check` shows every site whose rule-required mail would leave in clear text (TLS001).
# Replace it with real domains, or delete it.
#
# Example of a partner whose MX validates:
#   - domain: partner.example
#     mx:
#       - host: mail.partner.example
#         preference: 10
#         starttls: offered
#         certificate: {subject: mail.partner.example, san: [mail.partner.example], trusted: true,
#                       not_before: 2025-01-01, not_after: 2027-01-01}
external_domains:
  - domain: cleartext.example   # TEMPLATE placeholder: no STARTTLS
    mx:
      - {host: mx.cleartext.example, preference: 10, starttls: not_offered}
  - domain: "*"                 # TEMPLATE: every other domain offers STARTTLS, trusted certificate
    mx:
      - host: mx.internet.example
        preference: 10
        starttls: offered
        certificate:
          subject: mx.internet.example
          san: [mx.internet.example]
          trusted: true
          not_before: 2000-01-01
          not_after: 2099-12-31
"#;
    w.push_str(text);
}
