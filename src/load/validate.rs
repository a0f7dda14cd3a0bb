//! Raw topology structs to a validated [`Topology`], reporting every problem at once.
//!
//! The rules are those of SPEC §3: what Exchange's own cmdlets refuse is an error (reference
//! §1.4, §1.6, §2.1, §2.2, §3.3), each with a `CFG0xx` code. Risky-but-accepted configurations
//! that need routing to detect are linted elsewhere (`crate::lint`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{
    AddressPattern, AddressSpace, Certificate, Code, ConnectorId, ExternalDomain, Mailbox,
    MailboxAddress, Millis, MxHost, Origin, Profile, Role, RuleActions, RuleId, RuleMode,
    RulePredicates, Scope, SendConnector, Server, ServerId, Site, SiteGraph, SiteId, SiteLink,
    StartTls, TlsLevel, Topology, TransportConfig, TransportRule, name_key,
};

use super::diagnostic::{Diagnostic, did_you_mean};
use super::raw::{
    RawAddressSpace, RawPredicates, RawRole, RawRuleMode, RawScope, RawStartTls, RawTlsAuthLevel,
    RawTopology, S,
};
use super::yaml::{self, Pos, pos};
use super::{SourceFile, profile, values};

/// Validates `source`; on success returns the topology and its warnings.
pub(super) fn topology(
    source: &SourceFile,
) -> Result<(Topology, Vec<Diagnostic>), Vec<Diagnostic>> {
    if source.text.trim().is_empty() {
        return Err(vec![Diagnostic::new(
            Code::Cfg001,
            &source.name,
            Pos {
                line: 1,
                column: 1,
                byte: None,
            },
            "",
            "the file is empty: a topology starts with `format: 1`",
        )]);
    }
    let raw: RawTopology = yaml::parse(&source.text).map_err(|e| {
        let first = yaml_error(source, &e);
        shape_errors(source, first, &super::schema::topology_schema())
    })?;
    raw_topology(source, raw, &[])
}

/// How many shape errors one run reports at most, beyond the first.
const MAX_SHAPE_ERRORS: usize = 100;

/// Every shape error of a file whose typed parse stopped at `first` (a CFG002): the file is
/// checked against `schema` (what `tlsflow schema` prints, generated from the same types), so
/// that a hand-written file is fixed in one round rather than one error per run (issue 16).
/// `first`, the parser's own verdict, always stays; the schema's errors at other places are
/// added, in file order.
pub(super) fn shape_errors(
    source: &SourceFile,
    first: Diagnostic,
    schema: &serde_json::Value,
) -> Vec<Diagnostic> {
    if first.code != Code::Cfg002 {
        return vec![first];
    }
    let Some(tree) = yaml::json_tree(&source.text) else {
        return vec![first];
    };
    let Ok(validator) = jsonschema::draft202012::new(schema) else {
        return vec![first];
    };
    // One diagnostic per place; a missing key is said at its mapping, once per key.
    let place = |path: &str, message: &str| {
        if message.starts_with("missing key") {
            format!("{path}#{message}")
        } else {
            path.to_owned()
        }
    };
    let mut seen = std::collections::BTreeSet::from([place(&first.yaml_path, &first.message)]);
    let mut out = vec![first];
    for error in validator.iter_errors(&tree.value) {
        if out.len() > MAX_SHAPE_ERRORS {
            break;
        }
        let pointer = error.instance_path().to_string();
        let mut found = Vec::new();
        match error.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected }
            | jsonschema::error::ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                for key in unexpected {
                    let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                    found.push((
                        tree.keys.get(&child).copied(),
                        child,
                        format!("unknown key `{key}`"),
                    ));
                }
            }
            jsonschema::error::ValidationErrorKind::Required { property } => {
                let name = property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_owned);
                found.push((
                    tree.keys
                        .get(&pointer)
                        .or_else(|| tree.values.get(&pointer))
                        .copied(),
                    pointer.clone(),
                    format!("missing key `{name}`"),
                ));
            }
            _ => found.push((
                tree.values.get(&pointer).copied(),
                pointer.clone(),
                crate::model::printable(&error.to_string()).into_owned(),
            )),
        }
        for (at, pointer, message) in found {
            let path = pointer_to_path(&pointer);
            if !seen.insert(place(&path, &message)) {
                continue;
            }
            out.push(Diagnostic::new(
                Code::Cfg002,
                &source.name,
                at.unwrap_or_default(),
                path,
                message,
            ));
        }
    }
    out.sort_by_key(|d| (d.line, d.column));
    out
}

/// `/sites/0/hubb` as a YAML path: `sites[0].hubb`.
fn pointer_to_path(pointer: &str) -> String {
    let mut path = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) && !part.is_empty() {
            path.push('[');
            path.push_str(&part);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&part);
        }
    }
    path
}

/// The diagnostic for a YAML-layer failure: its position, YAML path, code, a message in an
/// administrator's words, and a hint.
pub(super) fn yaml_error(source: &SourceFile, e: &yaml::YamlError) -> Diagnostic {
    let (message, hint) = translate(&e.message);
    let shape = is_shape_error(&e.message);
    let code = if shape { Code::Cfg002 } else { Code::Cfg001 };
    let mut at = e.pos;
    let mut path = if at.line > 0 {
        yaml::path_at(&source.text, at).unwrap_or_default()
    } else {
        String::new()
    };
    if e.message.contains("missing field") {
        // serde reports the position after the last key it read: name the mapping itself.
        path = parent_path(&path);
        at = yaml::position_of(&source.text, &path).unwrap_or(Pos {
            line: 1,
            column: 1,
            byte: None,
        });
    } else if e.message.contains("found a tab") {
        // The scanner notices the tab while reading the previous token: point at the tab.
        if let Some(tab) = first_tab_at_or_after(&source.text, at) {
            at = tab;
            path = yaml::path_at(&source.text, at).unwrap_or(path);
        }
    }
    Diagnostic::new(code, &source.name, at, path, message).hint_opt(hint)
}

/// `servers[0].site` -> `servers[0]`; `sites` -> `` (the document).
fn parent_path(path: &str) -> String {
    match path.rfind(['.', '[']) {
        Some(i) if path[i..].starts_with('.') => path[..i].to_owned(),
        Some(i) => path[..i].to_owned(),
        None => String::new(),
    }
}

fn first_tab_at_or_after(text: &str, at: Pos) -> Option<Pos> {
    text.split('\n')
        .zip(1u64..)
        .skip_while(|&(_, line)| line < at.line)
        .find_map(|(l, line)| {
            l.char_indices()
                .zip(1u64..)
                .find(|&((_, c), column)| c == '\t' && (line > at.line || column >= at.column))
                .map(|(_, column)| Pos {
                    line,
                    column,
                    byte: None,
                })
        })
}

/// The YAML layer's message in an administrator's words, and a hint.
fn translate(raw: &str) -> (String, Option<String>) {
    let field = raw.split('`').nth(1).unwrap_or("");
    if raw.contains("invalid i64") || raw.contains("invalid u64") || raw.contains("invalid u32") {
        return (
            "expected a whole number".to_owned(),
            Some(
                "write a number without quotes or decimals, within the range the key allows"
                    .to_owned(),
            ),
        );
    }
    if raw.contains("cannot deserialize null") {
        return (
            "expected a value, found nothing (null)".to_owned(),
            Some("write the value after the colon".to_owned()),
        );
    }
    if raw.contains("missing field") {
        return (
            format!("missing key `{field}`"),
            Some(format!("add `{field}:` to this mapping")),
        );
    }
    if raw.contains("budget breached: Documents")
        || raw.contains("MultipleDocuments")
        || raw.contains("multiple documents")
    {
        return (
            "the file holds more than one YAML document".to_owned(),
            Some("a topology is one document: remove the `---` separator and what follows, or split the file".to_owned()),
        );
    }
    if raw.contains("budget breached") {
        return (
            "the file exceeds tlsflow's limits (nesting, size or alias expansion)".to_owned(),
            Some("a topology needs no deep nesting and no mass alias expansion; is this a YAML bomb?".to_owned()),
        );
    }
    if raw.contains("recursion limit") {
        return (
            "the file is nested too deeply".to_owned(),
            Some("a topology needs at most a few levels of nesting".to_owned()),
        );
    }
    if let Some(key) = raw.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key).trim();
        return (
            format!("duplicate key `{key}`"),
            Some("a key may appear once in a mapping: remove one of them".to_owned()),
        );
    }
    if raw.contains("found a tab") {
        return (
            "a tab character in the indentation".to_owned(),
            Some("YAML indents with spaces, never tabs".to_owned()),
        );
    }
    if raw.contains("mapping values are not allowed") {
        return (
            "a `key: value` where YAML does not expect one".to_owned(),
            Some("check the indentation of this line against its siblings, and quote values that contain `: `".to_owned()),
        );
    }
    if raw.contains("expected string scalar") {
        return (
            "expected a text value".to_owned(),
            Some("this key takes a single text value, not a list or a mapping".to_owned()),
        );
    }
    if raw.contains("boolean") {
        return (
            "expected `true` or `false`".to_owned(),
            Some("YAML 1.1 spellings such as yes/no/on/off are refused: they have changed security answers before".to_owned()),
        );
    }
    if raw.contains("unknown field") || raw.contains("unknown variant") {
        let what = if raw.contains("unknown field") {
            "key"
        } else {
            "value"
        };
        return (format!("unknown {what} `{field}`"), shape_hint(raw));
    }
    (raw.to_owned(), shape_hint(raw))
}

/// Where some objects of a raw topology really come from: a scenario's inline topology, or a
/// variant's change. A diagnostic whose YAML path starts with `topology_prefix` is reported in
/// `file`, with that prefix replaced by `path_prefix`.
#[derive(Clone, Debug)]
pub(super) struct Attribution {
    pub(super) topology_prefix: String,
    pub(super) file: String,
    pub(super) path_prefix: String,
}

/// Validates a parsed topology.
pub(super) fn raw_topology(
    source: &SourceFile,
    raw: RawTopology,
    attribution: &[Attribution],
) -> Result<(Topology, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut v = Validator {
        file: &source.name,
        diags: Vec::new(),
    };
    let topology = v.topology(raw, source);
    let mut diags = v.diags;
    for d in &mut diags {
        attribute(d, attribution);
    }
    let (errors, warnings): (Vec<_>, Vec<_>) = diags.into_iter().partition(Diagnostic::is_error);
    match topology {
        Some(t) if errors.is_empty() => Ok((t, warnings)),
        _ => {
            let mut all = errors;
            all.extend(warnings);
            all.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
            Err(all)
        }
    }
}

/// Moves a diagnostic to the file its object came from (the longest matching prefix wins).
fn attribute(d: &mut Diagnostic, attribution: &[Attribution]) {
    let matching = attribution
        .iter()
        .filter(|a| {
            a.topology_prefix.is_empty()
                || d.yaml_path == a.topology_prefix
                || d.yaml_path.starts_with(&format!("{}.", a.topology_prefix))
                || d.yaml_path.starts_with(&format!("{}[", a.topology_prefix))
        })
        .max_by_key(|a| a.topology_prefix.len());
    if let Some(a) = matching {
        d.file.clone_from(&a.file);
        let rest = &d.yaml_path[a.topology_prefix.len()..];
        d.yaml_path = if rest.is_empty() || rest.starts_with('[') {
            format!("{}{rest}", a.path_prefix)
        } else if a.topology_prefix.is_empty() {
            format!("{}.{rest}", a.path_prefix)
        } else {
            format!("{}{rest}", a.path_prefix)
        };
    }
}

/// Whether a YAML-layer message is about the shape (keys, types) rather than the syntax.
fn is_shape_error(message: &str) -> bool {
    [
        "boolean",
        "invalid i64",
        "invalid u64",
        "invalid u32",
        "deserialize null",
        "expected string",
        "expected mapping",
        "expected sequence",
        "expected a ",
        "unknown field",
        "missing field",
        "invalid type",
        "invalid value",
        "unknown variant",
        "duplicate",
        "invalid length",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn shape_hint(message: &str) -> Option<String> {
    if message.contains("unknown field") || message.contains("unknown variant") {
        // serde says: unknown field `x`, expected one of `a`, `b` (or a plain list)
        let unknown = message.split('`').nth(1)?;
        let tail = message.split_once("expected ").map_or("", |(_, t)| t);
        let tail = tail.strip_prefix("one of ").unwrap_or(tail);
        let expected: Vec<&str> = tail
            .split(", ")
            .map(|w| w.trim().trim_matches('`'))
            .filter(|w| !w.is_empty())
            .collect();
        return did_you_mean(unknown, expected.iter().copied()).or_else(|| {
            (!expected.is_empty()).then(|| format!("allowed here: {}", expected.join(", ")))
        });
    }
    if message.contains("boolean") {
        return Some(
            "write `true` or `false` (YAML 1.1 spellings such as yes/no/on/off are refused: they have changed security answers before)"
                .to_owned(),
        );
    }
    None
}

struct Validator<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
}

/// Name → id with the position of the first definition, for duplicate and reference checks.
struct Names<Id> {
    by_key: BTreeMap<String, (Id, Pos)>,
    /// What each name looks like ([`look_key`]) -> the name and its position.
    by_look: BTreeMap<String, (String, Pos)>,
    display: Vec<String>,
}

impl<Id: Copy> Names<Id> {
    fn new() -> Self {
        Names {
            by_key: BTreeMap::new(),
            by_look: BTreeMap::new(),
            display: Vec::new(),
        }
    }

    fn get(&self, name: &str) -> Option<Id> {
        self.by_key.get(&name_key(name)).map(|(id, _)| *id)
    }
}

fn origin<T>(s: &S<T>, path: &str) -> Origin {
    let p = pos(s);
    Origin {
        line: p.line,
        column: p.column,
        yaml_path: path.to_owned(),
    }
}

impl Validator<'_> {
    fn error(
        &mut self,
        code: Code,
        at: Pos,
        path: &str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::new(code, self.file, at, path, message));
        self.diags.last_mut().expect("just pushed")
    }

    /// Refuses text that reports print when it holds a control character or a bidirectional
    /// override ([`crate::model::unprintable`]): it would forge or reorder their lines.
    fn printable(&mut self, text: &S<String>, path: &str, what: &str) {
        if let Some(message) = crate::model::unprintable(what, &text.value, "it") {
            self.error(Code::Cfg018, pos(text), path, message);
        }
    }

    /// Registers a name; reports a duplicate (case-insensitive) and returns false for it.
    fn define<Id: Copy>(
        &mut self,
        names: &mut Names<Id>,
        kind: &str,
        name: &S<String>,
        path: &str,
        id: Id,
    ) -> bool {
        let text = name.value.trim();
        if text.is_empty() {
            self.error(
                Code::Cfg018,
                pos(name),
                path,
                format!("a {kind} needs a non-empty name"),
            );
            return false;
        }
        if let Some(message) = crate::model::unprintable(&format!("{kind} name"), text, "the name")
        {
            self.error(Code::Cfg018, pos(name), path, message);
            return false;
        }
        let key = name_key(text);
        let look = crate::model::look_key(text);
        if !names.by_key.contains_key(&key)
            && let Some((other, first)) = names.by_look.get(&look)
            && !(text.is_ascii() && other.is_ascii())
        {
            let odd: Vec<String> = text
                .chars()
                .filter(|c| !c.is_ascii())
                .map(|c| format!("'{c}' U+{:04X}", u32::from(c)))
                .collect();
            let (first_line, other) = (first.line, other.clone());
            self.error(
                Code::Cfg004,
                pos(name),
                path,
                format!("{kind} `{text}` looks the same as `{other}` but is a different name"),
            )
            .hint = Some(format!(
                "`{other}` is on line {first_line}; `{text}` has {}: write the name once, in one script",
                if odd.is_empty() {
                    "other characters".to_owned()
                } else {
                    odd.join(", ")
                }
            ));
            return false;
        }
        if let Some((_, first)) = names.by_key.get(&key) {
            let first_line = first.line;
            self.error(
                Code::Cfg004,
                pos(name),
                path,
                format!("{kind} `{text}` is defined twice"),
            )
            .hint = Some(format!(
                "the first definition is on line {first_line}; Active Directory compares names case-insensitively"
            ));
            return false;
        }
        names.by_key.insert(key, (id, pos(name)));
        names
            .by_look
            .entry(look)
            .or_insert_with(|| (text.to_owned(), pos(name)));
        names.display.push(text.to_owned());
        true
    }

    /// Resolves a reference, reporting an unknown name with a did-you-mean hint.
    fn resolve<Id: Copy>(
        &mut self,
        names: &Names<Id>,
        kind: &str,
        name: &S<String>,
        path: &str,
    ) -> Option<Id> {
        let found = names.get(name.value.trim());
        if found.is_none() {
            let hint = lookalike(&name.value, &names.display)
                .or_else(|| did_you_mean(&name.value, names.display.iter().map(String::as_str)))
                .or_else(|| {
                    if names.display.is_empty() {
                        Some(format!("no {kind} is defined"))
                    } else {
                        Some(format!("known {kind}s: {}", preview(&names.display)))
                    }
                });
            self.error(
                Code::Cfg005,
                pos(name),
                path,
                format!("unknown {kind} `{}`", name.value),
            )
            .hint = hint;
        }
        found
    }

    fn ranged(
        &mut self,
        value: &S<i64>,
        path: &str,
        range: std::ops::RangeInclusive<i64>,
        what: &str,
    ) -> Option<u32> {
        if range.contains(&value.value) {
            u32::try_from(value.value).ok()
        } else {
            self.error(
                Code::Cfg007,
                pos(value),
                path,
                format!(
                    "{what} {} is out of range: Exchange accepts {} to {}",
                    value.value,
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }

    fn duration(
        &mut self,
        value: Option<&S<super::raw::RawScalar>>,
        path: &str,
        default: Millis,
        range: (Millis, Millis),
    ) -> Millis {
        let Some(value) = value else { return default };
        match values::duration(&value.value.0) {
            Ok(d) if d >= range.0 && d <= range.1 => d,
            Ok(d) => {
                self.error(
                    Code::Cfg007,
                    pos(value),
                    path,
                    format!(
                        "{d} is out of range: Exchange accepts {} to {}",
                        range.0, range.1
                    ),
                );
                default
            }
            Err(message) => {
                self.error(Code::Cfg018, pos(value), path, message);
                default
            }
        }
    }

    fn topology(&mut self, raw: RawTopology, source: &SourceFile) -> Option<Topology> {
        if raw.format.value != 1 {
            self.error(
                Code::Cfg003,
                pos(&raw.format),
                "format",
                format!("unsupported format {}", raw.format.value),
            )
            .hint = Some("this version of tlsflow reads `format: 1`".to_owned());
        }
        let profile = self.profile(raw.profile.as_ref(), source);
        let accepted_domains = self.accepted_domains(&raw.accepted_domains);

        let mut site_names = Names::new();
        let sites: Vec<Site> = raw
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let path = format!("sites[{i}]");
                self.define(
                    &mut site_names,
                    "site",
                    &s.value.name,
                    &format!("{path}.name"),
                    SiteId::from_index(i),
                );
                Site {
                    name: s.value.name.value.trim().to_owned(),
                    hub: flag(s.value.hub.as_ref(), false),
                    inbound_mail_enabled: flag(s.value.inbound_mail_enabled.as_ref(), true),
                    origin: origin(s, &path),
                }
            })
            .collect();
        if sites.is_empty() {
            self.error(
                Code::Cfg002,
                pos(&raw.format),
                "sites",
                "the topology defines no site",
            )
            .hint = Some("add `sites: [{name: HQ}]`".to_owned());
        }

        let site_links = self.site_links(&raw, &site_names);
        let site_graph = SiteGraph::of(&sites, &site_links);
        // A site that is misnamed or defined twice would show up as disconnected too: report
        // the cause only.
        if !self.diags.iter().any(|d| {
            matches!(
                d.code,
                Code::Cfg004 | Code::Cfg005 | Code::Cfg006 | Code::Cfg018
            )
        }) {
            self.connectivity(&raw, &sites, &site_graph);
        }

        let mut server_names = Names::new();
        let servers = self.servers(&raw, &site_names, &mut server_names);
        for (i, site) in sites.iter().enumerate() {
            let id = SiteId::from_index(i);
            if site.hub
                && !servers
                    .iter()
                    .any(|s| s.site == Some(id) && s.is_transport())
            {
                self.error(
                    Code::Cfg022,
                    Pos { line: site.origin.line, column: site.origin.column, byte: None },
                    &site.origin.yaml_path,
                    format!("hub site `{}` has no Mailbox server", site.name),
                )
                .hint = Some("Set-AdSite -HubSiteEnabled needs at least one Mailbox server in the site (docs/evidence.md#hub-sites)".to_owned());
            }
        }

        let dags = self.dags(&raw, &servers, &server_names);
        let send_connectors =
            self.send_connectors(&raw, profile.as_ref(), &sites, &servers, &server_names);
        let connector_names: Vec<String> = send_connectors.iter().map(|c| c.name.clone()).collect();
        let transport_rules =
            self.transport_rules(&raw, profile.as_ref(), &site_names, &connector_names);
        let transport_config = self.transport_config(&raw);
        let mailboxes = self.mailboxes(&raw, &servers, &server_names);
        let external_domains = self.external_domains(&raw);

        if let Some(o) = &raw.organization {
            self.printable(o, "organization", "the organisation's name");
        }
        let index = crate::model::ServerIndex::new(&servers, sites.len(), &dags);
        let accepted_index = crate::model::AcceptedDomainIndex::new(&accepted_domains);
        let mailbox_index = crate::model::MailboxIndex::new(&mailboxes);
        Some(Topology {
            organization: raw
                .organization
                .map_or_else(|| "Organization".to_owned(), |o| o.value),
            profile: profile?,
            accepted_domains: accepted_domains.into(),
            sites: sites.into(),
            site_links: site_links.into(),
            servers: servers.into(),
            dags: dags.into(),
            send_connectors,
            transport_rules: transport_rules.into(),
            transport_config,
            mailboxes: mailboxes.into(),
            external_domains: external_domains.into(),
            site_graph,
            index: Arc::new(index),
            accepted_index: Arc::new(accepted_index),
            mailbox_index: Arc::new(mailbox_index),
        })
    }

    fn profile(&mut self, spec: Option<&S<String>>, source: &SourceFile) -> Option<Profile> {
        let Some(spec) = spec else {
            return profile::builtin(profile::DEFAULT_PROFILE);
        };
        match profile::resolve(spec.value.trim(), source.base_dir.as_deref()) {
            Ok(p) => Some(p),
            Err(message) => {
                let names = profile::builtin_names();
                let hint = did_you_mean(&spec.value, names.iter().map(String::as_str));
                self.error(Code::Cfg005, pos(spec), "profile", message).hint = hint;
                None
            }
        }
    }

    /// `accepted_domains`: names, `*.name` wildcards, and `{domain, type}` (New-AcceptedDomain
    /// -DomainName is an SmtpDomainWithSubdomains; -DomainType Authoritative, InternalRelay or
    /// ExternalRelay, default Authoritative).
    fn accepted_domains(
        &mut self,
        list: &[S<super::raw::RawAcceptedDomain>],
    ) -> Vec<crate::model::AcceptedDomain> {
        use crate::model::AcceptedDomainType as T;
        let mut out: Vec<crate::model::AcceptedDomain> = Vec::new();
        for (i, d) in list.iter().enumerate() {
            let path = format!("accepted_domains[{i}]");
            let lower = d.value.domain().trim().to_lowercase();
            let (bare, subdomains) = match lower.strip_prefix("*.") {
                Some(rest) => (rest.to_owned(), true),
                None => (lower.clone(), false),
            };
            if let Err(message) = values::domain_name(&bare) {
                self.error(Code::Cfg018, pos(d), &path, message);
                continue;
            }
            let kind = match &d.value {
                super::raw::RawAcceptedDomain::Map { kind: Some(k), .. } => {
                    match k.trim().to_lowercase().replace('_', "").as_str() {
                        "authoritative" => T::Authoritative,
                        "internalrelay" => T::InternalRelay,
                        "externalrelay" => T::ExternalRelay,
                        _ => {
                            self.error(Code::Cfg018, pos(d), &format!("{path}.type"), format!("unknown accepted domain type `{k}`"))
                                .hint = Some("authoritative, internal_relay or external_relay (New-AcceptedDomain -DomainType)".to_owned());
                            T::Authoritative
                        }
                    }
                }
                _ => T::Authoritative,
            };
            if out
                .iter()
                .any(|a| a.domain == bare && a.subdomains == subdomains)
            {
                self.error(
                    Code::Cfg004,
                    pos(d),
                    &path,
                    format!("accepted domain `{lower}` is listed twice"),
                );
                continue;
            }
            out.push(crate::model::AcceptedDomain {
                domain: bare,
                subdomains,
                kind,
            });
        }
        out
    }

    fn domains(&mut self, list: &[S<String>], path: &str, allow_star: bool) -> Vec<String> {
        let mut out = Vec::new();
        for (i, d) in list.iter().enumerate() {
            let lower = d.value.trim().to_lowercase();
            if allow_star && lower == "*" {
                out.push(lower);
                continue;
            }
            match values::domain_name(&lower) {
                Ok(()) => out.push(lower),
                Err(message) => {
                    self.error(Code::Cfg018, pos(d), &format!("{path}[{i}]"), message);
                }
            }
        }
        out
    }

    fn site_links(&mut self, raw: &RawTopology, site_names: &Names<SiteId>) -> Vec<SiteLink> {
        let mut link_names = Names::new();
        let mut links = Vec::new();
        for (i, l) in raw.site_links.iter().enumerate() {
            let path = format!("site_links[{i}]");
            self.define(
                &mut link_names,
                "site link",
                &l.value.name,
                &format!("{path}.name"),
                i,
            );
            let mut ids: Vec<SiteId> = Vec::new();
            let mut all_resolved = true;
            for (j, s) in l.value.sites.value.iter().enumerate() {
                match self.resolve(site_names, "site", s, &format!("{path}.sites[{j}]")) {
                    Some(id) if !ids.contains(&id) => ids.push(id),
                    Some(_) => {}
                    None => all_resolved = false,
                }
            }
            if all_resolved && ids.len() < 2 {
                let message = if l.value.sites.value.len() >= 2 {
                    format!("site link `{}` joins a site to itself", l.value.name.value)
                } else {
                    format!(
                        "site link `{}` names fewer than two sites",
                        l.value.name.value
                    )
                };
                self.error(
                    Code::Cfg006,
                    pos(&l.value.sites),
                    &format!("{path}.sites"),
                    message,
                )
                .hint = Some("an IP site link joins two or more distinct sites".to_owned());
            }
            let cost = l.value.cost.as_ref().map_or(Some(100), |c| {
                self.ranged(c, &format!("{path}.cost"), 1..=99_999, "site link cost")
            });
            let exchange_cost = l.value.exchange_cost.as_ref().map(|c| {
                self.ranged(
                    c,
                    &format!("{path}.exchange_cost"),
                    1..=99_999,
                    "exchange_cost",
                )
            });
            let max_message_size = self.limit(
                l.value.max_message_size.as_ref(),
                &format!("{path}.max_message_size"),
                None,
            );
            links.push(SiteLink {
                name: l.value.name.value.trim().to_owned(),
                sites: ids,
                cost: cost.unwrap_or(100),
                exchange_cost: exchange_cost.map(|c| c.unwrap_or(100)),
                max_message_size,
                origin: origin(l, &path),
            });
        }
        links
    }

    fn connectivity(&mut self, raw: &RawTopology, sites: &[Site], graph: &SiteGraph) {
        if sites.len() < 2 {
            return;
        }
        let components = graph.components(|_| true);
        if components.len() <= 1 {
            return;
        }
        let main = &components[0];
        for other in &components[1..] {
            let first = other[0];
            let site = &sites[first.index()];
            let names: Vec<String> = other
                .iter()
                .map(|&s| format!("`{}`", sites[s.index()].name))
                .collect();
            self.error(
                Code::Cfg008,
                Pos {
                    line: site.origin.line,
                    column: site.origin.column,
                    byte: None,
                },
                &site.origin.yaml_path,
                format!(
                    "site{} {} cannot be reached from `{}` through the site links",
                    if names.len() > 1 { "s" } else { "" },
                    names.join(", "),
                    sites[main[0].index()].name
                ),
            )
            .hint = Some(format!(
                "every site must be on at least one IP site link (docs/evidence.md#least-cost-paths); add a site link joining `{}` to the other sites",
                site.name
            ));
        }
        let _ = raw;
    }

    fn servers(
        &mut self,
        raw: &RawTopology,
        site_names: &Names<SiteId>,
        server_names: &mut Names<ServerId>,
    ) -> Vec<Server> {
        let mut servers = Vec::new();
        for (i, s) in raw.servers.iter().enumerate() {
            let path = format!("servers[{i}]");
            let r = &s.value;
            self.define(
                server_names,
                "server",
                &r.name,
                &format!("{path}.name"),
                ServerId::from_index(i),
            );
            let mut roles: Vec<Role> = Vec::new();
            for role in &r.roles.value {
                let role = match role.value {
                    RawRole::Mailbox => Role::Mailbox,
                    RawRole::Frontend => Role::Frontend,
                    RawRole::Edge => Role::Edge,
                };
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
            roles.sort();
            if roles.is_empty() {
                self.error(
                    Code::Cfg002,
                    pos(&r.roles),
                    &format!("{path}.roles"),
                    format!("server `{}` has no role", r.name.value),
                )
                .hint = Some("roles are mailbox, frontend and edge".to_owned());
            }
            let is_edge = roles.contains(&Role::Edge);
            if is_edge && roles.len() > 1 {
                self.error(
                    Code::Cfg016,
                    pos(&r.roles),
                    &format!("{path}.roles"),
                    format!(
                        "Edge server `{}` cannot also hold the {} role",
                        r.name.value,
                        roles
                            .iter()
                            .filter(|&&x| x != Role::Edge)
                            .map(|x| x.as_str())
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                )
                .hint = Some(
                    "the Edge Transport role is installed alone, in the perimeter network"
                        .to_owned(),
                );
            }
            let site = match (&r.site, is_edge) {
                (Some(site), false) => {
                    self.resolve(site_names, "site", site, &format!("{path}.site"))
                }
                (Some(site), true) => {
                    self.error(Code::Cfg016, pos(site), &format!("{path}.site"), format!("Edge server `{}` must not name a site: an Edge server belongs to no AD site", r.name.value))
                        .hint = Some("an Edge server sits in the perimeter network; name its site with `subscribed_site`".to_owned());
                    None
                }
                (None, false) => {
                    self.error(
                        Code::Cfg002,
                        pos(s),
                        &path,
                        format!("server `{}` needs a `site`", r.name.value),
                    );
                    None
                }
                (None, true) => None,
            };
            let subscribed_site = match (&r.subscribed_site, is_edge) {
                (Some(site), true) => {
                    self.resolve(site_names, "site", site, &format!("{path}.subscribed_site"))
                }
                (Some(site), false) => {
                    self.error(
                        Code::Cfg016,
                        pos(site),
                        &format!("{path}.subscribed_site"),
                        format!("only an Edge server has an Edge subscription; `{}` is not an Edge server", r.name.value),
                    )
                    .hint = Some("remove `subscribed_site`, or give the server the edge role (alone)".to_owned());
                    None
                }
                (None, true) => {
                    self.error(Code::Cfg105, pos(s), &path, format!("Edge server `{}` has no Edge subscription and carries no mail", r.name.value))
                        .hint = Some("set `subscribed_site` to the site it is subscribed to (New-EdgeSubscription)".to_owned());
                    None
                }
                (None, false) => None,
            };
            let version = r
                .version
                .as_ref()
                .and_then(|v| match values::version(&v.value) {
                    Ok(v) => Some(v),
                    Err(message) => {
                        self.error(Code::Cfg018, pos(v), &format!("{path}.version"), message);
                        None
                    }
                });
            // Exchange 2016 and later have one Mailbox role that runs Front End Transport,
            // Transport and Mailbox Transport on the same server (reference §6): a 15.1+
            // Mailbox server always has the Front End Transport service, written or not.
            let modern = version.as_deref().is_some_and(|v| {
                let mut parts = v.split('.');
                parts.next() == Some("15")
                    && parts
                        .next()
                        .and_then(|m| m.parse::<u32>().ok())
                        .is_some_and(|m| m >= 1)
            });
            if modern && roles.contains(&Role::Mailbox) && !roles.contains(&Role::Frontend) {
                roles.push(Role::Frontend);
                roles.sort();
            }
            if let (Some(flag), false) = (&r.create_internet_send_connector, is_edge) {
                self.error(
                    Code::Cfg016,
                    pos(flag),
                    &format!("{path}.create_internet_send_connector"),
                    format!("only an Edge subscription creates an Internet Send connector; `{}` is not an Edge server", r.name.value),
                )
                .hint = Some("remove create_internet_send_connector (New-EdgeSubscription -CreateInternetSendConnector)".to_owned());
            }
            servers.push(Server {
                name: r.name.value.trim().to_owned(),
                site,
                roles,
                version,
                subscribed_site,
                create_internet_send_connector: flag(
                    r.create_internet_send_connector.as_ref(),
                    true,
                ),
                origin: origin(s, &path),
            });
        }
        servers
    }

    fn send_connectors(
        &mut self,
        raw: &RawTopology,
        profile: Option<&Profile>,
        sites: &[Site],
        servers: &[Server],
        server_names: &Names<ServerId>,
    ) -> Vec<SendConnector> {
        let mut names = Names::new();
        let mut connectors = Vec::new();
        let default_size = profile.as_ref().and_then(|p| p.default_max_message_size);
        for (i, c) in raw.send_connectors.iter().enumerate() {
            let path = format!("send_connectors[{i}]");
            let r = &c.value;
            let name = r.name.value.trim().to_owned();
            self.define(
                &mut names,
                "send connector",
                &r.name,
                &format!("{path}.name"),
                ConnectorId::from_index(i),
            );

            let mut address_spaces = Vec::new();
            for (j, a) in r.address_spaces.value.iter().enumerate() {
                let apath = format!("{path}.address_spaces[{j}]");
                let parsed = match &a.value {
                    RawAddressSpace::Text(text) => values::address_space(text),
                    RawAddressSpace::Map { domain, cost } => values::address_pattern(domain)
                        .and_then(|pattern| {
                            Ok(AddressSpace {
                                pattern,
                                cost: values::address_cost(cost.unwrap_or(1))?,
                            })
                        }),
                };
                match parsed {
                    Ok(space) => address_spaces.push(space),
                    Err(message) if message.contains("out of range") => {
                        self.error(Code::Cfg007, pos(a), &apath, message).hint = Some(
                            "an address-space cost is 1 to 100 (default 1); lower is preferred"
                                .to_owned(),
                        );
                    }
                    Err(message) => {
                        self.error(Code::Cfg009, pos(a), &apath, message).hint =
                            Some(r#"write "SMTP:*;1", "SMTP:contoso.com;10", "*.contoso.com" or {domain: "*", cost: 1}"#.to_owned());
                    }
                }
            }
            if r.address_spaces.value.is_empty() {
                self.error(
                    Code::Cfg009,
                    pos(&r.address_spaces),
                    &format!("{path}.address_spaces"),
                    format!("send connector `{name}` has no address space"),
                )
                .hint = Some(r#"add one, e.g. address_spaces: ["SMTP:*;1"]"#.to_owned());
            }

            // Mailbox servers, or Edge subscriptions, never both ("You can specify one or more
            // Edge Subscriptions as the source server for a Send connector. You can't specify
            // both Mailbox servers and Edge Subscriptions": Microsoft Learn, Edge mail flow).
            let mut source_servers = Vec::new();
            let mut kinds: (Option<String>, Option<String>) = (None, None);
            for (j, s) in r.source_servers.iter().enumerate() {
                let spath = format!("{path}.source_servers[{j}]");
                if let Some(id) = self.resolve(server_names, "server", s, &spath) {
                    let server = &servers[id.index()];
                    if server.has_role(Role::Edge) && server.subscribed_site.is_none() {
                        self.error(
                            Code::Cfg021,
                            pos(s),
                            &spath,
                            format!(
                                "Edge server `{}` has no Edge subscription and cannot be a source server",
                                server.name
                            ),
                        )
                        .hint = Some("a Send connector is sourced on an Edge Subscription: set the Edge's subscribed_site (New-EdgeSubscription)".to_owned());
                    } else if !server.is_transport() && !server.has_role(Role::Edge) {
                        self.error(
                            Code::Cfg021,
                            pos(s),
                            &spath,
                            format!(
                                "`{}` is not a Mailbox server and cannot be a source server",
                                server.name
                            ),
                        )
                        .hint = Some(
                            "SourceTransportServers lists Mailbox servers (the Transport service) or Edge subscriptions"
                                .to_owned(),
                        );
                    } else {
                        let slot = if server.has_role(Role::Edge) {
                            &mut kinds.1
                        } else {
                            &mut kinds.0
                        };
                        slot.get_or_insert_with(|| server.name.clone());
                        if !source_servers.contains(&id) {
                            source_servers.push(id);
                        }
                    }
                }
            }
            if let (Some(mailbox), Some(edge)) = &kinds {
                self.error(
                    Code::Cfg026,
                    pos(&r.source_servers[0]),
                    &format!("{path}.source_servers"),
                    format!("send connector `{name}` lists Mailbox server `{mailbox}` and Edge server `{edge}` as source servers"),
                )
                .hint = Some("Exchange refuses the mix: \"You can't specify both Mailbox servers and Edge Subscriptions\"; make one connector for each".to_owned());
            }
            if r.source_servers.is_empty() {
                self.error(
                    Code::Cfg010,
                    pos(c),
                    &format!("{path}.source_servers"),
                    format!("send connector `{name}` has no source servers"),
                )
                .hint = Some(
                    "list the Mailbox servers allowed to use it (SourceTransportServers)"
                        .to_owned(),
                );
            }

            let b = |v: &Option<S<bool>>, d: bool| v.as_ref().map_or(d, |x| x.value);
            let require_tls = b(&r.require_tls, false);
            let ignore_starttls = b(&r.ignore_starttls, false);
            let domain_secure = b(&r.domain_secure, false);
            let dns_routing = b(&r.dns_routing, true);
            let frontend_proxy = b(&r.frontend_proxy, false);
            let tls_auth_level = r.tls_auth_level.as_ref().map(|l| match l.value {
                RawTlsAuthLevel::EncryptionOnly => TlsLevel::EncryptionOnly,
                RawTlsAuthLevel::CertificateValidation => TlsLevel::CertificateValidation,
                RawTlsAuthLevel::DomainValidation => TlsLevel::DomainValidation,
            });
            for (j, h) in r.smart_hosts.iter().enumerate() {
                if let Err(message) = values::smart_host(&h.value) {
                    self.error(
                        Code::Cfg018,
                        pos(h),
                        &format!("{path}.smart_hosts[{j}]"),
                        message,
                    )
                    .hint = Some(
                        "a smart host is an FQDN (relay.contoso.com) or an IP address ([10.1.1.1])"
                            .to_owned(),
                    );
                }
            }
            let smart_hosts: Vec<String> = r
                .smart_hosts
                .iter()
                .map(|h| values::host_key(&h.value))
                .collect();

            if !dns_routing && smart_hosts.is_empty() {
                self.error(
                    Code::Cfg011,
                    r.dns_routing.as_ref().map_or_else(|| pos(c), pos),
                    &format!("{path}.dns_routing"),
                    format!("send connector `{name}` has dns_routing: false but no smart hosts"),
                )
                .hint = Some("list smart_hosts, or set dns_routing: true".to_owned());
            }
            if dns_routing && !smart_hosts.is_empty() {
                self.error(Code::Cfg011, pos(&r.smart_hosts[0]), &format!("{path}.smart_hosts"), format!("send connector `{name}` lists smart hosts but routes by DNS"))
                    .hint = Some("Exchange requires DNSRoutingEnabled $false when SmartHosts is used: set dns_routing: false".to_owned());
            }
            if let (Some(level), false) = (&r.tls_auth_level, require_tls) {
                self.error(Code::Cfg012, pos(level), &format!("{path}.tls_auth_level"), format!("send connector `{name}` sets tls_auth_level without require_tls"))
                    .hint = Some("Set-SendConnector refuses TlsAuthLevel when RequireTLS is $false: add require_tls: true".to_owned());
            }
            if let (Some(flag), true) = (&r.require_tls, require_tls && ignore_starttls) {
                self.error(
                    Code::Cfg019,
                    pos(flag),
                    &format!("{path}.require_tls"),
                    format!("send connector `{name}` sets both require_tls and ignore_starttls"),
                )
                .hint = Some("IgnoreSTARTTLS must be $false when RequireTLS is $true".to_owned());
            }
            if domain_secure && (!dns_routing || ignore_starttls) {
                // Exchange accepts these; mutual TLS "functions correctly only when"
                // DNSRoutingEnabled is $true and IgnoreSTARTTLS is $false (Set-SendConnector
                // -DomainSecureEnabled): a warning that says what happens instead.
                let at = r.domain_secure.as_ref().map_or_else(|| pos(c), pos);
                let why = match (dns_routing, ignore_starttls) {
                    (false, true) => "smart-host routing and ignore_starttls",
                    (false, false) => "smart-host routing",
                    _ => "ignore_starttls",
                };
                self.error(Code::Cfg108, at, &format!("{path}.domain_secure"), format!("send connector `{name}` enables Domain Secure with {why}: Exchange accepts it, but mutual TLS works only with DNS routing and STARTTLS, so its partners get the connector's own TLS settings, not Domain Secure"))
                    .hint = Some("Set-SendConnector -DNSRoutingEnabled $true -IgnoreSTARTTLS $false (YAML: dns_routing: true, no smart_hosts, ignore_starttls: false), or drop domain_secure and use require_tls with tls_auth_level: domain_validation".to_owned());
            }
            if tls_auth_level == Some(TlsLevel::DomainValidation)
                && !dns_routing
                && r.tls_domain.is_none()
            {
                let at = r.tls_auth_level.as_ref().map_or_else(|| pos(c), pos);
                self.error(Code::Cfg025, at, &format!("{path}.tls_auth_level"), format!("smart-host send connector `{name}` uses tls_auth_level: domain_validation without tls_domain"))
                    .hint = Some("Set-SendConnector -TlsDomain is required when TlsAuthLevel is DomainValidation and DNSRoutingEnabled is $false: set tls_domain to the name on the smart host's certificate".to_owned());
            }
            if let (Some(domain), false) = (
                &r.tls_domain,
                tls_auth_level == Some(TlsLevel::DomainValidation),
            ) {
                self.error(Code::Cfg109, pos(domain), &format!("{path}.tls_domain"), format!("send connector `{name}` sets tls_domain without tls_auth_level: domain_validation, so Exchange ignores it: the remote certificate's name is not checked"))
                    .hint = Some("Set-SendConnector -TlsDomain \"is used only if the TlsAuthLevel parameter is set to DomainValidation\": set tls_auth_level: domain_validation, or remove tls_domain".to_owned());
            }
            let tls_domain = r.tls_domain.as_ref().and_then(|d| {
                let lower = d.value.trim().to_lowercase();
                let bare = lower.strip_prefix("*.").unwrap_or(&lower);
                match values::domain_name(bare) {
                    Ok(()) => Some(lower),
                    Err(message) => {
                        self.error(Code::Cfg018, pos(d), &format!("{path}.tls_domain"), message);
                        None
                    }
                }
            });
            if frontend_proxy
                && profile
                    .as_ref()
                    .is_some_and(|p| !p.frontend_proxy.supported)
            {
                let flag = r.frontend_proxy.as_ref().expect("frontend_proxy is set");
                let pname = profile.as_ref().map_or("", |p| p.name.as_str()).to_owned();
                self.error(Code::Cfg023, pos(flag), &format!("{path}.frontend_proxy"), format!("profile `{pname}` has no Front End outbound proxy (FrontendProxyEnabled is Exchange 2013 and later)"))
                    .hint = Some("remove frontend_proxy, or use profile exchange2013 or later".to_owned());
            }
            let max_message_size = self.limit(
                r.max_message_size.as_ref(),
                &format!("{path}.max_message_size"),
                default_size,
            );
            connectors.push(SendConnector {
                name,
                address_spaces,
                source_servers,
                scoped: b(&r.scoped, false),
                enabled: b(&r.enabled, true),
                frontend_proxy,
                dns_routing,
                smart_hosts,
                require_tls,
                tls_auth_level,
                tls_domain,
                ignore_starttls,
                domain_secure,
                tls_certificate_name: r
                    .tls_certificate_name
                    .as_ref()
                    .map(|n| n.value.trim().to_owned()),
                cloud_services_mail_enabled: b(&r.cloud_services_mail_enabled, false),
                max_message_size,
                implicit: false,
                origin: origin(c, &path),
            });
        }
        self.edge_sync_connectors(&mut connectors, &names, sites, servers);
        connectors
    }

    /// Each Edge subscription creates `EdgeSync - <Site> to Internet`: `SMTP:*;100`, source
    /// servers = the subscribed Edge servers, DNS routing, Domain Secure on (reference §1.11).
    fn edge_sync_connectors(
        &mut self,
        connectors: &mut Vec<SendConnector>,
        names: &Names<ConnectorId>,
        sites: &[Site],
        servers: &[Server],
    ) {
        for (i, site) in sites.iter().enumerate() {
            let id = SiteId::from_index(i);
            let edges: Vec<ServerId> = (0..servers.len())
                .map(ServerId::from_index)
                .filter(|s| {
                    let server = &servers[s.index()];
                    server.subscribed_site == Some(id) && server.create_internet_send_connector
                })
                .collect();
            let Some(&first) = edges.first() else {
                continue;
            };
            let name = format!("EdgeSync - {} to Internet", site.name);
            let edge = &servers[first.index()];
            let origin = edge.origin.clone();
            if names.get(&name).is_some() {
                self.error(
                    Code::Cfg004,
                    Pos { line: origin.line, column: origin.column, byte: None },
                    &origin.yaml_path,
                    format!("the Edge subscription of `{}` creates `{name}`, which a send connector already uses", edge.name),
                )
                .hint = Some("rename the explicit send connector: EdgeSync names are reserved for Edge subscriptions".to_owned());
            }
            connectors.push(SendConnector {
                name,
                address_spaces: vec![AddressSpace {
                    pattern: AddressPattern::Any,
                    cost: 100,
                }],
                source_servers: edges,
                scoped: false,
                enabled: true,
                frontend_proxy: false,
                dns_routing: true,
                smart_hosts: Vec::new(),
                require_tls: false,
                tls_auth_level: None,
                tls_domain: None,
                ignore_starttls: false,
                domain_secure: true,
                tls_certificate_name: None,
                cloud_services_mail_enabled: false,
                max_message_size: None,
                implicit: true,
                origin,
            });
        }
    }

    fn predicates(
        &mut self,
        raw: Option<&S<RawPredicates>>,
        path: &str,
        site_names: &Names<SiteId>,
    ) -> RulePredicates {
        let Some(raw) = raw else {
            return RulePredicates::default();
        };
        let r = &raw.value;
        let mut out = RulePredicates {
            subject_or_body_contains: r
                .subject_or_body_contains
                .iter()
                .map(|w| w.value.to_lowercase())
                .collect(),
            sent_to_scope: r.sent_to_scope.as_ref().map(|s| match s.value {
                RawScope::InOrganization => Scope::InOrganization,
                RawScope::NotInOrganization => Scope::NotInOrganization,
            }),
            recipient_domain_is: self.domains(
                &r.recipient_domain_is,
                &format!("{path}.recipient_domain_is"),
                false,
            ),
            from_site: Vec::new(),
        };
        for (i, word) in r.subject_or_body_contains.iter().enumerate() {
            self.printable(
                word,
                &format!("{path}.subject_or_body_contains[{i}]"),
                "a word",
            );
            if word.value.trim().is_empty() {
                self.error(
                    Code::Cfg018,
                    pos(word),
                    &format!("{path}.subject_or_body_contains[{i}]"),
                    "an empty word matches every message",
                );
            }
        }
        for (i, s) in r.from_site.iter().enumerate() {
            if let Some(id) = self.resolve(site_names, "site", s, &format!("{path}.from_site[{i}]"))
            {
                out.from_site.push(id);
            }
        }
        out
    }

    fn transport_rules(
        &mut self,
        raw: &RawTopology,
        profile: Option<&Profile>,
        site_names: &Names<SiteId>,
        connector_names: &[String],
    ) -> Vec<TransportRule> {
        let mut names = Names::new();
        let mut rules = Vec::new();
        let mut used_priorities: BTreeMap<u32, String> = BTreeMap::new();
        for (i, rule) in raw.transport_rules.iter().enumerate() {
            let path = format!("transport_rules[{i}]");
            let r = &rule.value;
            self.define(
                &mut names,
                "transport rule",
                &r.name,
                &format!("{path}.name"),
                i,
            );
            let priority = r.priority.as_ref().and_then(|p| {
                self.ranged(p, &format!("{path}.priority"), 0..=9_999, "rule priority")
            });
            if let (Some(p), Some(raw_p)) = (priority, &r.priority) {
                if let Some(other) = used_priorities.get(&p) {
                    let message = format!("priority {p} is already used by rule `{other}`");
                    self.error(
                        Code::Cfg007,
                        pos(raw_p),
                        &format!("{path}.priority"),
                        message,
                    )
                    .hint = Some(
                        "each transport rule has its own priority (0 is evaluated first)"
                            .to_owned(),
                    );
                } else {
                    used_priorities.insert(p, r.name.value.clone());
                }
            }
            let conditions = self.predicates(
                r.conditions.as_ref(),
                &format!("{path}.conditions"),
                site_names,
            );
            let exceptions = self.predicates(
                r.exceptions.as_ref(),
                &format!("{path}.exceptions"),
                site_names,
            );
            let actions = &r.actions.value;
            if actions.require_tls.is_none() && actions.route_via_connector.is_none() {
                self.error(
                    Code::Cfg002,
                    pos(&r.actions),
                    &format!("{path}.actions"),
                    format!("transport rule `{}` has no action", r.name.value),
                )
                .hint = Some(
                    "New-TransportRule needs at least one action; tlsflow models require_tls"
                        .to_owned(),
                );
            }
            let require_tls = actions.require_tls.as_ref().is_some_and(|a| a.value);
            if let (Some(flag), Some(p)) = (&actions.require_tls, profile)
                && flag.value
                && !p.rule_action_require_tls.supported
            {
                self.error(
                    Code::Cfg017,
                    pos(flag),
                    &format!("{path}.actions.require_tls"),
                    format!(
                        "profile `{}` has no RouteMessageOutboundRequireTls action",
                        p.name
                    ),
                )
                .hint = Some(format!(
                    "the action is Exchange 2013 and later ({}); on 2010, require TLS with a send connector (require_tls) for the domains that need it, or use profile exchange2013",
                    p.rule_action_require_tls.source
                ));
            }
            let route_via_connector = actions
                .route_via_connector
                .as_ref()
                .map(|c| c.value.trim().to_owned());
            if let (Some(c), Some(p)) = (&actions.route_via_connector, profile) {
                if !p.rule_action_route_via_connector.supported {
                    self.error(Code::Cfg017, pos(c), &format!("{path}.actions.route_via_connector"), format!("profile `{}` has no RouteMessageOutboundConnector action", p.name))
                        .hint = Some("RouteMessageOutboundConnector exists in Exchange Online only; on-premises, scope a Send connector to the domain instead".to_owned());
                } else if !connector_names
                    .iter()
                    .any(|n| name_key(n) == name_key(&c.value))
                {
                    let hint = did_you_mean(&c.value, connector_names.iter().map(String::as_str));
                    self.error(
                        Code::Cfg005,
                        pos(c),
                        &format!("{path}.actions.route_via_connector"),
                        format!("unknown send connector `{}`", c.value),
                    )
                    .hint = hint;
                }
            }
            let guid = r.guid.as_ref().and_then(|g| {
                let text = g.value.trim().trim_start_matches('{').trim_end_matches('}');
                if is_guid(text) {
                    Some(text.to_lowercase())
                } else {
                    self.error(
                        Code::Cfg018,
                        pos(g),
                        &format!("{path}.guid"),
                        format!("`{}` is not a GUID", g.value),
                    )
                    .hint = Some("the rule's Guid from Get-TransportRule, e.g. 7366001e-f754-4330-9211-1bb412b6b159".to_owned());
                    None
                }
            });
            rules.push((
                priority,
                TransportRule {
                    id: RuleId::from_index(i),
                    name: r.name.value.trim().to_owned(),
                    guid,
                    priority: 0,
                    mode: match r.mode.as_ref().map(|m| m.value) {
                        Some(RawRuleMode::Audit) => RuleMode::Audit,
                        _ => RuleMode::Enforce,
                    },
                    conditions,
                    exceptions,
                    actions: RuleActions {
                        require_tls,
                        route_via_connector,
                    },
                    origin: origin(rule, &path),
                },
            ));
        }
        // Rules without a priority get the next free number in file order, as New-TransportRule does.
        let mut next = 0;
        for (priority, rule) in &mut rules {
            rule.priority = if let Some(p) = priority {
                *p
            } else {
                while used_priorities.contains_key(&next) {
                    next += 1;
                }
                used_priorities.insert(next, rule.name.clone());
                next
            };
        }
        let mut rules: Vec<TransportRule> = rules.into_iter().map(|(_, r)| r).collect();
        rules.sort_by_key(|r| r.priority);
        for (i, r) in rules.iter_mut().enumerate() {
            r.id = RuleId::from_index(i);
        }
        rules
    }

    /// A size limit: a size or `unlimited` (`None`); `default` when absent or invalid.
    fn limit(
        &mut self,
        value: Option<&S<super::raw::RawScalar>>,
        path: &str,
        default: Option<crate::model::Bytes>,
    ) -> Option<crate::model::Bytes> {
        let Some(v) = value else {
            return default;
        };
        match values::size(&v.value.0) {
            Ok(size) => size,
            Err(message) => {
                self.error(Code::Cfg018, pos(v), path, message);
                default
            }
        }
    }

    #[expect(
        clippy::many_single_char_names,
        reason = "short names keep the table of settings readable"
    )]
    fn transport_config(&mut self, raw: &RawTopology) -> TransportConfig {
        let d = TransportConfig::default();
        let Some(c) = &raw.transport_config else {
            return d;
        };
        let r = &c.value;
        let p = "transport_config";
        let secure = |v: &mut Self, list: &[S<String>], key: &str| {
            let mut out = Vec::new();
            for (i, item) in list.iter().enumerate() {
                let lower = item.value.trim().to_lowercase();
                if lower.contains('*') {
                    v.error(
                        Code::Cfg018,
                        pos(item),
                        &format!("{p}.{key}[{i}]"),
                        format!(
                            "`{}`: the Domain Secure lists take no wildcards",
                            item.value
                        ),
                    );
                } else if let Err(message) = values::domain_name(&lower) {
                    v.error(Code::Cfg018, pos(item), &format!("{p}.{key}[{i}]"), message);
                } else {
                    out.push(lower);
                }
            }
            out
        };
        let s = Millis::SECOND;
        let config = TransportConfig {
            tls_send_domain_secure_list: secure(
                self,
                &r.tls_send_domain_secure_list,
                "tls_send_domain_secure_list",
            ),
            tls_receive_domain_secure_list: secure(
                self,
                &r.tls_receive_domain_secure_list,
                "tls_receive_domain_secure_list",
            ),
            message_expiration_timeout: self.duration(
                r.message_expiration_timeout.as_ref(),
                &format!("{p}.message_expiration_timeout"),
                d.message_expiration_timeout,
                (s.times(5), Millis::DAY.times(90)),
            ),
            delay_notification_timeout: self.duration(
                r.delay_notification_timeout.as_ref(),
                &format!("{p}.delay_notification_timeout"),
                d.delay_notification_timeout,
                (s, Millis::DAY.times(30)),
            ),
            transient_failure_retry_count: r.transient_failure_retry_count.as_ref().map_or(
                d.transient_failure_retry_count,
                |v| {
                    self.ranged(
                        v,
                        &format!("{p}.transient_failure_retry_count"),
                        0..=15,
                        "transient_failure_retry_count",
                    )
                    .unwrap_or(d.transient_failure_retry_count)
                },
            ),
            transient_failure_retry_interval: self.duration(
                r.transient_failure_retry_interval.as_ref(),
                &format!("{p}.transient_failure_retry_interval"),
                d.transient_failure_retry_interval,
                (s, Millis::HOUR.times(12)),
            ),
            outbound_connection_failure_retry_interval: self.duration(
                r.outbound_connection_failure_retry_interval.as_ref(),
                &format!("{p}.outbound_connection_failure_retry_interval"),
                d.outbound_connection_failure_retry_interval,
                (s, Millis::DAY.times(20)),
            ),
            queue_glitch_retry_count: r.queue_glitch_retry_count.as_ref().map_or(
                d.queue_glitch_retry_count,
                |v| {
                    self.ranged(
                        v,
                        &format!("{p}.queue_glitch_retry_count"),
                        0..=15,
                        "queue_glitch_retry_count",
                    )
                    .unwrap_or(d.queue_glitch_retry_count)
                },
            ),
            queue_glitch_retry_interval: self.duration(
                r.queue_glitch_retry_interval.as_ref(),
                &format!("{p}.queue_glitch_retry_interval"),
                d.queue_glitch_retry_interval,
                (s, Millis::HOUR),
            ),
            max_send_size: self.limit(
                r.max_send_size.as_ref(),
                &format!("{p}.max_send_size"),
                d.max_send_size,
            ),
            max_receive_size: self.limit(
                r.max_receive_size.as_ref(),
                &format!("{p}.max_receive_size"),
                d.max_receive_size,
            ),
        };
        let retries = config
            .transient_failure_retry_interval
            .times(u64::from(config.transient_failure_retry_count));
        if config.delay_notification_timeout <= retries {
            self.error(Code::Cfg104, pos(c), p, format!(
                "delay_notification_timeout ({}) does not exceed transient_failure_retry_count x transient_failure_retry_interval ({retries})",
                config.delay_notification_timeout
            ))
            .hint = Some("Exchange recommends a delay notification later than the transient retries (docs/evidence.md#retry-and-expiry)".to_owned());
        }
        if config.message_expiration_timeout <= config.delay_notification_timeout {
            self.error(Code::Cfg104, pos(c), p, format!(
                "message_expiration_timeout ({}) is not later than delay_notification_timeout ({}): no delay DSN will ever be sent",
                config.message_expiration_timeout, config.delay_notification_timeout
            ));
        }
        config
    }

    /// `database_availability_groups`: what Add-DatabaseAvailabilityGroupServer refuses is an
    /// error (CFG024): a member that is not a Mailbox server, a server in two DAGs, members of
    /// different Exchange versions, more than 16 members.
    fn dags(
        &mut self,
        raw: &RawTopology,
        servers: &[Server],
        server_names: &Names<ServerId>,
    ) -> Vec<crate::model::Dag> {
        let mut names: Names<crate::model::DagId> = Names::new();
        let mut member_of: BTreeMap<ServerId, String> = BTreeMap::new();
        let mut out = Vec::new();
        for (i, d) in raw.database_availability_groups.iter().enumerate() {
            let path = format!("database_availability_groups[{i}]");
            let name = d.value.name.value.trim().to_owned();
            self.define(
                &mut names,
                "database availability group",
                &d.value.name,
                &format!("{path}.name"),
                crate::model::DagId::from_index(i),
            );
            if d.value.members.value.len() > 16 {
                self.error(
                    Code::Cfg024,
                    pos(&d.value.members),
                    &format!("{path}.members"),
                    format!(
                        "DAG `{name}` has {} members: a DAG holds at most 16 Mailbox servers",
                        d.value.members.value.len()
                    ),
                );
            }
            let mut members: Vec<ServerId> = Vec::new();
            for (j, m) in d.value.members.value.iter().enumerate() {
                let mpath = format!("{path}.members[{j}]");
                let Some(id) = self.resolve(server_names, "server", m, &mpath) else {
                    continue;
                };
                let server = &servers[id.index()];
                if !server.is_transport() {
                    self.error(
                        Code::Cfg024,
                        pos(m),
                        &mpath,
                        format!(
                            "`{}` is not a Mailbox server and cannot be a DAG member",
                            server.name
                        ),
                    )
                    .hint = Some(
                        "Add-DatabaseAvailabilityGroupServer takes Mailbox servers".to_owned(),
                    );
                    continue;
                }
                if let Some(other) = member_of.get(&id) {
                    let other = other.clone();
                    self.error(
                        Code::Cfg024,
                        pos(m),
                        &mpath,
                        format!("`{}` is already a member of DAG `{other}`", server.name),
                    )
                    .hint = Some("a Mailbox server can be a member of one DAG only".to_owned());
                    continue;
                }
                if let Some(&first) = members.first()
                    && servers[first.index()].major_version() != server.major_version()
                {
                    self.error(
                        Code::Cfg024,
                        pos(m),
                        &mpath,
                        format!(
                            "`{}` (version {}) cannot join DAG `{name}` with `{}` (version {})",
                            server.name,
                            server.version.as_deref().unwrap_or("15"),
                            servers[first.index()].name,
                            servers[first.index()].version.as_deref().unwrap_or("15"),
                        ),
                    )
                    .hint = Some("a DAG's members run the same Exchange version".to_owned());
                    continue;
                }
                if !members.contains(&id) {
                    member_of.insert(id, name.clone());
                    members.push(id);
                }
            }
            out.push(crate::model::Dag {
                name,
                members,
                origin: origin(d, &path),
            });
        }
        out
    }

    fn mailboxes(
        &mut self,
        raw: &RawTopology,
        servers: &[Server],
        server_names: &Names<ServerId>,
    ) -> Vec<Mailbox> {
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        let mut out = Vec::new();
        for (i, m) in raw.mailboxes.iter().enumerate() {
            let path = format!("mailboxes[{i}]");
            let address = match values::address(&m.value.address.value) {
                Ok((Some(exact), _)) => Some(MailboxAddress::Exact(exact)),
                Ok((None, domain)) => Some(MailboxAddress::Domain(domain)),
                Err(message) => {
                    self.error(
                        Code::Cfg018,
                        pos(&m.value.address),
                        &format!("{path}.address"),
                        message,
                    );
                    None
                }
            };
            if address.is_some() {
                let key = m.value.address.value.trim().to_lowercase();
                if let Some(line) = seen.get(&key) {
                    let line = *line;
                    self.error(
                        Code::Cfg004,
                        pos(&m.value.address),
                        &format!("{path}.address"),
                        format!("mailbox `{key}` is listed twice"),
                    )
                    .hint = Some(format!("the first entry is on line {line}"));
                } else {
                    seen.insert(key, pos(&m.value.address).line);
                }
            }
            let server = self.resolve(
                server_names,
                "server",
                &m.value.server,
                &format!("{path}.server"),
            );
            if let Some(id) = server
                && !servers[id.index()].is_transport()
            {
                self.error(
                    Code::Cfg021,
                    pos(&m.value.server),
                    &format!("{path}.server"),
                    format!(
                        "`{}` is not a Mailbox server and holds no mailboxes",
                        servers[id.index()].name
                    ),
                );
            }
            if let (Some(address), Some(server)) = (address, server) {
                out.push(Mailbox {
                    address,
                    server,
                    origin: origin(m, &path),
                });
            }
        }
        out
    }

    fn external_domains(&mut self, raw: &RawTopology) -> Vec<ExternalDomain> {
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        let mut out = Vec::new();
        for (i, d) in raw.external_domains.iter().enumerate() {
            let path = format!("external_domains[{i}]");
            // An IP smart host is described by an entry named `[a.b.c.d]`.
            let domain = values::host_key(&d.value.domain.value);
            if domain != "*"
                && !domain.starts_with('[')
                && let Err(message) = values::domain_name(&domain)
            {
                self.error(
                    Code::Cfg018,
                    pos(&d.value.domain),
                    &format!("{path}.domain"),
                    message,
                )
                .hint = Some(
                    "`*` stands for every domain not listed; an IP smart host is `[10.1.1.1]`"
                        .to_owned(),
                );
            }
            if let Some(line) = seen.get(&domain) {
                let line = *line;
                self.error(
                    Code::Cfg004,
                    pos(&d.value.domain),
                    &format!("{path}.domain"),
                    format!("external domain `{domain}` is listed twice"),
                )
                .hint = Some(format!("the first entry is on line {line}"));
            } else {
                seen.insert(domain.clone(), pos(&d.value.domain).line);
            }
            if d.value.mx.value.is_empty() {
                self.error(
                    Code::Cfg018,
                    pos(&d.value.mx),
                    &format!("{path}.mx"),
                    format!("external domain `{domain}` has no MX host"),
                );
            }
            let mut mx: Vec<MxHost> = d
                .value
                .mx
                .value
                .iter()
                .enumerate()
                .map(|(j, m)| self.mx(m, &format!("{path}.mx[{j}]")))
                .collect();
            mx.sort_by(|a, b| {
                a.preference
                    .cmp(&b.preference)
                    .then_with(|| a.host.cmp(&b.host))
            });
            out.push(ExternalDomain {
                domain,
                mx,
                origin: origin(d, &path),
            });
        }
        out
    }

    fn mx(&mut self, m: &S<super::raw::RawMx>, path: &str) -> MxHost {
        let r = &m.value;
        let host = values::host_key(r.host.value.trim().trim_end_matches('.'));
        if !host.starts_with('[')
            && let Err(message) = values::domain_name(&host)
        {
            self.error(Code::Cfg018, pos(&r.host), &format!("{path}.host"), message);
        }
        let preference = r.preference.as_ref().map_or(10, |p| {
            self.ranged(
                p,
                &format!("{path}.preference"),
                0..=65_535,
                "MX preference",
            )
            .unwrap_or(10)
        });
        let starttls = match r.starttls.as_ref().map(|s| s.value) {
            None | Some(RawStartTls::Offered) => StartTls::Offered,
            Some(RawStartTls::NotOffered) => StartTls::NotOffered,
            Some(RawStartTls::HandshakeFails) => StartTls::HandshakeFails,
        };
        let certificate = r.certificate.as_ref().map(|c| {
            let cpath = format!("{path}.certificate");
            let mut date = |v: &Option<S<super::raw::RawScalar>>, key: &str| {
                v.as_ref().and_then(|d| match values::instant(&d.value.0) {
                    Ok(t) => Some(t),
                    Err(message) => {
                        self.error(Code::Cfg018, pos(d), &format!("{cpath}.{key}"), message);
                        None
                    }
                })
            };
            let not_before = date(&c.value.not_before, "not_before");
            let not_after = date(&c.value.not_after, "not_after");
            if let (Some(b), Some(a), Some(raw)) = (not_before, not_after, &c.value.not_after)
                && b > a
            {
                self.error(
                    Code::Cfg018,
                    pos(raw),
                    &format!("{cpath}.not_after"),
                    format!("the certificate expires ({a}) before it becomes valid ({b})"),
                );
            }
            if let Some(subject) = &c.value.subject {
                self.printable(
                    subject,
                    &format!("{cpath}.subject"),
                    "the certificate subject",
                );
            }
            for (i, name) in c.value.san.iter().enumerate() {
                self.printable(name, &format!("{cpath}.san[{i}]"), "a certificate name");
            }
            Certificate {
                subject: c
                    .value
                    .subject
                    .as_ref()
                    .map(|s| s.value.trim().to_lowercase()),
                san: c
                    .value
                    .san
                    .iter()
                    .map(|s| s.value.trim().to_lowercase())
                    .collect(),
                trusted: c.value.trusted.as_ref().is_none_or(|t| t.value),
                not_before,
                not_after,
            }
        });
        MxHost {
            host,
            preference,
            starttls,
            certificate,
            available: r.available.as_ref().is_none_or(|a| a.value),
            tls_versions: r
                .tls_versions
                .iter()
                .flatten()
                .map(|v| v.value.trim().to_owned())
                .collect(),
        }
    }
}

/// The first few names of a list, for hints.
fn preview(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
    if names.len() > shown.len() {
        format!("{}, …", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn flag(value: Option<&S<bool>>, default: bool) -> bool {
    value.map_or(default, |v| v.value)
}

/// A hint for a name that differs from a known one only by look-alike characters (e.g. a
/// Cyrillic `а` for a Latin `a`): says which character is not what it seems.
fn lookalike(name: &str, known: &[String]) -> Option<String> {
    let odd: Vec<char> = name.chars().filter(|c| !c.is_ascii()).collect();
    let first = *odd.first()?;
    let close = did_you_mean(name, known.iter().map(String::as_str))?;
    Some(format!(
        "`{name}` contains the non-ASCII character '{first}' (U+{:04X}); {close}",
        u32::from(first)
    ))
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}
