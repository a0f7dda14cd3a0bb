//! Scenario files (SPEC §4): a topology (a path or inline), traffic, a timeline, what-if variants
//! and expectations. Each variant's `changes` are applied to a copy of the raw topology, which is
//! then validated like any topology: a variant that makes the organisation invalid is reported
//! with the position of the change in the scenario file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use crate::model::scenario::{
    Action, Bound, Comparison, Expectation, ExplicitMessage, HopLatency, MxChange, Scenario,
    SenderPattern, TimedEvent, Variant, Workload,
};
use crate::model::{Bytes, Code, Millis, Origin, StartTls, Timestamp, name_key};

use super::diagnostic::{Diagnostic, did_you_mean};
use super::raw::{
    RawDag, RawExternalDomain, RawMailbox, RawScalar, RawSendConnector, RawServer, RawSite,
    RawSiteLink, RawStartTls, RawTopology, RawTransportConfig, RawTransportRule, S,
};
use super::validate::Attribution;
use super::yaml::{self, Pos, pos};
use super::{LoadFailure, SourceFile, read_source, validate, values};

/// A tlsflow scenario file (format 1): a topology (a path, or inline) plus traffic, a timeline
/// of faults, optional what-if variants and optional expectations.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Scenario")]
pub(super) struct RawScenario {
    /// File format version; tlsflow reads format 1.
    #[schemars(extend("const" = 1))]
    format: S<i64>,
    /// The scenario's name, shown in reports.
    name: S<String>,
    /// The topology: a path to a topology file (relative to this file), or an inline topology.
    topology: S<RawTopologyRef>,
    /// Seed of the random generator: the same seed gives the same run. Default 0.
    seed: Option<S<u64>>,
    /// The wall-clock instant of simulated time 0, against which certificate validity is
    /// judged: a date (2026-06-01, midnight UTC) or an RFC 3339 instant. Default: today 00:00
    /// UTC.
    start: Option<S<RawScalar>>,
    /// How much simulated time to run: `30s`, `5m`, `4h`, `3d` or an Exchange timespan
    /// (`2.00:00:00`).
    duration: S<RawScalar>,
    /// The time one hop takes.
    latency: Option<S<RawLatency>>,
    /// Explicit messages.
    #[serde(default)]
    messages: Vec<S<RawMessage>>,
    /// Generated traffic (seeded Poisson arrivals).
    #[serde(default)]
    workload: Vec<S<RawWorkload>>,
    /// Timeline of faults and changes; events at the same time apply in file order.
    #[serde(default)]
    events: Vec<S<RawEvent>>,
    /// What-ifs, each run against the same traffic and seed as the baseline.
    #[serde(default)]
    variants: Vec<S<RawVariant>>,
    /// Assertions, by run (`baseline` or a variant's name); a failed expectation is an error
    /// finding.
    #[serde(default)]
    expect: BTreeMap<String, S<RawExpectation>>,
}

/// `topology: ../topologies/contoso.yaml` or an inline topology mapping.
#[derive(Clone, Debug)]
enum RawTopologyRef {
    Path(String),
    Inline(Box<RawTopology>),
}

impl<'de> Deserialize<'de> for RawTopologyRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawTopologyRef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path to a topology file, or an inline topology")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawTopologyRef, E> {
                Ok(RawTopologyRef::Path(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawTopologyRef, A::Error> {
                let raw =
                    RawTopology::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(RawTopologyRef::Inline(Box::new(raw)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Exactly what [`RawTopologyRef`]'s `Deserialize` accepts: a string (a path) or a mapping that
/// is a whole topology.
impl JsonSchema for RawTopologyRef {
    fn schema_name() -> Cow<'static, str> {
        "TopologyRef".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let inline = generator.subschema_for::<RawTopology>();
        json_schema!({
            "oneOf": [
                {
                    "type": "string",
                    "description": "Path to a topology file, relative to the scenario file."
                },
                inline
            ]
        })
    }
}

/// The time one hop takes (durations such as `5ms`, `1s`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Latency")]
struct RawLatency {
    /// A hop between two servers of one site. Default 5ms.
    same_site: Option<S<RawScalar>>,
    /// A hop between sites. Default 50ms.
    cross_site: Option<S<RawScalar>>,
}

/// One explicit message.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Message")]
struct RawMessage {
    /// When it is sent, as a duration after the start (`0s`, `90m`).
    at: S<RawScalar>,
    /// The sender's address; it needs a mailbox in the topology.
    from: S<String>,
    /// Recipient addresses, at least one.
    #[schemars(length(min = 1))]
    to: S<Vec<S<String>>>,
    /// Subject (transport rules match words in it). Default empty.
    subject: Option<S<String>>,
    /// Size: `120KB`, `2MB` or a number of bytes. Default 100KB.
    size: Option<S<RawScalar>>,
}

/// Generated traffic from a set of senders, named by exactly one of `from` or `site`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Workload")]
struct RawWorkload {
    /// Sender address or pattern (`*@branch.contoso.com`).
    from: Option<S<String>>,
    /// Every sender whose mailbox is in this AD site.
    site: Option<S<String>>,
    /// Recipients and their relative weights (numbers of at least 0, not all 0): a domain
    /// (`fabrikam.com`: a generated address in it), an internal pattern (`*@contoso.com`: a
    /// generated address there, a mailbox recipient when a mailbox pattern covers it) or one
    /// address (`alice@contoso.com`). Each message has one of them.
    to: S<BTreeMap<String, f64>>,
    /// Addresses every generated message also goes to, internal or external (e.g. a colleague
    /// in another site, whose mailbox moves where the rules run: reference §1.10).
    cc: Option<S<Vec<S<String>>>>,
    /// Messages per unit of time, Poisson arrivals: `200/h`, `5/m`, `1000/d`, `1/s`.
    rate: S<RawScalar>,
    /// Subjects and their relative weights. Default: an empty subject.
    subject: Option<S<BTreeMap<String, f64>>>,
    /// Message sizes, drawn uniformly between min and max. Default 10KB to 200KB.
    size: Option<S<RawSizeRange>>,
}

/// A range of message sizes.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SizeRange")]
struct RawSizeRange {
    /// Smallest size (`5KB`).
    min: S<RawScalar>,
    /// Largest size (`2MB`).
    max: S<RawScalar>,
}

/// A timed fault or change: exactly one of `down`, `up` or `set`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Event")]
struct RawEvent {
    /// When, as a duration after the start (`1h`).
    at: S<RawScalar>,
    /// A component that fails: `server:NAME`, `site:NAME`, `link:NAME` or `connector:NAME`.
    down: Option<S<String>>,
    /// A component that comes back: `server:NAME`, `site:NAME`, `link:NAME` or
    /// `connector:NAME`.
    up: Option<S<String>>,
    /// A change to an external domain's MX hosts.
    set: Option<S<RawSet>>,
}

/// A change to an external domain's MX hosts; omitted keys stay as they are.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MxChange")]
struct RawSet {
    /// The external domain, as listed under the topology's `external_domains`.
    external_domain: S<String>,
    /// One MX host of the domain. Default: every MX host of the domain.
    mx: Option<S<String>>,
    /// The new STARTTLS behaviour.
    starttls: Option<S<RawStartTls>>,
    /// False: connection refused or host down.
    available: Option<S<bool>>,
    /// Changes to the hosts' certificate.
    certificate: Option<S<RawCertificatePatch>>,
}

/// Changes to an MX host's certificate.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CertificateChange")]
struct RawCertificatePatch {
    /// Chains to a trusted CA.
    trusted: Option<S<bool>>,
    /// The new expiry: a date (2026-06-02, midnight UTC) or an RFC 3339 instant.
    not_after: Option<S<RawScalar>>,
}

/// A what-if: changes applied to a copy of the baseline topology, run against the same traffic
/// and seed.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Variant")]
struct RawVariant {
    /// Variant name, unique (case-insensitive), not `baseline`.
    name: S<String>,
    /// Changes, applied in order.
    #[serde(default)]
    changes: Vec<S<RawChange>>,
}

/// One what-if change: a mapping with exactly one key (`- add_send_connector: {...}`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Change")]
enum RawChange {
    /// Use another behaviour profile: a built-in name or a path.
    Profile(S<String>),
    /// Add a site.
    AddSite(RawSite),
    /// Remove the site of this name.
    RemoveSite(S<String>),
    /// Change a site's settings (named by `name`).
    ModifySite(RawSitePatch),
    /// Change a site link's settings (named by `name`).
    ModifySiteLink(RawSiteLinkPatch),
    /// Change a transport rule's settings (named by `name`).
    ModifyTransportRule(RawRulePatch),
    /// Replace the definition of an external domain (named by `domain`).
    ModifyExternalDomain(RawExternalDomain),
    /// Remove the mailbox with this address.
    RemoveMailbox(S<String>),
    /// Add a site link.
    AddSiteLink(RawSiteLink),
    /// Remove the site link of this name.
    RemoveSiteLink(S<String>),
    /// Add a server.
    AddServer(RawServer),
    /// Remove the server of this name.
    RemoveServer(S<String>),
    /// Change a server's settings (named by `name`).
    ModifyServer(RawServerPatch),
    /// Add a send connector.
    AddSendConnector(RawSendConnector),
    /// Remove the send connector of this name.
    RemoveSendConnector(S<String>),
    /// Change a send connector's settings (named by `name`).
    ModifySendConnector(RawConnectorPatch),
    /// Add a transport rule.
    AddTransportRule(RawTransportRule),
    /// Remove the transport rule of this name.
    RemoveTransportRule(S<String>),
    /// Add a mailbox.
    AddMailbox(RawMailbox),
    /// Add an external domain.
    AddExternalDomain(RawExternalDomain),
    /// Remove the external domain of this name.
    RemoveExternalDomain(S<String>),
    /// Replace the whole `transport_config`.
    TransportConfig(RawTransportConfig),
    AddDatabaseAvailabilityGroup(RawDag),
    RemoveDatabaseAvailabilityGroup(S<String>),
    ModifyDatabaseAvailabilityGroup(RawDagPatch),
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "DatabaseAvailabilityGroupPatch")]
struct RawDagPatch {
    name: S<String>,
    /// The new member list (Add-/Remove-DatabaseAvailabilityGroupServer).
    #[schemars(length(min = 1, max = 16))]
    members: Option<S<Vec<S<String>>>>,
}

/// A site to change, by name; omitted keys stay as they are.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SitePatch")]
struct RawSitePatch {
    /// The site to change.
    name: S<String>,
    /// HubSiteEnabled.
    hub: Option<S<bool>>,
    /// InboundMailEnabled.
    inbound_mail_enabled: Option<S<bool>>,
}

/// A site link to change, by name; omitted keys stay as they are.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SiteLinkPatch")]
struct RawSiteLinkPatch {
    /// The site link to change.
    name: S<String>,
    /// The sites the link joins: at least two distinct site names.
    #[schemars(length(min = 2))]
    sites: Option<S<Vec<S<String>>>>,
    /// AD cost, 1-99999.
    #[schemars(range(min = 1, max = 99_999))]
    cost: Option<S<i64>>,
    /// ExchangeCost, 1-99999.
    #[schemars(range(min = 1, max = 99_999))]
    exchange_cost: Option<S<i64>>,
}

/// A transport rule to change, by name; omitted keys stay as they are.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TransportRulePatch")]
struct RawRulePatch {
    /// The transport rule to change.
    name: S<String>,
    /// Priority, 0-9999, 0 evaluated first.
    #[schemars(range(min = 0, max = 9_999))]
    priority: Option<S<i64>>,
    /// Mode: enforce or audit.
    mode: Option<S<super::raw::RawRuleMode>>,
    /// Replaces the conditions.
    conditions: Option<S<super::raw::RawPredicates>>,
    /// Replaces the exceptions.
    exceptions: Option<S<super::raw::RawPredicates>>,
    /// Replaces the actions.
    actions: Option<S<super::raw::RawActions>>,
}

/// A server to change, by name; omitted keys stay as they are.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ServerPatch")]
struct RawServerPatch {
    /// The server to change.
    name: S<String>,
    /// The AD site the server is in.
    site: Option<S<String>>,
    /// Replaces the server's roles.
    #[schemars(length(min = 1))]
    roles: Option<S<Vec<S<super::raw::RawRole>>>>,
    /// AdminDisplayVersion major.minor: 14.x = 2010, 15.0 = 2013, 15.1 = 2016, 15.2 = 2019.
    version: Option<S<String>>,
    /// Edge only: the site of the Edge subscription.
    subscribed_site: Option<S<String>>,
}

/// A send connector to change, by name; omitted keys stay as they are, and a given list
/// replaces the whole list.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SendConnectorPatch")]
struct RawConnectorPatch {
    /// The send connector to change.
    name: S<String>,
    /// AddressSpaces, at least one.
    #[schemars(length(min = 1))]
    address_spaces: Option<S<Vec<S<super::raw::RawAddressSpace>>>>,
    /// SourceTransportServers.
    source_servers: Option<Vec<S<String>>>,
    /// IsScopedConnector.
    scoped: Option<S<bool>>,
    /// Enabled.
    enabled: Option<S<bool>>,
    /// FrontendProxyEnabled.
    frontend_proxy: Option<S<bool>>,
    /// DNSRoutingEnabled.
    dns_routing: Option<S<bool>>,
    /// SmartHosts.
    smart_hosts: Option<Vec<S<String>>>,
    /// RequireTLS.
    require_tls: Option<S<bool>>,
    /// TlsAuthLevel; requires `require_tls: true`.
    tls_auth_level: Option<S<super::raw::RawTlsAuthLevel>>,
    /// TlsDomain; only with `tls_auth_level: domain_validation`.
    tls_domain: Option<S<String>>,
    /// IgnoreSTARTTLS.
    ignore_starttls: Option<S<bool>>,
    /// DomainSecureEnabled.
    domain_secure: Option<S<bool>>,
    /// MaxMessageSize: `35MB`, `512KB`, `1GB`, a number of bytes or `unlimited`.
    max_message_size: Option<S<RawScalar>>,
}

/// Assertions on one run's counts. A bound is a count (`0`) or a comparison with one
/// (`">= 1"`, `"< 5"`, `"== 2"`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Expectation")]
struct RawExpectation {
    /// A TLS or DLV finding code (e.g. TLS001; case-insensitive) to the bound on its count.
    #[serde(default)]
    violations: BTreeMap<String, S<RawScalar>>,
    /// Outcome (delivered, ndr, queued, delivered_none, ...) to the bound on its count.
    #[serde(default)]
    #[schemars(schema_with = "outcome_bounds_schema")]
    outcomes: BTreeMap<String, S<RawScalar>>,
}

/// `outcomes`' keys are exactly [`OUTCOMES`].
fn outcome_bounds_schema(generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "propertyNames": { "enum": OUTCOMES },
        "additionalProperties": generator.subschema_for::<RawScalar>()
    })
}

/// A loaded scenario, its warnings, and the files it was read from.
#[derive(Debug)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    pub warnings: Vec<Diagnostic>,
    pub source: SourceFile,
    pub topology_source: SourceFile,
}

/// Whether a YAML text is a scenario (it has a top-level `topology:` key) rather than a topology.
pub fn looks_like_scenario(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("topology:"))
}

pub fn load_scenario(path: &Path) -> Result<LoadedScenario, LoadFailure> {
    scenario_from_source(read_source(path)?)
}

/// Validates a scenario held in memory; a topology path is read relative to its directory.
pub fn scenario_from_source(source: SourceFile) -> Result<LoadedScenario, LoadFailure> {
    scenario_with_topology(source, None)
}

/// Validates a scenario whose `topology:` path is already read (`topology`), e.g. both
/// compiled into the binary; `None` reads the path from disk.
pub fn scenario_with_topology(
    source: SourceFile,
    topology: Option<SourceFile>,
) -> Result<LoadedScenario, LoadFailure> {
    let fail = |diagnostics: Vec<Diagnostic>, source: &SourceFile| LoadFailure {
        diagnostics,
        source: Some(source.clone()),
    };
    let raw: RawScenario = yaml::parse(&source.text).map_err(|e| {
        let diagnostics = match super::wrong_kind(&source, super::FileKind::Scenario) {
            Some(d) => vec![d],
            None => validate::shape_errors(
                &source,
                validate::yaml_error(&source, &e),
                &super::schema::scenario_schema(),
            ),
        };
        fail(diagnostics, &source)
    })?;
    let mut v = Checker {
        file: source.name.clone(),
        diags: Vec::new(),
    };
    if raw.format.value != 1 {
        v.error(
            Code::Cfg003,
            pos(&raw.format),
            "format",
            format!("unsupported format {}", raw.format.value),
        );
    }
    // The topology: a file next to the scenario, or inline.
    let (topology_source, base) = match &raw.topology.value {
        RawTopologyRef::Path(p) => {
            let path: PathBuf = source
                .base_dir
                .as_deref()
                .map_or_else(|| PathBuf::from(p), |d| d.join(p));
            let read = topology.map_or_else(|| read_source(&path), Ok);
            let topology_source = read.map_err(|mut f| {
                for d in &mut f.diagnostics {
                    d.hint = Some(format!(
                        "the scenario's `topology:` names this file (line {})",
                        pos(&raw.topology).line
                    ));
                }
                f
            })?;
            let base: RawTopology =
                yaml::parse(&topology_source.text).map_err(|e| LoadFailure {
                    diagnostics: vec![validate::yaml_error(&topology_source, &e)],
                    source: Some(topology_source.clone()),
                })?;
            (topology_source, base)
        }
        RawTopologyRef::Inline(raw_topology) => (source.clone(), (**raw_topology).clone()),
    };
    let inline_prefix =
        matches!(raw.topology.value, RawTopologyRef::Inline(_)).then_some("topology");
    let baseline = validate::raw_topology(
        &topology_source,
        base.clone(),
        &attribution_inline(inline_prefix, &source),
    )
    .map_err(|diagnostics| LoadFailure {
        diagnostics,
        source: Some(topology_source.clone()),
    })?;
    let (baseline_topology, mut warnings) = baseline;

    let mut runs = vec![Variant {
        name: "baseline".to_owned(),
        topology: baseline_topology,
    }];
    let mut variant_names: BTreeMap<String, u64> = BTreeMap::new();
    for (i, variant) in raw.variants.iter().enumerate() {
        let path = format!("variants[{i}]");
        let name = variant.value.name.value.trim().to_owned();
        if name.is_empty() || name_key(&name) == "baseline" {
            v.error(
                Code::Cfg018,
                pos(&variant.value.name),
                &format!("{path}.name"),
                "a variant needs a name other than `baseline`".to_owned(),
            );
            continue;
        }
        if let Some(message) = crate::model::unprintable("variant name", &name, "the name") {
            v.error(
                Code::Cfg018,
                pos(&variant.value.name),
                &format!("{path}.name"),
                message,
            );
            continue;
        }
        if let Some(line) = variant_names.get(&name_key(&name)) {
            let line = *line;
            v.error(
                Code::Cfg004,
                pos(&variant.value.name),
                &format!("{path}.name"),
                format!("variant `{name}` is defined twice"),
            )
            .hint = Some(format!("the first definition is on line {line}"));
            continue;
        }
        variant_names.insert(name_key(&name), pos(&variant.value.name).line);
        let mut raw_variant = base.clone();
        let mut attribution = attribution_inline(inline_prefix, &source);
        let mut profile_override = None;
        for (j, change) in variant.value.changes.iter().enumerate() {
            let cpath = format!("{path}.changes[{j}]");
            apply_change(
                &mut v,
                &mut raw_variant,
                &mut attribution,
                &mut profile_override,
                change,
                &cpath,
            );
        }
        if let Some(profile) = profile_override {
            raw_variant.profile = Some(profile);
        }
        match validate::raw_topology(&topology_source, raw_variant, &attribution) {
            Ok((topology, _)) => runs.push(Variant { name, topology }),
            Err(diagnostics) => {
                for mut d in diagnostics.into_iter().filter(Diagnostic::is_error) {
                    d.message = format!("variant `{name}`: {}", d.message);
                    v.diags.push(d);
                }
            }
        }
    }

    let seed = raw.seed.as_ref().map_or(0, |s| s.value);
    let start = match &raw.start {
        Some(s) => v.instant(s, "start"),
        None => today_midnight_utc(),
    };
    let duration = v.duration(&raw.duration, "duration").unwrap_or(Millis::DAY);
    let latency = raw.latency.as_ref().map_or_else(HopLatency::default, |l| {
        let d = HopLatency::default();
        HopLatency {
            same_site: l
                .value
                .same_site
                .as_ref()
                .and_then(|x| v.duration(x, "latency.same_site"))
                .unwrap_or(d.same_site),
            cross_site: l
                .value
                .cross_site
                .as_ref()
                .and_then(|x| v.duration(x, "latency.cross_site"))
                .unwrap_or(d.cross_site),
        }
    });
    let baseline = &runs[0].topology;
    let messages: Vec<ExplicitMessage> = raw
        .messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| v.message(baseline, m, &format!("messages[{i}]")))
        .collect();
    let workload: Vec<Workload> = raw
        .workload
        .iter()
        .enumerate()
        .filter_map(|(i, w)| v.workload(baseline, w, &format!("workload[{i}]")))
        .collect();
    // The work a run will do, estimated before it starts (issue 15): a scenario that would
    // submit more messages than one run can hold is refused with the numbers, not run for
    // minutes and then stopped.
    let expected = crate::model::scenario::expected_messages(&workload, messages.len(), duration);
    if expected > f64::from(MAX_MESSAGES_PER_RUN) {
        v.error(
            Code::Cfg007,
            pos(&raw.duration),
            "duration",
            format!(
                "this scenario would submit about {} messages per run (each workload's rate × duration {}), more than the {} tlsflow simulates in one run",
                thousands(expected),
                duration,
                thousands(f64::from(MAX_MESSAGES_PER_RUN))
            ),
        )
        .hint = Some(
            "shorten `duration` or lower the workload rates: a week of a 100,000-mailbox organisation is about 35,000,000 messages"
                .to_owned(),
        );
    }
    let mut events: Vec<TimedEvent> = raw
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| v.event(&runs, e, &format!("events[{i}]")))
        .collect();
    // Stable: events at the same time keep their file order.
    events.sort_by_key(|e| e.at);
    let mut expect = BTreeMap::new();
    for (name, e) in &raw.expect {
        if name != "baseline" && !runs.iter().any(|r| name_key(&r.name) == name_key(name)) {
            let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
            let hint = did_you_mean(name, names.iter().copied());
            v.error(
                Code::Cfg005,
                pos(e),
                &format!("expect.{name}"),
                format!("unknown variant `{name}`"),
            )
            .hint = hint;
            continue;
        }
        expect.insert(name.clone(), v.expectation(e, &format!("expect.{name}")));
    }
    v.printable("the scenario name", &raw.name.value, pos(&raw.name), "name");
    if !v.diags.iter().any(Diagnostic::is_error) {
        silent_parts(&mut v, &raw, &runs, &messages, &workload, duration);
    }
    let (errors, mut more_warnings): (Vec<_>, Vec<_>) =
        v.diags.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        return Err(fail(errors, &source));
    }
    warnings.append(&mut more_warnings);
    let scenario = Scenario {
        name: raw.name.value.clone(),
        topology_file: topology_source.name.clone(),
        seed,
        start,
        duration,
        latency,
        messages,
        workload,
        events,
        runs,
        expect,
    };
    Ok(LoadedScenario {
        scenario,
        warnings,
        source,
        topology_source,
    })
}

/// Warns (CFG110) about what a run would silently not send (issue 15): a message at or after
/// the end, a workload without a sending mailbox, a variant that removes every sender of one.
fn silent_parts(
    v: &mut Checker,
    raw: &RawScenario,
    runs: &[Variant],
    messages: &[ExplicitMessage],
    workload: &[Workload],
    duration: Millis,
) {
    for (i, (m, r)) in messages.iter().zip(&raw.messages).enumerate() {
        if m.at >= duration {
            v.error(
                Code::Cfg110,
                pos(&r.value.at),
                &format!("messages[{i}].at"),
                format!(
                    "this message is sent at {}, when the run of {duration} has ended: it is never sent",
                    m.at
                ),
            );
        }
    }
    for (i, (w, r)) in workload.iter().zip(&raw.workload).enumerate() {
        let baseline = crate::sim::sending_mailboxes(&runs[0].topology, &w.from);
        if baseline == 0 {
            v.error(
                Code::Cfg110,
                pos(r),
                &format!("workload[{i}]"),
                "no mailbox of the topology matches this workload's senders: it sends nothing"
                    .to_owned(),
            );
            continue;
        }
        for (variant, rv) in runs[1..].iter().zip(&raw.variants) {
            if crate::sim::sending_mailboxes(&variant.topology, &w.from) == 0 {
                v.error(
                    Code::Cfg110,
                    pos(&rv.value.name),
                    &format!("variants[{}]", variant.name),
                    format!(
                        "variant `{}` leaves workload[{i}] no sender with a mailbox: in it, that workload sends nothing",
                        variant.name
                    ),
                );
            }
        }
    }
}

/// The most messages one run submits. A month of a 300,000-mailbox organisation (about 450
/// million messages, issue 17's enterprise run) fits; at about three events per message
/// (BENCHMARKS.md) 600 million stay under the engine's bound of 2,000,000,000 events, and take
/// about a quarter of an hour on this machine's engine.
pub const MAX_MESSAGES_PER_RUN: u32 = 600_000_000;

/// `123456789.4` -> `123,456,789`.
pub(crate) fn thousands(x: f64) -> String {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative estimate shown to the unit; saturates past u64"
    )]
    let n = x.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Positions inside an inline topology belong to the scenario file, under `topology.`.
fn attribution_inline(prefix: Option<&str>, source: &SourceFile) -> Vec<Attribution> {
    prefix.map_or_else(Vec::new, |p| {
        vec![Attribution {
            topology_prefix: String::new(),
            file: source.name.clone(),
            path_prefix: p.to_owned(),
        }]
    })
}

fn today_midnight_utc() -> Timestamp {
    let now = jiff::Timestamp::now();
    let day = now.as_millisecond().div_euclid(86_400_000) * 86_400_000;
    Timestamp(day)
}

/// Index of the item named `name` (case-insensitive) in a list of raw objects.
fn find<T>(items: &[S<T>], name: &str, get: impl Fn(&T) -> &str) -> Option<usize> {
    items
        .iter()
        .position(|i| name_key(get(&i.value)) == name_key(name))
}

/// Applies one change to the raw topology, recording where added or patched objects come from.
fn apply_change(
    v: &mut Checker,
    raw: &mut RawTopology,
    attribution: &mut Vec<Attribution>,
    profile: &mut Option<S<String>>,
    change: &S<RawChange>,
    path: &str,
) {
    let scenario_file = v.file.clone();
    let mut attribute = |topology_prefix: String, key: &str| {
        attribution.push(Attribution {
            topology_prefix,
            file: scenario_file.clone(),
            path_prefix: format!("{path}.{key}"),
        });
    };
    macro_rules! add {
        ($list:ident, $item:expr, $key:literal) => {{
            raw.$list
                .push(S::new($item.clone(), change.referenced, change.defined));
            attribute(
                format!("{}[{}]", stringify!($list), raw.$list.len() - 1),
                $key,
            );
        }};
    }
    macro_rules! remove {
        ($list:ident, $name:expr, $get:expr, $kind:literal, $key:literal) => {{
            let found = find(&raw.$list, &$name.value, $get);
            let path = format!("{path}.{}", $key);
            if let Some(i) = v.found(found, &raw.$list, $get, $name, &path, $kind) {
                raw.$list.remove(i);
            }
        }};
    }
    // Patches the named object's fields that the change sets (`opt`: an optional field,
    // `plain`: a required one) and attributes each to the scenario file.
    macro_rules! modify {
        ($list:ident, $p:expr, $get:expr, $kind:literal, $key:literal, [$($field:ident $how:ident),* $(,)?]) => {{
            let found = find(&raw.$list, &$p.name.value, $get);
            let name_path = format!("{path}.{}.name", $key);
            let Some(i) = v.found(found, &raw.$list, $get, &$p.name, &name_path, $kind) else {
                return;
            };
            let item = &mut raw.$list[i].value;
            let mut patched = Vec::new();
            $(modify!(@set item, $p, $field, $how, patched);)*
            for field in patched {
                attribute(
                    format!("{}[{i}].{field}", stringify!($list)),
                    &format!("{}.{field}", $key),
                );
            }
        }};
        (@set $item:ident, $p:expr, $field:ident, opt, $patched:ident) => {
            if let Some(x) = &$p.$field {
                $item.$field = Some(x.clone());
                $patched.push(stringify!($field));
            }
        };
        (@set $item:ident, $p:expr, $field:ident, plain, $patched:ident) => {
            if let Some(x) = &$p.$field {
                $item.$field = x.clone();
                $patched.push(stringify!($field));
            }
        };
    }
    match &change.value {
        RawChange::Profile(p) => *profile = Some(p.clone()),
        RawChange::AddSite(s) => add!(sites, s, "add_site"),
        RawChange::AddSiteLink(l) => add!(site_links, l, "add_site_link"),
        RawChange::RemoveSite(n) => remove!(sites, n, site_name, "site", "remove_site"),
        RawChange::RemoveMailbox(n) => {
            remove!(mailboxes, n, mailbox_address, "mailbox", "remove_mailbox");
        }
        RawChange::ModifyExternalDomain(d) => {
            if let Some(i) = find(&raw.external_domains, &d.domain.value, domain_name) {
                raw.external_domains[i] = S::new(d.clone(), change.referenced, change.defined);
                attribute(format!("external_domains[{i}]"), "modify_external_domain");
            } else {
                let names: Vec<String> = raw
                    .external_domains
                    .iter()
                    .map(|x| x.value.domain.value.clone())
                    .collect();
                let hint = did_you_mean(&d.domain.value, names.iter().map(String::as_str));
                v.error(
                    Code::Cfg005,
                    pos(&d.domain),
                    &format!("{path}.modify_external_domain.domain"),
                    format!("unknown external domain `{}`", d.domain.value),
                )
                .hint = hint;
            }
        }
        RawChange::ModifySite(p) => {
            modify!(sites, p, site_name, "site", "modify_site", [hub opt, inbound_mail_enabled opt]);
        }
        RawChange::ModifySiteLink(p) => {
            modify!(site_links, p, link_name, "site link", "modify_site_link", [sites plain, cost opt, exchange_cost opt]);
        }
        RawChange::ModifyTransportRule(p) => {
            modify!(transport_rules, p, rule_name, "transport rule", "modify_transport_rule", [priority opt, mode opt, conditions opt, exceptions opt, actions plain]);
        }
        RawChange::RemoveSiteLink(n) => {
            remove!(site_links, n, link_name, "site link", "remove_site_link");
        }
        RawChange::AddServer(s) => add!(servers, s, "add_server"),
        RawChange::RemoveServer(n) => remove!(servers, n, server_name, "server", "remove_server"),
        RawChange::AddSendConnector(c) => add!(send_connectors, c, "add_send_connector"),
        RawChange::RemoveSendConnector(n) => {
            remove!(
                send_connectors,
                n,
                connector_name,
                "send connector",
                "remove_send_connector"
            );
        }
        RawChange::AddTransportRule(r) => add!(transport_rules, r, "add_transport_rule"),
        RawChange::RemoveTransportRule(n) => {
            remove!(
                transport_rules,
                n,
                rule_name,
                "transport rule",
                "remove_transport_rule"
            );
        }
        RawChange::AddMailbox(m) => add!(mailboxes, m, "add_mailbox"),
        RawChange::AddExternalDomain(d) => add!(external_domains, d, "add_external_domain"),
        RawChange::RemoveExternalDomain(n) => {
            remove!(
                external_domains,
                n,
                domain_name,
                "external domain",
                "remove_external_domain"
            );
        }
        RawChange::TransportConfig(c) => {
            raw.transport_config = Some(S::new(c.clone(), change.referenced, change.defined));
            attribute("transport_config".to_owned(), "transport_config");
        }
        RawChange::AddDatabaseAvailabilityGroup(d) => {
            add!(
                database_availability_groups,
                d,
                "add_database_availability_group"
            );
        }
        RawChange::RemoveDatabaseAvailabilityGroup(n) => {
            remove!(
                database_availability_groups,
                n,
                dag_name,
                "database availability group",
                "remove_database_availability_group"
            );
        }
        RawChange::ModifyDatabaseAvailabilityGroup(p) => {
            modify!(
                database_availability_groups, p, dag_name, "database availability group",
                "modify_database_availability_group", [members plain]
            );
        }
        RawChange::ModifyServer(p) => {
            modify!(servers, p, server_name, "server", "modify_server", [site opt, roles plain, version opt, subscribed_site opt]);
        }
        RawChange::ModifySendConnector(p) => {
            modify!(
                send_connectors, p, connector_name, "send connector", "modify_send_connector",
                [
                    address_spaces plain, source_servers plain, scoped opt, enabled opt,
                    frontend_proxy opt, dns_routing opt, smart_hosts plain, require_tls opt,
                    tls_auth_level opt, tls_domain opt, ignore_starttls opt, domain_secure opt,
                    max_message_size opt
                ]
            );
        }
    }
}

/// Recipients per explicit message (Exchange's MaxRecipientEnvelopeLimit is 500 by default).
const MAX_RECIPIENTS: usize = 5000;

/// The outcome names an expectation may count.
const OUTCOMES: &[&str] = &[
    "delivered",
    "ndr",
    "queued",
    "delivered_none",
    "delivered_encrypted",
    "delivered_certificate_validated",
    "delivered_domain_validated",
];

/// Collects the scenario's own diagnostics.
struct Checker {
    file: String,
    diags: Vec<Diagnostic>,
}

impl Checker {
    /// Reports an unknown name in a change (with a hint) and passes a found index through.
    fn found<T>(
        &mut self,
        index: Option<usize>,
        items: &[S<T>],
        get: fn(&T) -> &str,
        name: &S<String>,
        path: &str,
        kind: &str,
    ) -> Option<usize> {
        if index.is_none() {
            let names: Vec<&str> = items.iter().map(|x| get(&x.value)).collect();
            let hint = did_you_mean(&name.value, names.iter().copied());
            self.error(
                Code::Cfg005,
                pos(name),
                path,
                format!("unknown {kind} `{}`", name.value),
            )
            .hint = hint;
        }
        index
    }

    fn error(&mut self, code: Code, at: Pos, path: &str, message: String) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::new(code, &self.file, at, path, message));
        self.diags.last_mut().expect("just pushed")
    }

    /// Refuses printed text with a control character or bidirectional override (issue 15).
    fn printable(&mut self, what: &str, text: &str, at: Pos, path: &str) {
        if let Some(message) = crate::model::unprintable(what, text, "it") {
            self.error(Code::Cfg018, at, path, message);
        }
    }

    fn duration(&mut self, value: &S<RawScalar>, path: &str) -> Option<Millis> {
        match values::duration(&value.value.0) {
            Ok(d) => Some(d),
            Err(message) => {
                self.error(Code::Cfg018, pos(value), path, message);
                None
            }
        }
    }

    fn size(&mut self, value: &S<RawScalar>, path: &str) -> Option<Bytes> {
        match values::size(&value.value.0) {
            Ok(Some(b)) => Some(b),
            Ok(None) => {
                self.error(
                    Code::Cfg018,
                    pos(value),
                    path,
                    "a message size cannot be unlimited".to_owned(),
                );
                None
            }
            Err(message) => {
                self.error(Code::Cfg018, pos(value), path, message);
                None
            }
        }
    }

    fn instant(&mut self, value: &S<RawScalar>, path: &str) -> Timestamp {
        values::instant(&value.value.0).unwrap_or_else(|message| {
            self.error(Code::Cfg018, pos(value), path, message);
            Timestamp(0)
        })
    }

    fn message(
        &mut self,
        t: &crate::model::Topology,
        m: &S<RawMessage>,
        path: &str,
    ) -> Option<ExplicitMessage> {
        let r = &m.value;
        let at = self.duration(&r.at, &format!("{path}.at"))?;
        let from = r.from.value.trim().to_lowercase();
        if t.mailbox_for(&from).is_none() {
            self.error(
                Code::Cfg005,
                pos(&r.from),
                &format!("{path}.from"),
                format!("sender {from} has no mailbox in the topology"),
            )
            .hint = Some(
                "add it (or a `*@domain` pattern) under the topology's `mailboxes`".to_owned(),
            );
        }
        let mut to = Vec::new();
        for (i, rcpt) in r.to.value.iter().enumerate() {
            match values::address(&rcpt.value) {
                Ok((Some(address), _)) => to.push(address),
                Ok((None, _)) | Err(_) => {
                    self.error(
                        Code::Cfg018,
                        pos(rcpt),
                        &format!("{path}.to[{i}]"),
                        format!("`{}` is not an e-mail address", rcpt.value),
                    );
                }
            }
        }
        if r.to.value.is_empty() {
            self.error(
                Code::Cfg018,
                pos(&r.to),
                &format!("{path}.to"),
                "a message needs at least one recipient".to_owned(),
            );
        }
        if r.to.value.len() > MAX_RECIPIENTS {
            self.error(
                Code::Cfg007,
                pos(&r.to),
                &format!("{path}.to"),
                format!(
                    "{} recipients: a message has at most {MAX_RECIPIENTS}",
                    r.to.value.len()
                ),
            )
            .hint = Some(
                "Exchange's MaxRecipientEnvelopeLimit defaults to 500; split the message"
                    .to_owned(),
            );
            return None;
        }
        let size = match &r.size {
            Some(s) => self.size(s, &format!("{path}.size"))?,
            None => Bytes(100 * 1024),
        };
        Some(ExplicitMessage {
            at,
            from,
            to,
            subject: r.subject.as_ref().map_or_else(String::new, |s| {
                self.printable("the subject", &s.value, pos(s), &format!("{path}.subject"));
                s.value.clone()
            }),
            size,
            origin: Origin {
                line: pos(m).line,
                column: pos(m).column,
                yaml_path: path.to_owned(),
            },
        })
    }

    fn weights(
        &mut self,
        map: &S<BTreeMap<String, f64>>,
        path: &str,
        lower: bool,
    ) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for (k, &w) in &map.value {
            if !(w.is_finite() && w >= 0.0) {
                self.error(
                    Code::Cfg007,
                    pos(map),
                    &format!("{path}.{k}"),
                    format!("weight {w} must be a number of at least 0"),
                );
                continue;
            }
            out.push((
                if lower {
                    k.trim().to_lowercase()
                } else {
                    k.clone()
                },
                w,
            ));
        }
        let total = out.iter().map(|(_, w)| w).sum::<f64>();
        if total <= 0.0 {
            self.error(
                Code::Cfg007,
                pos(map),
                path,
                "the weights add up to 0: nothing would ever be chosen".to_owned(),
            );
        } else if !total.is_finite() {
            // Each weight is finite, but `1e308` twice is not: every draw would pick the first
            // (issue 15).
            self.error(
                Code::Cfg007,
                pos(map),
                path,
                format!("the weights add up to {total}: write them as shares that add up to a finite number (e.g. 0.7 and 0.3)"),
            );
        }
        out
    }

    fn workload(
        &mut self,
        t: &crate::model::Topology,
        w: &S<RawWorkload>,
        path: &str,
    ) -> Option<Workload> {
        let r = &w.value;
        let from = match (&r.from, &r.site) {
            (Some(f), None) => SenderPattern::Address(f.value.trim().to_lowercase()),
            (None, Some(s)) => {
                if t.site_by_name(&s.value).is_none() {
                    let names: Vec<&str> = t.sites.iter().map(|x| x.name.as_str()).collect();
                    let hint = did_you_mean(&s.value, names.iter().copied());
                    self.error(
                        Code::Cfg005,
                        pos(s),
                        &format!("{path}.site"),
                        format!("unknown site `{}`", s.value),
                    )
                    .hint = hint;
                }
                SenderPattern::Site(s.value.trim().to_owned())
            }
            _ => {
                self.error(
                    Code::Cfg002,
                    pos(w),
                    path,
                    "a workload names its senders with exactly one of `from` or `site`".to_owned(),
                );
                return None;
            }
        };
        let mut to = self.weights(&r.to, &format!("{path}.to"), true);
        for (key, _) in &mut to {
            // `*@domain` draws generated addresses in the domain, like the bare domain.
            let checked = if key.contains('@') {
                values::address(key).map(|(exact, domain)| exact.unwrap_or(domain))
            } else {
                values::domain_name(key).map(|()| key.clone())
            };
            match checked {
                Ok(normal) => *key = normal,
                Err(message) => {
                    self.error(
                        Code::Cfg018,
                        pos(&r.to),
                        &format!("{path}.to.{key}"),
                        message,
                    );
                }
            }
        }
        let mut cc = Vec::new();
        for (i, a) in r.cc.iter().flat_map(|c| c.value.iter()).enumerate() {
            match values::address(&a.value) {
                Ok((Some(exact), _)) => cc.push(exact),
                Ok((None, _)) => {
                    self.error(
                        Code::Cfg018,
                        pos(a),
                        &format!("{path}.cc[{i}]"),
                        format!("`{}` is a pattern: `cc` lists addresses", a.value),
                    );
                }
                Err(message) => {
                    self.error(Code::Cfg018, pos(a), &format!("{path}.cc[{i}]"), message);
                }
            }
        }
        let rate_per_hour = match rate(&r.rate.value.0) {
            Ok(x) => x,
            Err(message) => {
                self.error(Code::Cfg018, pos(&r.rate), &format!("{path}.rate"), message);
                return None;
            }
        };
        let subjects = match &r.subject {
            Some(s) => {
                for k in s.value.keys() {
                    self.printable("a subject", k, pos(s), &format!("{path}.subject"));
                }
                self.weights(s, &format!("{path}.subject"), false)
            }
            None => vec![(String::new(), 1.0)],
        };
        let (size_min, size_max) = match &r.size {
            Some(s) => {
                let min = self.size(&s.value.min, &format!("{path}.size.min"))?;
                let max = self.size(&s.value.max, &format!("{path}.size.max"))?;
                if min > max {
                    self.error(
                        Code::Cfg007,
                        pos(s),
                        &format!("{path}.size"),
                        format!("size min {min} is larger than max {max}"),
                    );
                }
                (min, max.max(min))
            }
            None => (Bytes(10 * 1024), Bytes(200 * 1024)),
        };
        Some(Workload {
            from,
            to,
            cc,
            rate_per_hour,
            subjects,
            size_min,
            size_max,
            origin: Origin {
                line: pos(w).line,
                column: pos(w).column,
                yaml_path: path.to_owned(),
            },
        })
    }

    fn event(&mut self, runs: &[Variant], e: &S<RawEvent>, path: &str) -> Option<TimedEvent> {
        let r = &e.value;
        let at = self.duration(&r.at, &format!("{path}.at"))?;
        let action = match (&r.down, &r.up, &r.set) {
            (Some(item), None, None) => {
                Action::Down(self.component(runs, item, &format!("{path}.down"))?)
            }
            (None, Some(item), None) => {
                Action::Up(self.component(runs, item, &format!("{path}.up"))?)
            }
            (None, None, Some(set)) => {
                Action::Set(self.mx_change(runs, set, &format!("{path}.set"))?)
            }
            _ => {
                self.error(
                    Code::Cfg002,
                    pos(e),
                    path,
                    "an event has exactly one of `down`, `up` or `set`".to_owned(),
                );
                return None;
            }
        };
        Some(TimedEvent {
            at,
            action,
            origin: Origin {
                line: pos(e).line,
                column: pos(e).column,
                yaml_path: path.to_owned(),
            },
        })
    }

    /// A component must exist in at least one run (a variant may add it).
    fn component(&mut self, runs: &[Variant], item: &S<String>, path: &str) -> Option<String> {
        let text = item.value.trim();
        let mut last_error = String::new();
        for run in runs {
            match run.topology.parse_component(text) {
                Ok(_) => return Some(text.to_owned()),
                Err(e) => last_error = e,
            }
        }
        self.error(Code::Cfg005, pos(item), path, last_error);
        None
    }

    fn mx_change(&mut self, runs: &[Variant], set: &S<RawSet>, path: &str) -> Option<MxChange> {
        let r = &set.value;
        let domain = r.external_domain.value.trim().to_lowercase();
        let entry = runs[0]
            .topology
            .external_domains
            .iter()
            .find(|d| d.domain == domain);
        let Some(entry) = entry else {
            let names: Vec<&str> = runs[0]
                .topology
                .external_domains
                .iter()
                .map(|d| d.domain.as_str())
                .collect();
            let hint = did_you_mean(&domain, names.iter().copied());
            self.error(
                Code::Cfg005,
                pos(&r.external_domain),
                &format!("{path}.external_domain"),
                format!("unknown external domain `{domain}`"),
            )
            .hint = hint;
            return None;
        };
        let mx = r.mx.as_ref().map(|m| m.value.trim().to_lowercase());
        if let (Some(host), Some(m)) = (&mx, &r.mx)
            && !entry.mx.iter().any(|x| x.host == *host)
        {
            let names: Vec<&str> = entry.mx.iter().map(|x| x.host.as_str()).collect();
            let hint = did_you_mean(host, names.iter().copied());
            self.error(
                Code::Cfg005,
                pos(m),
                &format!("{path}.mx"),
                format!("{domain} has no MX host `{host}`"),
            )
            .hint = hint;
            return None;
        }
        let certificate_not_after = r
            .certificate
            .as_ref()
            .and_then(|c| c.value.not_after.as_ref())
            .map(|n| self.instant(n, &format!("{path}.certificate.not_after")));
        Some(MxChange {
            domain,
            mx,
            starttls: r.starttls.as_ref().map(|s| match s.value {
                RawStartTls::Offered => StartTls::Offered,
                RawStartTls::NotOffered => StartTls::NotOffered,
                RawStartTls::HandshakeFails => StartTls::HandshakeFails,
            }),
            available: r.available.as_ref().map(|a| a.value),
            certificate_trusted: r
                .certificate
                .as_ref()
                .and_then(|c| c.value.trusted.as_ref())
                .map(|t| t.value),
            certificate_not_after,
        })
    }

    fn expectation(&mut self, e: &S<RawExpectation>, path: &str) -> Expectation {
        let mut out = Expectation {
            origin: Origin {
                line: pos(e).line,
                column: pos(e).column,
                yaml_path: path.to_owned(),
            },
            ..Expectation::default()
        };
        for (code, bound) in &e.value.violations {
            // Only what a run produces can be counted: TLS and DLV findings.
            let countable = |c: &crate::model::Code| {
                c.as_str().starts_with("TLS") || c.as_str().starts_with("DLV")
            };
            let Some(c) = crate::model::Code::ALL
                .iter()
                .copied()
                .filter(countable)
                .find(|c| c.as_str().eq_ignore_ascii_case(code))
            else {
                let codes: Vec<&str> = crate::model::Code::ALL
                    .iter()
                    .filter(|c| countable(c))
                    .map(|c| c.as_str())
                    .collect();
                let hint = did_you_mean(code, codes.iter().copied());
                self.error(
                    Code::Cfg005,
                    pos(bound),
                    &format!("{path}.violations.{code}"),
                    format!(
                        "`{code}` is not a finding a simulation counts (only TLS and DLV codes are)"
                    ),
                )
                .hint = hint;
                continue;
            };
            if let Some(b) = self.bound(bound, &format!("{path}.violations.{code}")) {
                out.violations.push((c, b));
            }
        }
        for (name, bound) in &e.value.outcomes {
            if !OUTCOMES.contains(&name.as_str()) {
                let hint = did_you_mean(name, OUTCOMES.iter().copied());
                self.error(
                    Code::Cfg005,
                    pos(bound),
                    &format!("{path}.outcomes.{name}"),
                    format!("unknown outcome `{name}`"),
                )
                .hint = hint;
                continue;
            }
            if let Some(b) = self.bound(bound, &format!("{path}.outcomes.{name}")) {
                out.outcomes.push((name.clone(), b));
            }
        }
        out
    }

    fn bound(&mut self, value: &S<RawScalar>, path: &str) -> Option<Bound> {
        let t = value.value.0.trim();
        let (op, rest) = [
            (">=", Comparison::Ge),
            ("<=", Comparison::Le),
            ("==", Comparison::Eq),
            (">", Comparison::Gt),
            ("<", Comparison::Lt),
        ]
        .iter()
        .find_map(|(p, op)| t.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((Comparison::Eq, t));
        if let Ok(n) = rest.trim().parse::<u64>() {
            Some(Bound { op, value: n })
        } else {
            self.error(
                Code::Cfg018,
                pos(value),
                path,
                format!("`{t}` is not a count: write 0, \">= 1\", \"< 5\""),
            );
            None
        }
    }
}

/// `200/h`, `5/m`, `1000/d`: messages per hour.
fn rate(text: &str) -> Result<f64, String> {
    let bad = || format!("`{text}` is not a rate: write `200/h`, `5/m` or `1000/d`");
    let (n, unit) = text.trim().split_once('/').ok_or_else(bad)?;
    let n: f64 = n.trim().parse().map_err(|_| bad())?;
    let per_hour = match unit.trim() {
        "s" => n * 3600.0,
        "m" | "min" => n * 60.0,
        "h" => n,
        "d" => n / 24.0,
        _ => return Err(bad()),
    };
    if per_hour.is_finite() && (0.0..=100_000_000.0).contains(&per_hour) {
        Ok(per_hour)
    } else {
        Err(format!("rate `{text}` is out of range"))
    }
}

fn link_name(x: &RawSiteLink) -> &str {
    &x.name.value
}

fn server_name(x: &RawServer) -> &str {
    &x.name.value
}

fn connector_name(x: &RawSendConnector) -> &str {
    &x.name.value
}

fn rule_name(x: &RawTransportRule) -> &str {
    &x.name.value
}

fn domain_name(x: &RawExternalDomain) -> &str {
    &x.domain.value
}

fn dag_name(x: &RawDag) -> &str {
    &x.name.value
}

fn site_name(x: &RawSite) -> &str {
    &x.name.value
}

fn mailbox_address(x: &RawMailbox) -> &str {
    &x.address.value
}
