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

mod manifest;

pub use manifest::MANIFEST;
use manifest::{Manifest, Status};

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

/// Cmdlets whose failure leaves the model unchanged: what they export is read only for notes
/// (Receive connectors, Front End Transport settings) or feeds only `simulate`'s timers
/// (Get-TransportService; Exchange's defaults are used without it). Any other failed cmdlet
/// refuses the import: its absence would change which server runs the rules or how mail leaves.
const MAY_FAIL: &[&str] = &[
    RECEIVE_CONNECTOR,
    FRONTEND_TRANSPORT_SERVICE,
    TRANSPORT_SERVICE,
];

/// Every file an export folder may hold: [`FILES`] and [`MANIFEST`].
pub fn export_files() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|&(n, _)| n).chain([MANIFEST])
}

/// The export file a directory entry is, by its name (matched case-insensitively).
pub fn export_file(name: &str) -> Option<&'static str> {
    export_files().find(|n| n.eq_ignore_ascii_case(name))
}

/// The largest export file read: `Get-Mailbox.json` of 100,000 mailboxes (the script's maximum)
/// is ~10 MB compact, ~25 MB as Windows PowerShell 5.1 indents it.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Nesting deeper than this in an export is refused (ConvertTo-Json -Depth 5 writes at most 6).
const MAX_DEPTH: usize = 32;

/// The result of an import: the topology YAML, and everything that could not be mapped (also
/// written as a comment block in the YAML).
#[derive(Clone, Debug)]
pub struct Imported {
    pub yaml: String,
    /// What makes the import incomplete or its answer doubtful (no manifest, an empty required
    /// file, no Send connector, no rule with the TLS action, a lost value): printed first, and
    /// at the top of the YAML.
    pub warnings: Vec<String>,
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
        warnings: Vec::new(),
        unmapped: Vec::new(),
    };
    let manifest = cx.manifest(files.get(MANIFEST).map(Vec::as_slice));
    let mut docs: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for &(name, required) in FILES {
        let entry = manifest.as_ref().and_then(|m| m.entry(name));
        if let Some(entry) = entry
            && entry.status == Status::Failed
        {
            let error = entry.error.as_deref().unwrap_or("no error text recorded");
            if MAY_FAIL.contains(&name) {
                cx.warn(&format!(
                    "{name}: `{}` failed during the export ({error}); imported without it",
                    entry.command
                ));
            } else {
                cx.errors.push(format!(
                    "{}: `{}` failed during the export: {error}. Without it tlsflow would model another organisation (a failed cmdlet is not an empty one): fix the cause (rights: View-Only Organization Management; the shell: the Exchange Management Shell) and export again",
                    cx.file(name),
                    entry.command
                ));
                continue;
            }
        }
        match files.get(name) {
            Some(bytes) => {
                if let Some(items) = cx.parse(name, bytes) {
                    if let Some(entry) = entry
                        && entry.status == Status::Ok
                        && let Some(count) = entry.count
                        && count != items.len() as u64
                    {
                        cx.errors.push(format!(
                            "{}: holds {} objects, but manifest.json says `{}` returned {count}: the file was cut short or edited; export again",
                            cx.file(name),
                            items.len(),
                            entry.command
                        ));
                    }
                    if manifest.is_none() && required && items.is_empty() {
                        cx.warn(&format!(
                            "{name}: empty, and with no manifest.json tlsflow cannot tell whether the organisation has none or the cmdlet failed"
                        ));
                    }
                    docs.insert(name, items);
                }
            }
            None if entry.is_some_and(|e| e.status == Status::Ok) => cx.errors.push(format!(
                "{}: missing, although manifest.json says `{}` wrote it: copy the whole export folder",
                cx.file(name),
                entry.map_or(name, |e| e.command.as_str())
            )),
            None if required => cx.errors.push(format!(
                "{}: missing: the export has no {name} (run scripts/Export-TlsflowInventory.ps1 again, or write `[]` into the file if the organisation has none)",
                cx.file(name)
            )),
            None => {}
        }
    }
    if !cx.errors.is_empty() {
        return Err(shown(cx.errors));
    }
    let get = |name: &str| docs.get(name).map_or(&[][..], Vec::as_slice);
    let org = Org::build(&mut cx, &get);
    if !cx.errors.is_empty() {
        return Err(shown(cx.errors));
    }
    org.warn_when_there_is_nothing_to_check(&mut cx);
    let yaml = org.render(&cx.warnings, &cx.unmapped, manifest.as_ref());
    if yaml.len() as u64 > load::MAX_INPUT_BYTES {
        return Err(vec![format!(
            "{}: the topology would be {} bytes ({} mailboxes), over the {} bytes (8 MiB) tlsflow reads: export fewer mailboxes (Export-TlsflowInventory.ps1 -MailboxSample; every database keeps at least one, so every server stays represented)",
            cx.dir,
            yaml.len(),
            org.mailboxes.len(),
            load::MAX_INPUT_BYTES
        )]);
    }
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
        "imported: sites {}, site links {}, servers {}, DAGs {}, send connectors {}, transport rules with the TLS action {}, mailboxes {}; warnings {}, not mapped {}",
        org.sites.len(),
        org.links.len(),
        org.servers.len(),
        org.dags.len(),
        org.connectors.len(),
        org.rules.len(),
        org.mailboxes.len(),
        cx.warnings.len(),
        cx.unmapped.len()
    );
    Ok(Imported {
        yaml,
        warnings: shown(cx.warnings),
        unmapped: shown(cx.unmapped),
        summary,
    })
}

/// Messages as a terminal may show them: each quotes values from the export, and a value with
/// an escape sequence or a newline would drive the terminal or forge a line; those characters
/// are written as escapes (issue 15).
fn shown(messages: Vec<String>) -> Vec<String> {
    messages
        .into_iter()
        .map(|m| crate::model::printable(&m).into_owned())
        .collect()
}

/// The collecting context: errors (the import fails) and unmapped items (it goes on).
struct Cx {
    dir: String,
    errors: Vec<String>,
    warnings: Vec<String>,
    unmapped: Vec<String>,
}

impl Cx {
    /// Messages as a terminal may show them: each quotes values from the export, and a value
    /// with an escape sequence or a newline would drive the terminal or forge a line; those
    /// characters are written as escapes (issue 15).
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

    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_owned());
    }

    /// A size a raw `ConvertTo-Json` export lost: said, and left to Exchange's default.
    fn lost_size(&mut self, file: &str, what: &str) {
        self.warn(&format!(
            "{file}: {what}: MaxMessageSize is lost — this file is a raw ConvertTo-Json export, which writes Exchange's sizes as `{{}}`; written without max_message_size (Exchange's default applies): run scripts/Export-TlsflowInventory.ps1 to keep the sizes"
        ));
    }

    /// Reads `manifest.json`; without one, says what cannot be known.
    fn manifest(&mut self, bytes: Option<&[u8]>) -> Option<Manifest> {
        let file = self.file(MANIFEST);
        let Some(bytes) = bytes else {
            self.warn(&format!(
                "{MANIFEST}: missing: this export was not written by scripts/Export-TlsflowInventory.ps1 (or by a version before the manifest); a cmdlet that failed cannot be told from one that returned nothing"
            ));
            return None;
        };
        let text = match decode(bytes) {
            Ok((text, _)) => text,
            Err(reason) => {
                self.errors.push(format!("{file}: {reason}"));
                return None;
            }
        };
        match Manifest::parse(&text) {
            Ok(m) if !m.complete => {
                self.errors.push(format!(
                    "{file}: the export script did not finish (`complete` is not true): the folder holds a partial export; run the script again"
                ));
                None
            }
            Ok(m) => Some(m),
            Err(reason) => {
                self.errors.push(format!("{file}: {reason}"));
                None
            }
        }
    }

    /// Decodes (UTF-8 with or without BOM, or the UTF-16 Windows PowerShell's `Out-File`
    /// writes) and parses one file into its items: an array, or one object for one item, or
    /// nothing (an empty file: the cmdlet returned nothing).
    fn parse(&mut self, name: &str, bytes: &[u8]) -> Option<Vec<Value>> {
        let text = match decode(bytes) {
            Ok((text, None)) => text,
            Ok((text, Some(note))) => {
                self.warn(&format!("{name}: {note}"));
                text
            }
            Err(reason) => {
                let file = self.file(name);
                self.errors.push(format!("{file}: {reason}"));
                return None;
            }
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

/// The text of a file, as Windows writes them: UTF-8 with or without a byte-order mark (the
/// export script; PowerShell 7), UTF-16 LE or BE with one (Windows PowerShell 5.1's `Out-File`
/// and `>`, `-Encoding BigEndianUnicode`), or, for bytes that are not UTF-8, the ANSI code page
/// (`Set-Content` and `Out-File -Encoding Default` in Windows PowerShell 5.1), read as
/// Windows-1252 with a note naming the first character it decoded that way. `Err` says why the
/// bytes are not text.
fn decode(bytes: &[u8]) -> Result<(String, Option<String>), String> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom..])
            .map(|text| (text.into_owned(), None))
            .ok_or_else(|| {
                format!(
                    "starts with the byte-order mark of {} but is not valid {}: the file is damaged; export again",
                    encoding.name(),
                    encoding.name()
                )
            });
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        // UTF-16 without a byte-order mark puts a zero beside every ASCII character.
        let hint = if bytes.len().is_multiple_of(2)
            && bytes.iter().skip(at % 2).step_by(2).all(|&b| b == 0)
        {
            "UTF-16 without a byte-order mark? "
        } else {
            ""
        };
        return Err(format!(
            "not text: byte {at} is 0x00. {hint}An export file is JSON text: UTF-8 (what the export script writes), UTF-16 with a byte-order mark, or the ANSI code page"
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((text.to_owned(), None)),
        Err(e) => {
            let at = e.valid_up_to();
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            let line = bytes[..at].split(|&b| b == b'\n').count();
            let (first, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&bytes[at..=at]);
            Ok((
                text.into_owned(),
                Some(format!(
                    "not UTF-8 (byte {at}, line {line}): read as Windows-1252, the ANSI code page Windows PowerShell 5.1's Set-Content writes on Western-European systems (`{first}` on line {line}); on a system with another code page names with accents may be misread: re-export with scripts/Export-TlsflowInventory.ps1, which writes UTF-8"
                )),
            ))
        }
    }
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

/// The text of a value: a string, a number, or an Exchange object as a raw `ConvertTo-Json`
/// writes it, read by the property that carries its text (issue 14):
///
/// - `IPAddress` (`AddressFamily`, `IPAddressToString`, `Address` as a little-endian integer):
///   the dotted address;
/// - `SmartHost` (`IsIPAddress`, `Address`, `Domain`): `[a.b.c.d]` or the host name;
/// - `SmtpAddress` (`Local`, `Domain`, `Address`): `Address`, never its domain;
/// - `SmtpDomainWithSubdomains` (`IncludeSubDomains`): `*.domain` when it includes them;
/// - `SmtpDomain` (`Domain`), `Hostname` (`HostnameString`), ADObjectId (`Name`).
fn text(v: &Value) -> Option<String> {
    let mut v = v;
    for _ in 0..4 {
        match v {
            Value::String(s) => return Some(s.trim().to_owned()),
            Value::Number(n) => return Some(n.to_string()),
            Value::Bool(b) => return Some(b.to_string()),
            Value::Object(_) => {
                if let Some(ip) = ip_address(v) {
                    return Some(ip);
                }
                if let Some(is_ip) = prop(v, "IsIPAddress").and_then(Value::as_bool) {
                    return if is_ip {
                        prop(v, "Address")
                            .and_then(ip_address)
                            .map(|ip| format!("[{ip}]"))
                    } else {
                        prop(v, "Domain")
                            .or_else(|| prop(v, "Hostname"))
                            .and_then(text)
                    };
                }
                if let Some(subdomains) = prop(v, "IncludeSubDomains").and_then(Value::as_bool) {
                    let address = prop(v, "Address").and_then(text);
                    let domain = prop(v, "Domain").and_then(text);
                    return match (address, domain) {
                        (Some(a), _) => Some(a),
                        (None, Some(d)) if subdomains && !d.starts_with("*.") => {
                            Some(format!("*.{d}"))
                        }
                        (None, d) => d,
                    };
                }
                v = [
                    "Name",
                    "Address",
                    "Domain",
                    "HostnameString",
                    "DistinguishedName",
                    "Value",
                ]
                .iter()
                .find_map(|k| prop(v, k))?;
            }
            Value::Null | Value::Array(_) => return None,
        }
    }
    None
}

/// A `System.Net.IPAddress` as `ConvertTo-Json` writes it: `IPAddressToString` (PowerShell's
/// type data adds it), else IPv4's deprecated `Address`, the four bytes little-endian
/// (`420128960` is `10.10.10.25`).
fn ip_address(v: &Value) -> Option<String> {
    prop(v, "AddressFamily")?;
    if let Some(t) = prop(v, "IPAddressToString").and_then(Value::as_str) {
        return t
            .trim()
            .parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| ip.to_string());
    }
    let n = u32::try_from(prop(v, "Address")?.as_u64()?).ok()?;
    Some(std::net::Ipv4Addr::from(n.to_le_bytes()).to_string())
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

    /// An enum written by name (case-insensitive), or by its number where Exchange's numbering
    /// is known ([`Numbering::Known`]); a number of an enum whose numbering tlsflow cannot
    /// confirm is refused by name rather than guessed.
    fn enumerated<T: Copy>(
        &self,
        cx: &mut Cx,
        key: &str,
        what: &str,
        table: &[(&str, i64, T)],
        numbering: Numbering,
    ) -> Option<T> {
        let v = prop(self.value, key)?;
        let found = match v {
            Value::String(s) if s.trim().is_empty() => return None,
            Value::String(s) => table
                .iter()
                .find(|(name, _, _)| name.eq_ignore_ascii_case(s.trim())),
            Value::Number(n) if numbering == Numbering::Unconfirmed => {
                let names: Vec<&str> = table.iter().map(|(name, _, _)| *name).collect();
                cx.error(
                    self.file,
                    &self.path(key),
                    &format!(
                        "{what} {n} is a number, and Exchange's numbering of {what} is confirmed by no source tlsflow has: rather than guess among {}, tlsflow refuses it. A remote PowerShell session writes enums as numbers; scripts/Export-TlsflowInventory.ps1 writes their names: export with it",
                        names.join(", ")
                    ),
                );
                return None;
            }
            Value::Number(n) => table.iter().find(|(_, num, _)| Some(*num) == n.as_i64()),
            _ => None,
        };
        if found.is_none() {
            let names: Vec<String> = table
                .iter()
                .map(|(name, num, _)| match numbering {
                    Numbering::Known => format!("{name} ({num})"),
                    Numbering::Unconfirmed => (*name).to_owned(),
                })
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

/// Whether Exchange's numbers of an enum are known (a deserialized export writes numbers).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Numbering {
    /// Confirmed by captured cmdlet output (the source is on each table).
    Known,
    /// Not confirmed: a number is refused, never guessed.
    Unconfirmed,
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
    max_message_size: Option<String>,
}

struct Server {
    name: String,
    site: Option<String>,
    roles: Vec<&'static str>,
    version: Option<(u32, u32)>,
    subscribed_site: Option<String>,
    /// Edge only: whether the subscription created "EdgeSync - SITE to Internet" (reference
    /// §1.11): false when the export has no such connector.
    create_internet_send_connector: bool,
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
    guid: Option<String>,
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
    dags: Vec<Dag>,
    connectors: Vec<Connector>,
    rules: Vec<Rule>,
    config: Config,
    mailboxes: Vec<(String, String)>,
}

/// A database availability group: its name and its imported member servers.
struct Dag {
    name: String,
    members: Vec<String>,
}

// Enum tables: (name as the cmdlets print it, numeric value, tlsflow's value). The export script
// writes names; a remote PowerShell session hands enums over as numbers, which a hand-run
// `ConvertTo-Json` (or an older script) writes. Each table says where its numbering comes from;
// a table whose numbering is not confirmed refuses numbers ([`Numbering::Unconfirmed`]).

/// TlsAuthLevel (a flags enum: there is no 3). Known: CertificateValidation = 2 in captured
/// Get-SendConnector output (microsoft/CSS-Exchange, Diagnostics/HealthChecker/DataCollection/
/// ExchangeInformation/Tests/DataCollection/GetSendConnectorConfiguredToRelayToM365.xml), the
/// others from the deserialized exports of issue 14.
const TLS_AUTH_LEVELS: &[(&str, i64, &str)] = &[
    ("EncryptionOnly", 1, "encryption_only"),
    ("CertificateValidation", 2, "certificate_validation"),
    ("DomainValidation", 4, "domain_validation"),
];

/// RuleMode: AuditAndNotify applies no action either, so it is audit to tlsflow. Known from the
/// deserialized exports of issue 14: Audit = 1, AuditAndNotify = 2, Enforce = 3.
const RULE_MODES: &[(&str, i64, bool)] = &[
    ("Audit", 1, true),
    ("AuditAndNotify", 2, true),
    ("Enforce", 3, false),
];

/// SentToScope (ToUserScope). The partner scopes are not modelled (`None`). The numbers are
/// the declaration order, confirmed by no capture: numbers are refused.
const SCOPES: &[(&str, i64, Option<&str>)] = &[
    ("InOrganization", 0, Some("in_organization")),
    ("NotInOrganization", 1, Some("not_in_organization")),
    ("ExternalPartner", 2, None),
    ("ExternalNonPartner", 3, None),
];

/// AcceptedDomainType. Known: Authoritative = 0, ExternalRelay = 1, InternalRelay = 2 in captured
/// Get-AcceptedDomain output (microsoft/CSS-Exchange, Diagnostics/HealthChecker/Tests/
/// DataCollection/E16/Exchange/GetAcceptedDomain.xml and E19/.../GetAcceptedDomain_Bad.xml).
const DOMAIN_TYPES: &[(&str, i64, Option<&str>)] = &[
    ("Authoritative", 0, Some("Authoritative")),
    ("ExternalRelay", 1, Some("ExternalRelay")),
    ("InternalRelay", 2, Some("InternalRelay")),
];

/// RuleState. Known from the deserialized exports of issue 14: Enabled = 0, Disabled = 1.
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
        let mut servers = servers;
        let connectors = connectors(cx, get(SEND_CONNECTOR), &mut servers);
        let dags = dags(cx, get(DAG), &servers);
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
            dags,
            connectors,
            rules,
            config,
            mailboxes,
        }
    }

    /// An organisation with no way out, or no rule to check, has nothing for `check` to prove:
    /// said at import, where a failed export would otherwise pass unseen.
    fn warn_when_there_is_nothing_to_check(&self, cx: &mut Cx) {
        if self.connectors.is_empty()
            && !self
                .servers
                .iter()
                .any(|s| s.subscribed_site.is_some() && s.create_internet_send_connector)
        {
            cx.warn("no Send connector was imported and no Edge subscription creates one: in this topology no mail leaves the organisation, so `check` can find no exposure — that proves nothing about the real organisation; check Get-SendConnector.json");
        }
        if self.rules.is_empty() {
            cx.warn("no enabled transport rule has the action RouteMessageOutboundRequireTls: no message is required to leave over TLS, so `check` has nothing to prove; check Get-TransportRule.json");
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
        // Get-AdSiteLink's `Cost` is computed: ExchangeCost when set, else ADCost. The AD cost
        // is `ADCost`; `Cost` stands for it only in an export without ExchangeCost.
        let exchange_cost = item.int(cx, "ExchangeCost").filter(|&c| c > 0);
        let cost = match (item.int(cx, "ADCost"), exchange_cost) {
            (Some(ad), _) => Some(ad),
            (None, None) => item.int(cx, "Cost"),
            (None, Some(_)) => {
                cx.note(AD_SITE_LINK, &format!("site link `{name}`: no ADCost in the export (its `Cost` is the ExchangeCost); the AD cost is left at its default"));
                None
            }
        };
        let max_message_size = match prop(item.value, "MaxMessageSize").map(size) {
            Some(Ok(s)) if s == "unlimited" => None,
            Some(Ok(s)) => Some(s),
            Some(Err(Unreadable::Lost)) => {
                cx.lost_size(AD_SITE_LINK, &format!("site link `{name}`"));
                None
            }
            Some(Err(Unreadable::Bad(e))) => {
                cx.error(AD_SITE_LINK, &item.path("MaxMessageSize"), &e);
                None
            }
            None => None,
        };
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
            max_message_size,
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
                create_internet_send_connector: true,
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
            create_internet_send_connector: true,
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
            create_internet_send_connector: true,
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

/// Why a size could not be read.
enum Unreadable {
    /// A raw `ConvertTo-Json` of an Exchange object: `Unlimited<ByteQuantifiedSize>` becomes
    /// `{"IsUnlimited": false, "Value": {}}`, the size itself is gone.
    Lost,
    /// Anything else that is not a size.
    Bad(String),
}

/// `35 MB (36,700,160 bytes)` -> `36700160`; `Unlimited` -> `unlimited`; the objects a raw
/// `ConvertTo-Json` writes: `{"IsUnlimited": true}`, `{"IsUnlimited": false, "Value": ...}`
/// with the size as text or as `ToBytes`/`Bytes`, or with nothing left of it ([`Unreadable::Lost`]).
fn size(v: &Value) -> Result<String, Unreadable> {
    if let Some(unlimited) = prop(v, "IsUnlimited").and_then(Value::as_bool) {
        if unlimited {
            return Ok("unlimited".to_owned());
        }
        return match prop(v, "Value") {
            Some(Value::Object(map))
                if !map.keys().any(|k| {
                    ["ToBytes", "Bytes", "Value"]
                        .iter()
                        .any(|w| w.eq_ignore_ascii_case(k))
                }) =>
            {
                Err(Unreadable::Lost)
            }
            Some(inner) => size(inner),
            None => Err(Unreadable::Lost),
        };
    }
    if let Some(bytes) = prop(v, "ToBytes").or_else(|| prop(v, "Bytes")) {
        return size(bytes);
    }
    let t = text(v).ok_or_else(|| {
        Unreadable::Bad(format!(
            "expected a size such as \"35 MB (36,700,160 bytes)\", found {}",
            show(v)
        ))
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
        Err(e) => Err(Unreadable::Bad(e)),
    }
}

fn connectors(cx: &mut Cx, docs: &[Value], servers: &mut [Server]) -> Vec<Connector> {
    let mut out: Vec<Connector> = Vec::new();
    let mut edge_sync = BTreeSet::new();
    for item in items(SEND_CONNECTOR, docs) {
        let find = |name: &str| servers.iter().find(|s| s.name.eq_ignore_ascii_case(name));
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
        if name.starts_with("EdgeSync - Inbound to ") {
            cx.note(
                SEND_CONNECTOR,
                &format!("connector `{name}`: the Edge's inbound connector (Edge to Mailbox servers, address space `--`); inbound mail is not modelled"),
            );
            continue;
        }
        if name.starts_with("EdgeSync - ") {
            edge_sync.insert(name.to_lowercase());
            cx.note(
                SEND_CONNECTOR,
                &format!("connector `{name}`: created by an Edge subscription; tlsflow models it from `subscribed_site` with Exchange's defaults (SMTP:*;100, Domain Secure on; docs/evidence.md#edge-transport), so its own settings (RequireTLS, TlsAuthLevel, Enabled, MaxMessageSize) are not imported"),
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
                Some(server) if server.roles.contains(&"mailbox") || server.subscribed_site.is_some() => source_servers.push(server.name.clone()),
                _ => cx.note(SEND_CONNECTOR, &format!("connector `{name}`: source server `{s}` is not an imported Mailbox server or subscribed Edge server; left out")),
            }
        }
        if spaces.is_empty() || source_servers.is_empty() {
            cx.note(SEND_CONNECTOR, &format!("connector `{name}` has no SMTP address space or no imported source server; not imported"));
            continue;
        }
        let require_tls = item.bool(cx, "RequireTLS").unwrap_or(false);
        let level = item.enumerated(
            cx,
            "TlsAuthLevel",
            "TlsAuthLevel",
            TLS_AUTH_LEVELS,
            Numbering::Known,
        );
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
            Some(Err(Unreadable::Lost)) => {
                cx.lost_size(SEND_CONNECTOR, &format!("connector `{name}`"));
                None
            }
            Some(Err(Unreadable::Bad(e))) => {
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
    // New-EdgeSubscription -CreateInternetSendConnector $false leaves no "EdgeSync - SITE to
    // Internet" connector in AD: an Edge whose site has none in the export created none.
    for edge in servers.iter_mut().filter(|s| s.subscribed_site.is_some()) {
        let site = edge.subscribed_site.clone().unwrap_or_default();
        if !edge_sync.contains(&format!("edgesync - {} to internet", site.to_lowercase())) {
            cx.note(
                SEND_CONNECTOR,
                &format!("Edge server `{}`: no `EdgeSync - {site} to Internet` connector in the export, so its subscription was made with -CreateInternetSendConnector $false (imported as create_internet_send_connector: false; docs/evidence.md#edge-transport)", edge.name),
            );
            edge.create_internet_send_connector = false;
        }
    }
    out
}

/// Get-DatabaseAvailabilityGroup: each DAG with its members (`Servers`) that were imported as
/// Mailbox servers; a DAG is one delivery group (reference §1.3).
fn dags(cx: &mut Cx, docs: &[Value], servers: &[Server]) -> Vec<Dag> {
    let mut out: Vec<Dag> = Vec::new();
    for item in items(DAG, docs) {
        let Some(name) = item.required_text(cx, "Name") else {
            continue;
        };
        let mut members = Vec::new();
        for member in item.texts("Servers").iter().map(|s| server_name(s)) {
            match servers
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(&member) && s.roles.contains(&"mailbox"))
            {
                Some(server) if !members.contains(&server.name) => members.push(server.name.clone()),
                Some(_) => {}
                None => cx.note(DAG, &format!("DAG `{name}`: member `{member}` is not an imported Mailbox server; left out")),
            }
        }
        if members.is_empty() {
            cx.note(
                DAG,
                &format!("DAG `{name}` has no imported member server; not imported"),
            );
            continue;
        }
        if out.iter().any(|d| d.name.eq_ignore_ascii_case(&name)) {
            cx.error(
                DAG,
                &item.path("Name"),
                &format!("DAG `{name}` appears twice"),
            );
            continue;
        }
        out.push(Dag { name, members });
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
    let scope = item.enumerated(
        cx,
        &key("SentToScope"),
        "SentToScope",
        SCOPES,
        Numbering::Unconfirmed,
    );
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
        Some(s) if s.eq_ignore_ascii_case("InOrganization") => cx.note(
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
    let mut out: Vec<Rule> = Vec::new();
    let mut ignored = Vec::new();
    // Enabled rules with StopRuleProcessing: (name, priority).
    let mut stoppers: Vec<(String, Option<i64>)> = Vec::new();
    for item in items(TRANSPORT_RULE, docs) {
        let Some(name) = item.required_text(cx, "Name") else {
            continue;
        };
        let tls = item
            .bool(cx, "RouteMessageOutboundRequireTls")
            .unwrap_or(false);
        let enabled = item
            .enumerated(cx, "State", "rule State", RULE_STATES, Numbering::Known)
            .unwrap_or(true);
        let audit = item
            .enumerated(cx, "Mode", "rule Mode", RULE_MODES, Numbering::Known)
            .unwrap_or(false);
        let priority = item.int(cx, "Priority");
        if enabled && item.bool(cx, "StopRuleProcessing").unwrap_or(false) {
            stoppers.push((name.clone(), priority));
        }
        if !tls {
            ignored.push(name);
            continue;
        }
        if !enabled {
            cx.note(TRANSPORT_RULE, &format!("rule `{name}` has the TLS action but is disabled (State Disabled); not imported"));
            continue;
        }
        for (key, what) in [("ActivationDate", "from"), ("ExpiryDate", "until")] {
            if let Some(date) = item.text(key) {
                cx.note(TRANSPORT_RULE, &format!("rule `{name}`: {key} {date}: Exchange applies it only {what} then; imported as always active"));
            }
        }
        let conditions = predicates(cx, &item, &name, "");
        let exceptions = predicates(cx, &item, &name, "ExceptIf");
        out.push(Rule {
            name,
            guid: item.text("Guid").filter(|g| !g.is_empty()),
            priority,
            audit,
            conditions,
            exceptions,
        });
    }
    for (stopper, priority) in &stoppers {
        let after: Vec<String> = out
            .iter()
            .filter(|r| {
                r.name != *stopper && matches!((priority, r.priority), (Some(p), Some(q)) if q > *p)
            })
            .map(|r| format!("`{}`", r.name))
            .collect();
        if !after.is_empty() {
            cx.note(TRANSPORT_RULE, &format!("rule `{stopper}` has StopRuleProcessing: a message it matches is not evaluated by the rules after it, among them {} (with the TLS action); not modelled: tlsflow evaluates them anyway", after.join(", ")));
        }
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
            return Ok((timespan_text(ms), ms));
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

/// Milliseconds as Exchange prints a timespan (`2.00:00:00`, `00:05:00`), so a raw export's
/// TimeSpan object reads the same as the export script's text; `1500ms` below a whole second.
fn timespan_text(ms: u64) -> String {
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}.{hours:02}:{minutes:02}:{seconds:02}")
    } else {
        format!("{hours:02}:{minutes:02}:{seconds:02}")
    }
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
            .enumerated(
                cx,
                "DomainType",
                "DomainType",
                DOMAIN_TYPES,
                Numbering::Known,
            )
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
    // Mailbox servers by lowercase name; addresses already imported, lowercase (a set: an
    // export holds up to 100,000 mailboxes).
    let mailbox_servers: BTreeMap<String, &str> = servers
        .iter()
        .filter(|s| s.roles.contains(&"mailbox"))
        .map(|s| (s.name.to_lowercase(), s.name.as_str()))
        .collect();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
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
        let Some(&server) = mailbox_servers.get(&server.to_lowercase()) else {
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
        if seen.insert(address.to_lowercase()) {
            out.push((address, server.to_owned()));
        }
    }
    out
}

/// What is read but not modelled at all.
fn notes(cx: &mut Cx, get: &Get<'_>) {
    let receive = get(RECEIVE_CONNECTOR).len();
    if receive > 0 {
        cx.note(RECEIVE_CONNECTOR, &format!("{receive} Receive connectors are not modelled (inbound TLS settings; internal hops are TLS, docs/evidence.md#opportunistic-tls, #receive-connectors)"));
    }
    let frontend = get(FRONTEND_TRANSPORT_SERVICE).len();
    if frontend > 0 {
        cx.note(FRONTEND_TRANSPORT_SERVICE, &format!("{frontend} Front End Transport services: only their existence is modelled (servers with IsFrontendTransportServer); their settings are not"));
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
/// `s` fit for one YAML comment line: control characters (a newline would end the comment and
/// inject YAML) and bidirectional overrides written as escapes.
fn c(s: &str) -> String {
    crate::model::printable(s).into_owned()
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", ")
    )
}

impl Org {
    fn render(
        &self,
        warnings: &[String],
        unmapped: &[String],
        manifest: Option<&Manifest>,
    ) -> String {
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
        match manifest {
            Some(m) if m.provenance.is_empty() => {
                let _ = writeln!(
                    w,
                    "# EXPORT: manifest.json: every cmdlet the model needs succeeded."
                );
            }
            Some(m) => {
                let _ = writeln!(
                    w,
                    "# EXPORT: manifest.json ({}): every cmdlet the model needs succeeded.",
                    c(&m.provenance)
                );
            }
            None => {
                let _ = writeln!(
                    w,
                    "# EXPORT: no manifest.json: whether every cmdlet succeeded is unknown."
                );
            }
        }
        let _ = writeln!(w, "#");
        if !warnings.is_empty() {
            let _ = writeln!(
                w,
                "# WARNINGS ({}): read these before trusting a `check` of this topology:",
                warnings.len()
            );
            for warning in warnings {
                let _ = writeln!(w, "#   - {}", c(warning));
            }
            let _ = writeln!(w, "#");
        }
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
            "profile: {}   # from Get-ExchangeServer AdminDisplayVersion: {} (docs/evidence.md#versions, #later-versions)",
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
        self.render_dags(w);
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
        self.render_external(w);
        y
    }

    fn render_dags(&self, w: &mut String) {
        if self.dags.is_empty() {
            return;
        }
        let _ = writeln!(
            w,
            "\ndatabase_availability_groups:   # from Get-DatabaseAvailabilityGroup (Servers); each is one delivery group (docs/evidence.md#delivery-groups)"
        );
        for d in &self.dags {
            let _ = writeln!(w, "  - name: {}", q(&d.name));
            let _ = writeln!(w, "    members: {}", list(&d.members));
        }
    }

    fn render_sites(&self, w: &mut String) {
        let _ = writeln!(w, "\nsites:");
        if self.sites.is_empty() {
            let _ = writeln!(w, "  []");
        }
        for s in &self.sites {
            let _ = writeln!(w, "  - name: {}   # from Get-ADSite", q(&s.name));
            if s.hub {
                let _ = writeln!(
                    w,
                    "    hub: true   # HubSiteEnabled (docs/evidence.md#hub-sites)"
                );
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
                let _ = writeln!(w, "    cost: {cost}   # ADCost");
            }
            if let Some(cost) = l.exchange_cost {
                let _ = writeln!(
                    w,
                    "    exchange_cost: {cost}   # replaces the AD cost for Exchange routing (docs/evidence.md#least-cost-paths)"
                );
            }
            if let Some(size) = &l.max_message_size {
                let _ = writeln!(w, "    max_message_size: {}", q(size));
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
                if s.create_internet_send_connector {
                    let _ = writeln!(
                        w,
                        "    subscribed_site: {}   # creates \"EdgeSync - {} to Internet\" (docs/evidence.md#edge-transport)",
                        q(site),
                        c(site)
                    );
                } else {
                    let _ = writeln!(w, "    subscribed_site: {}", q(site));
                    let _ = writeln!(
                        w,
                        "    create_internet_send_connector: false   # no \"EdgeSync - {} to Internet\" in the export",
                        c(site)
                    );
                }
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
            "\ntransport_rules:   # only rules with RouteMessageOutboundRequireTls $true (docs/evidence.md#rule-action)"
        );
        if self.rules.is_empty() {
            let _ = writeln!(w, "  []");
        }
        for r in &self.rules {
            let _ = writeln!(w, "  - name: {}   # from Get-TransportRule", q(&r.name));
            if let Some(g) = &r.guid {
                let _ = writeln!(w, "    guid: {}   # ruleId in message tracking", q(g));
            }
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
            "\ntransport_config:   # from Get-TransportConfig{from}; omitted keys take Exchange's defaults (docs/evidence.md#retry-and-expiry)"
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

impl Org {
    /// The outside world: a template, with one worst-case entry per smart host the connectors
    /// name (the export cannot say what a smart host does with STARTTLS either).
    fn render_external(&self, w: &mut String) {
        w.push_str(EXTERNAL_HEAD);
        let mut hosts: Vec<(String, Vec<&str>)> = Vec::new();
        for k in &self.connectors {
            for h in &k.smart_hosts {
                let host = load::values::host_key(h);
                match hosts.iter_mut().find(|(x, _)| *x == host) {
                    Some((_, names)) => names.push(&k.name),
                    None => hosts.push((host, vec![&k.name])),
                }
            }
        }
        for (host, connectors) in &hosts {
            let _ = writeln!(
                w,
                "  - domain: {}   # TEMPLATE: smart host of {}; described as `*` until you say what it does",
                q(host),
                c(&connectors.join(", "))
            );
            let _ = writeln!(w, "    mx:");
            let _ = writeln!(w, "      - host: {}", q(host));
            let _ = writeln!(w, "        preference: 10");
            let _ = writeln!(w, "        starttls: offered");
            let name = host.trim_start_matches('[').trim_end_matches(']');
            let _ = writeln!(
                w,
                "        certificate: {{subject: {}, san: [{}], trusted: true, not_before: 2000-01-01, not_after: 2099-12-31}}",
                q(name),
                q(name)
            );
        }
        w.push_str(EXTERNAL_TAIL);
    }
}

const EXTERNAL_HEAD: &str = r#"
# ---- TEMPLATE: THE OUTSIDE WORLD -- FILL THIS IN ---------------------------------------------
# No Exchange export says how remote MX hosts behave; the entries below are placeholders.
# Describe the domains your TLS rules care about (partners, regulators), each with its MX
# hosts: `starttls: offered | not_offered | handshake_fails`, and the certificate they present.
# "*" stands for every domain not listed.
#
# `cleartext.example` is a WORST-CASE PLACEHOLDER: a domain whose MX offers no STARTTLS, so that
# `tlsflow check` shows every site whose rule-required mail would leave in clear text (TLS001).
# Replace it with real domains, or delete it. Each smart host of a Send connector has an entry
# of its own, a copy of `*`: replace it with what the smart host really does (an IP smart host
# is written `[10.1.1.1]`).
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
"#;

const EXTERNAL_TAIL: &str = r#"  - domain: "*"                 # TEMPLATE: every other domain offers STARTTLS, trusted certificate
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
