//! Behaviour profiles (SPEC §5.3): which Exchange behaviour to model, as data. The built-in
//! profiles are YAML files under `profiles/`, embedded in the binary; the loader parses them
//! into this type. Every rule carries its evidence so that findings can show how sure we are.

use serde::{Deserialize, Serialize};

use super::tls::TlsLevel;
use super::units::Bytes;

/// How well a behaviour is established (SPEC §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Microsoft documentation.
    Documented,
    /// Observed and published (e.g. the defect report).
    Reported,
    /// Follows from the implementation's behaviour but not observed in public.
    Inferred,
    /// A what-if: not Exchange's behaviour, a model to compare against.
    Hypothetical,
    /// Assumed for a version no source covers: a rule reported on Exchange 2013, applied to
    /// 2016, 2019 or SE through an alias (reference §3.10).
    Unconfirmed,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Documented => "documented",
            Evidence::Reported => "reported",
            Evidence::Inferred => "inferred",
            Evidence::Hypothetical => "hypothetical",
            Evidence::Unconfirmed => "unconfirmed",
        }
    }
}

/// Whether the rule-imposed TLS requirement travels across one kind of hop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarryRule {
    pub travels: bool,
    pub evidence: Evidence,
    /// Reference sections and a one-line reason.
    pub source: String,
}

/// The hop kinds a profile must decide on. Cross-site and same-site relays to connector source
/// servers are separate because their evidence differs (reference §3.9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarryRules {
    pub relay_to_connector_source_servers_cross_site: CarryRule,
    pub relay_to_connector_source_servers_same_site: CarryRule,
    pub relay_to_hub_site: CarryRule,
    pub relay_to_remote_site: CarryRule,
    pub relay_to_edge: CarryRule,
    pub frontend_proxy: CarryRule,
}

impl CarryRules {
    fn all_mut(&mut self) -> [&mut CarryRule; 6] {
        [
            &mut self.relay_to_connector_source_servers_cross_site,
            &mut self.relay_to_connector_source_servers_same_site,
            &mut self.relay_to_hub_site,
            &mut self.relay_to_remote_site,
            &mut self.relay_to_edge,
            &mut self.frontend_proxy,
        ]
    }
}

impl Profile {
    /// The name the topology declared: the alias it used, else the profile's name.
    pub fn declared_name(&self) -> &str {
        self.declared.as_deref().unwrap_or(&self.name)
    }

    /// The profile as reports name it: `exchange2019, modelled as exchange2013` when the
    /// topology named an alias, else the name.
    pub fn shown_name(&self) -> String {
        match &self.declared {
            Some(alias) => format!("{alias}, modelled as {}", self.name),
            None => self.name.clone(),
        }
    }

    /// The caveat of a profile declared by an alias, in words; `None` otherwise.
    pub fn declared_caveat(&self) -> Option<String> {
        let alias = self.declared.as_deref()?;
        let caveat = self.alias_caveat.as_deref()?;
        Some(format!(
            "profile {alias} is modelled as {}, UNCONFIRMED for {alias}: {caveat}",
            self.name
        ))
    }

    /// This profile as declared through `alias`: reports show the alias, and every carry rule
    /// not documented for all versions becomes unconfirmed, its source saying why.
    pub fn declared_as(mut self, alias: &str) -> Profile {
        if alias == self.name {
            return self;
        }
        if let Some(caveat) = self.alias_caveat.clone() {
            for rule in self.requirement_travels.all_mut() {
                if rule.evidence != Evidence::Documented {
                    rule.evidence = Evidence::Unconfirmed;
                    rule.source = format!("{}; UNCONFIRMED for {alias}: {caveat}", rule.source);
                }
            }
        }
        self.declared = Some(alias.to_owned());
        self
    }
}

/// A feature that a version has or lacks, with the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    pub supported: bool,
    pub evidence: Evidence,
    pub source: String,
}

impl Feature {
    /// The default of `rule_level_overrides_connector`: the decompiled behaviour (§3.6).
    fn rule_level_overrides_connector() -> Feature {
        Feature {
            supported: true,
            evidence: Evidence::Inferred,
            source: "docs/evidence.md#rule-action: a non-null per-queue TLS level overrides the connector's TLS settings wholesale (UNCONFIRMED in practice)".to_owned(),
        }
    }
}

/// What an opportunistic connection does when the STARTTLS handshake fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnHandshakeFailure {
    /// Send in clear text on the same or a new connection.
    ClearText,
    /// A transient failure: try the next host, then Retry.
    Transient,
}

/// The profile setting `opportunistic_handshake_failure`, with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandshakeFailureRule {
    pub behaviour: OnHandshakeFailure,
    pub evidence: Evidence,
    pub source: String,
}

impl HandshakeFailureRule {
    /// The default: clear text, as one third-party source reports; UNCONFIRMED.
    fn default_rule() -> HandshakeFailureRule {
        HandshakeFailureRule {
            behaviour: OnHandshakeFailure::ClearText,
            evidence: Evidence::Inferred,
            source: "docs/evidence.md#opportunistic-tls: with opportunistic TLS Exchange falls back to clear text when the handshake fails (one third-party source; UNCONFIRMED)".to_owned(),
        }
    }
}

/// When a routing change (a Send connector disabled or enabled) reaches messages already
/// waiting in a queue in Retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryReroute {
    /// The queue is resubmitted to the categorizer at once and routed by the new table.
    AtOnce,
    /// The queue keeps the routing it had when it entered Retry until it has been idle in
    /// Retry for MaxIdleTimeBeforeResubmit (12 h), then is resubmitted (reference §4.3).
    AfterMaxIdle,
}

/// The profile setting `retry_queue_reroute`, with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryRerouteRule {
    pub behaviour: RetryReroute,
    pub evidence: Evidence,
    pub source: String,
}

impl RetryRerouteRule {
    /// The default: the documented 12-hour resubmission; whether a routing change acts sooner
    /// is UNCONFIRMED.
    fn default_rule() -> RetryRerouteRule {
        RetryRerouteRule {
            behaviour: RetryReroute::AfterMaxIdle,
            evidence: Evidence::Inferred,
            source: "docs/evidence.md#retry-and-expiry: a Retry delivery queue idle for MaxIdleTimeBeforeResubmit (12 h) is resubmitted to the categorizer; whether a routing change resubmits it sooner is UNCONFIRMED".to_owned(),
        }
    }
}

/// What happens at the external hop when the required level cannot be met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsFailure {
    /// `451 5.7.3`, try the next MX, then Retry until expiry (reference §3.2).
    Transient,
    /// RFC 8689: return the message to the sender with `550 5.7.30` (reference §7.1).
    ReturnToSender,
}

/// A behaviour profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// What an alias does not confirm: the profile's carry rules come from reports on the
    /// version it is named after, and a topology that names an alias (`exchange2019`) gets its
    /// findings with this caveat, their evidence marked unconfirmed (issue 16; reference §3.10).
    #[serde(default)]
    pub alias_caveat: Option<String>,
    /// The name or alias the topology gave, when it was an alias: what every report shows, so
    /// a 2019 organisation is never reported as `exchange2013`.
    #[serde(skip)]
    pub declared: Option<String>,
    pub description: String,
    /// `RouteMessageOutboundRequireTls` exists (2013+).
    pub rule_action_require_tls: Feature,
    /// `RouteMessageOutboundConnector` exists (Exchange Online only).
    pub rule_action_route_via_connector: Feature,
    /// `FrontendProxyEnabled` exists (2013+).
    pub frontend_proxy: Feature,
    /// Domain Secure survives a Front End Transport proxy on the path (reference §3.3).
    pub domain_secure_through_frontend: Feature,
    /// A carried rule level replaces the connector's TLS settings wholesale, so a connector's
    /// stricter `TlsAuthLevel` is downgraded to `EncryptionOnly` for rule-flagged mail
    /// (reference §3.6, INFERRED from decompiled code, UNCONFIRMED in practice). When not
    /// supported, the stricter of the two applies. Profile files that omit it get the
    /// decompiled behaviour.
    #[serde(default = "Feature::rule_level_overrides_connector")]
    pub rule_level_overrides_connector: Feature,
    /// What an opportunistic connection (no TLS required) does when the STARTTLS handshake
    /// fails (SPEC §5.2: UNCONFIRMED, so a setting). Profile files that omit it get clear text.
    #[serde(default = "HandshakeFailureRule::default_rule")]
    pub opportunistic_handshake_failure: HandshakeFailureRule,
    /// When a routing change reaches messages in a Retry queue (SPEC §5.2: UNCONFIRMED, so a
    /// setting). Profile files that omit it get the documented 12-hour resubmission.
    #[serde(default = "RetryRerouteRule::default_rule")]
    pub retry_queue_reroute: RetryRerouteRule,
    /// Whether the requirement travels, per hop kind.
    pub requirement_travels: CarryRules,
    pub tls_failure: TlsFailure,
    /// The level a connector with `RequireTLS` and no `TlsAuthLevel` enforces (UNCONFIRMED in
    /// the reference §2.2, so it is a setting).
    pub require_tls_without_auth_level: TlsLevel,
    /// The default `MaxMessageSize` of a Send connector (reference §2.2: 25 MB vs 35 MB,
    /// UNCONFIRMED per version, so it is a setting). `null` = unlimited.
    pub send_connector_default_max_message_size: Option<String>,
    /// SMTP TLS versions the sending side speaks (reference §3.1, §6): an MX host that accepts
    /// none of them (its `tls_versions`) fails the handshake.
    pub tls_versions: Vec<String>,
    #[serde(skip)]
    pub default_max_message_size: Option<Bytes>,
}
