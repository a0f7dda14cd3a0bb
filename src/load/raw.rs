//! The topology file as written (SPEC §3): serde structs with a position on every value, before
//! any cross-reference is checked. Unknown keys are errors (`deny_unknown_fields`): a typo must
//! not silently change a security answer.
//!
//! The same structs derive `JsonSchema`: `tlsflow schema` is generated from the types the loader
//! parses, so it cannot drift from what the loader accepts. Field doc comments are the
//! descriptions editors show; `#[schemars(rename)]` gives the schema's definitions Exchange's
//! nouns without touching serde's names (which appear in diagnostics).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use super::yaml::Spanned;

pub(crate) type S<T> = Spanned<T>;

/// A tlsflow topology file (format 1): one Exchange organisation and the outside world it sends
/// to. Keys are snake_case forms of Exchange's parameter names; unknown keys are errors.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Topology")]
pub(crate) struct RawTopology {
    /// File format version; tlsflow reads format 1.
    #[schemars(extend("const" = 1))]
    pub(crate) format: S<i64>,
    /// The organisation's name, shown in reports.
    pub(crate) organization: Option<S<String>>,
    /// Behaviour profile: a built-in name (exchange2010, exchange2013, exchange-fixed,
    /// requiretls) or a path to a profile file, relative to this file. Default exchange2013.
    pub(crate) profile: Option<S<String>>,
    /// Accepted domains (New-AcceptedDomain): a name (authoritative), `*.name` (the domain and
    /// its subdomains), or `{domain, type}` with type authoritative, internal_relay or
    /// external_relay.
    #[serde(default)]
    pub(crate) accepted_domains: Vec<S<RawAcceptedDomain>>,
    /// Active Directory sites. Names are unique, compared case-insensitively as AD does.
    #[serde(default)]
    pub(crate) sites: Vec<S<RawSite>>,
    /// AD IP site links; every site must be reachable through them (a single site needs none).
    #[serde(default)]
    pub(crate) site_links: Vec<S<RawSiteLink>>,
    /// Exchange servers and their roles.
    #[serde(default)]
    pub(crate) servers: Vec<S<RawServer>>,
    /// Database availability groups (New-DatabaseAvailabilityGroup): each is one delivery group,
    /// even when its members are in several AD sites.
    #[serde(default)]
    pub(crate) database_availability_groups: Vec<S<RawDag>>,
    /// Send connectors (New-SendConnector).
    #[serde(default)]
    pub(crate) send_connectors: Vec<S<RawSendConnector>>,
    /// Transport rules, evaluated in priority order (0 first) by the first Transport service
    /// that handles a message.
    #[serde(default)]
    pub(crate) transport_rules: Vec<S<RawTransportRule>>,
    /// Set-TransportConfig / Set-TransportService settings; each omitted key takes Exchange's
    /// default.
    pub(crate) transport_config: Option<S<RawTransportConfig>>,
    /// Where senders and internal recipients live.
    #[serde(default)]
    pub(crate) mailboxes: Vec<S<RawMailbox>>,
    /// The outside world as seen from the sending side: each domain's MX hosts. Domain `*` is
    /// the default for every domain not listed.
    #[serde(default)]
    pub(crate) external_domains: Vec<S<RawExternalDomain>>,
}

/// An Active Directory site (Set-ADSite).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Site")]
pub(crate) struct RawSite {
    /// Site name, unique (case-insensitive).
    pub(crate) name: S<String>,
    /// HubSiteEnabled: a message stops at every hub site on its least-cost path. Default false.
    pub(crate) hub: Option<S<bool>>,
    /// InboundMailEnabled: false stops the site's servers receiving inbound mail. Default true.
    pub(crate) inbound_mail_enabled: Option<S<bool>>,
}

/// An AD IP site link.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SiteLink")]
pub(crate) struct RawSiteLink {
    /// Site link name, unique (case-insensitive).
    pub(crate) name: S<String>,
    /// The sites the link joins: at least two distinct site names.
    #[schemars(length(min = 2))]
    pub(crate) sites: S<Vec<S<String>>>,
    /// AD cost, 1-99999, default 100.
    #[schemars(range(min = 1, max = 99_999))]
    pub(crate) cost: Option<S<i64>>,
    /// ExchangeCost, 1-99999; when set, replaces `cost` for Exchange routing.
    #[schemars(range(min = 1, max = 99_999))]
    pub(crate) exchange_cost: Option<S<i64>>,
    /// MaxMessageSize (Set-AdSiteLink): a message larger than this on the least-cost path is
    /// refused by routing. Default unlimited.
    pub(crate) max_message_size: Option<S<RawScalar>>,
}

/// An Exchange server.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Server")]
pub(crate) struct RawServer {
    /// Server name, unique (case-insensitive).
    pub(crate) name: S<String>,
    /// The AD site the server is in (not used by Edge servers, which sit outside AD).
    pub(crate) site: Option<S<String>>,
    /// Server roles: mailbox (Transport and Mailbox Transport), frontend (Front End Transport),
    /// edge (Edge Transport, not combinable with the others). A Mailbox server of version 15.1
    /// or later (2016, 2019) always runs Front End Transport too: tlsflow adds `frontend`.
    #[schemars(length(min = 1))]
    pub(crate) roles: S<Vec<S<RawRole>>>,
    /// AdminDisplayVersion major.minor: 14.x = 2010, 15.0 = 2013, 15.1 = 2016, 15.2 = 2019.
    pub(crate) version: Option<S<String>>,
    /// Edge only: the site of the Edge subscription, which creates the
    /// "EdgeSync - SITE to Internet" connector (SMTP:*;100).
    pub(crate) subscribed_site: Option<S<String>>,
    /// Edge only: New-EdgeSubscription -CreateInternetSendConnector (default true). false: the
    /// subscription creates no "EdgeSync - SITE to Internet" connector, and Send connectors
    /// sourced on the Edge carry Internet mail instead (e.g. to a smart host).
    pub(crate) create_internet_send_connector: Option<S<bool>>,
}

/// A database availability group.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "DatabaseAvailabilityGroup")]
pub(crate) struct RawDag {
    /// DAG name, unique (case-insensitive).
    pub(crate) name: S<String>,
    /// Its member Mailbox servers (Add-DatabaseAvailabilityGroupServer): one version, at most
    /// 16, each in at most one DAG.
    #[schemars(length(min = 1, max = 16))]
    pub(crate) members: S<Vec<S<String>>>,
}

/// An Exchange server role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Role")]
pub(crate) enum RawRole {
    Mailbox,
    Frontend,
    Edge,
}

/// A Send connector (New-SendConnector).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SendConnector")]
pub(crate) struct RawSendConnector {
    /// Connector name, unique (case-insensitive).
    pub(crate) name: S<String>,
    /// AddressSpaces: the recipient domains the connector serves, at least one.
    #[schemars(length(min = 1))]
    pub(crate) address_spaces: S<Vec<S<RawAddressSpace>>>,
    /// SourceTransportServers: the Mailbox servers allowed to use the connector, at least one.
    #[serde(default)]
    pub(crate) source_servers: Vec<S<String>>,
    /// IsScopedConnector: only Transport services in the source servers' sites may use it.
    /// Default false.
    pub(crate) scoped: Option<S<bool>>,
    /// Enabled. Default true.
    pub(crate) enabled: Option<S<bool>>,
    /// FrontendProxyEnabled: route outbound mail through a Front End Transport service.
    /// Default false.
    pub(crate) frontend_proxy: Option<S<bool>>,
    /// DNSRoutingEnabled: deliver by MX lookup. Default true; false requires `smart_hosts`.
    pub(crate) dns_routing: Option<S<bool>>,
    /// SmartHosts: FQDNs or IP addresses ([10.1.1.1]); only with `dns_routing: false`.
    #[serde(default)]
    pub(crate) smart_hosts: Vec<S<String>>,
    /// RequireTLS. Default false.
    pub(crate) require_tls: Option<S<bool>>,
    /// TlsAuthLevel; requires `require_tls: true`. Default none (encryption is enough).
    pub(crate) tls_auth_level: Option<S<RawTlsAuthLevel>>,
    /// TlsDomain: the name the remote certificate must carry; only with
    /// `tls_auth_level: domain_validation`.
    pub(crate) tls_domain: Option<S<String>>,
    /// IgnoreSTARTTLS: never use TLS even when offered. Default false.
    pub(crate) ignore_starttls: Option<S<bool>>,
    /// DomainSecureEnabled: mutual TLS with the partner domains on the Domain Secure lists
    /// (works only with DNS routing and STARTTLS). Default false.
    pub(crate) domain_secure: Option<S<bool>>,
    /// TlsCertificateName: the certificate this connector offers, `<I>issuer<S>subject` (hybrid
    /// connectors to Exchange Online). Informational: reported, not judged.
    pub(crate) tls_certificate_name: Option<S<String>>,
    /// CloudServicesMailEnabled: a hybrid connector to Exchange Online that keeps the
    /// organisation's X-MS-Exchange headers. Default false. Reported, not judged.
    pub(crate) cloud_services_mail_enabled: Option<S<bool>>,
    /// MaxMessageSize: `35MB`, `512KB`, `1GB`, a number of bytes or `unlimited`. Default: the
    /// behaviour profile's.
    pub(crate) max_message_size: Option<S<RawScalar>>,
}

/// TlsAuthLevel: how much of the remote certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "TlsAuthLevel")]
pub(crate) enum RawTlsAuthLevel {
    EncryptionOnly,
    CertificateValidation,
    DomainValidation,
}

/// `contoso.com`, `"*.contoso.com"` or `{domain: contoso.com, type: internal_relay}`.
#[derive(Clone, Debug)]
pub(crate) enum RawAcceptedDomain {
    Text(String),
    Map {
        domain: String,
        kind: Option<String>,
    },
}

impl RawAcceptedDomain {
    pub(crate) fn domain(&self) -> &str {
        match self {
            RawAcceptedDomain::Text(d) | RawAcceptedDomain::Map { domain: d, .. } => d,
        }
    }
}

/// `"SMTP:*;1"` or `{domain: "*", cost: 1}`.
#[derive(Clone, Debug)]
pub(crate) enum RawAddressSpace {
    Text(String),
    Map { domain: String, cost: Option<i64> },
}

/// A scalar written as text or as a number (sizes, durations): kept as text, parsed later so
/// that the error can say what the value should look like.
#[derive(Clone, Debug)]
pub(crate) struct RawScalar(pub(crate) String);

/// A transport rule (New-TransportRule).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TransportRule")]
pub(crate) struct RawTransportRule {
    /// Rule name, unique (case-insensitive).
    pub(crate) name: S<String>,
    /// The rule's GUID (`Get-TransportRule` `Guid`), as message tracking logs it
    /// (`ruleId=` in the Transport Rule agent's AGENTINFO). Optional.
    pub(crate) guid: Option<S<String>>,
    /// Priority, 0-9999, 0 evaluated first; unique. Default: the next free number in file
    /// order.
    #[schemars(range(min = 0, max = 9_999))]
    pub(crate) priority: Option<S<i64>>,
    /// Mode: enforce, or audit (evaluated and logged, actions not applied). Default enforce.
    pub(crate) mode: Option<S<RawRuleMode>>,
    /// Conditions, all of which must hold; none means every message.
    pub(crate) conditions: Option<S<RawPredicates>>,
    /// Exceptions: the rule does not apply when any one holds.
    pub(crate) exceptions: Option<S<RawPredicates>>,
    /// What the rule does to the messages it matches.
    pub(crate) actions: S<RawActions>,
}

/// A transport rule's mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "RuleMode")]
pub(crate) enum RawRuleMode {
    Enforce,
    Audit,
}

/// Transport rule predicates (conditions or exceptions); each is optional.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Predicates")]
pub(crate) struct RawPredicates {
    /// SubjectOrBodyContainsWords: any of these words or phrases.
    #[serde(default)]
    pub(crate) subject_or_body_contains: Vec<S<String>>,
    /// SentToScope: in_organization or not_in_organization.
    pub(crate) sent_to_scope: Option<S<RawScope>>,
    /// RecipientDomainIs: the domain or any of its subdomains.
    #[serde(default)]
    pub(crate) recipient_domain_is: Vec<S<String>>,
    /// The sender's AD site (a tlsflow convenience for scenarios, not an Exchange predicate).
    #[serde(default)]
    pub(crate) from_site: Vec<S<String>>,
}

/// SentToScope: whether the recipient is inside the organisation (an accepted domain).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "SentToScope")]
pub(crate) enum RawScope {
    InOrganization,
    NotInOrganization,
}

/// Transport rule actions: at least one.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Actions", extend("minProperties" = 1))]
pub(crate) struct RawActions {
    /// RouteMessageOutboundRequireTls (Exchange 2013 and later).
    pub(crate) require_tls: Option<S<bool>>,
    /// RouteMessageOutboundConnector: a send connector's name (Exchange Online only; an error
    /// under the on-premises profiles).
    pub(crate) route_via_connector: Option<S<String>>,
}

/// Set-TransportConfig / Set-TransportService settings transport uses. Durations are `30s`,
/// `5m`, `4h`, `2d` or Exchange timespans (`2.00:00:00`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TransportConfig")]
pub(crate) struct RawTransportConfig {
    /// TLSSendDomainSecureList: partner domains for Domain Secure (no wildcards).
    #[serde(default)]
    pub(crate) tls_send_domain_secure_list: Vec<S<String>>,
    /// TLSReceiveDomainSecureList: partner domains for Domain Secure (no wildcards).
    #[serde(default)]
    pub(crate) tls_receive_domain_secure_list: Vec<S<String>>,
    /// MessageExpirationTimeout: how long a message may stay queued before an NDR, 5s-90d.
    /// Default 2d.
    pub(crate) message_expiration_timeout: Option<S<RawScalar>>,
    /// DelayNotificationTimeout: when the sender is told of a delay, 1s-30d. Default 4h.
    pub(crate) delay_notification_timeout: Option<S<RawScalar>>,
    /// TransientFailureRetryCount, 0-15. Default 6.
    #[schemars(range(min = 0, max = 15))]
    pub(crate) transient_failure_retry_count: Option<S<i64>>,
    /// TransientFailureRetryInterval, 1s-12h. Default 5m.
    pub(crate) transient_failure_retry_interval: Option<S<RawScalar>>,
    /// OutboundConnectionFailureRetryInterval, 1s-20d. Default 10m.
    pub(crate) outbound_connection_failure_retry_interval: Option<S<RawScalar>>,
    /// QueueGlitchRetryCount, 0-15. Default 4.
    #[schemars(range(min = 0, max = 15))]
    pub(crate) queue_glitch_retry_count: Option<S<i64>>,
    /// QueueGlitchRetryInterval, 1s-1h. Default 1m.
    pub(crate) queue_glitch_retry_interval: Option<S<RawScalar>>,
    /// MaxSendSize (Set-TransportConfig): the largest message a sender of the organisation may
    /// send, or `unlimited`. Default 10MB.
    pub(crate) max_send_size: Option<S<RawScalar>>,
    /// MaxReceiveSize (Set-TransportConfig): the largest message a recipient of the
    /// organisation may receive, or `unlimited`. Default 10MB.
    pub(crate) max_receive_size: Option<S<RawScalar>>,
}

/// A mailbox (or every mailbox of a domain) and the server holding it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Mailbox")]
pub(crate) struct RawMailbox {
    /// An address (alice@contoso.com) or a pattern (*@branch.contoso.com).
    pub(crate) address: S<String>,
    /// The Mailbox server holding it.
    pub(crate) server: S<String>,
}

/// A domain outside the organisation and its MX hosts.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ExternalDomain")]
pub(crate) struct RawExternalDomain {
    /// The domain, or `*` for every domain not listed.
    pub(crate) domain: S<String>,
    /// Its MX hosts, tried in preference order.
    pub(crate) mx: S<Vec<S<RawMx>>>,
}

/// An MX host of an external domain.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Mx")]
pub(crate) struct RawMx {
    /// Host name.
    pub(crate) host: S<String>,
    /// MX preference, 0-65535, lower tried first. Default 10.
    #[schemars(range(min = 0, max = 65_535))]
    pub(crate) preference: Option<S<i64>>,
    /// What the host does with STARTTLS. Default offered.
    pub(crate) starttls: Option<S<RawStartTls>>,
    /// The host's certificate; only meaningful when STARTTLS is offered.
    pub(crate) certificate: Option<S<RawCertificate>>,
    /// False: connection refused or host down. Default true.
    pub(crate) available: Option<S<bool>>,
    /// The TLS versions the host accepts (e.g. `["1.2", "1.3"]`); a sender whose profile speaks
    /// none of them fails the handshake. Default: any.
    pub(crate) tls_versions: Option<Vec<S<String>>>,
}

/// An MX host's STARTTLS behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "StartTls")]
pub(crate) enum RawStartTls {
    Offered,
    NotOffered,
    HandshakeFails,
}

/// An MX host's certificate.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Certificate")]
pub(crate) struct RawCertificate {
    /// Subject common name.
    pub(crate) subject: Option<S<String>>,
    /// Subject alternative names.
    #[serde(default)]
    pub(crate) san: Vec<S<String>>,
    /// Chains to a trusted CA. Default true.
    pub(crate) trusted: Option<S<bool>>,
    /// Valid from: a date (2025-01-01, midnight UTC) or an RFC 3339 instant.
    pub(crate) not_before: Option<S<RawScalar>>,
    /// Valid until: a date (2027-01-01, midnight UTC) or an RFC 3339 instant.
    pub(crate) not_after: Option<S<RawScalar>>,
}

/// Exactly what [`RawScalar`]'s `Deserialize` accepts: a string or a number (not a boolean,
/// not null). The field's doc comment says which syntax.
impl JsonSchema for RawScalar {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number"] })
    }
}

/// The text form of an address space as `values::address_space` reads it: an optional `SMTP:`
/// type, `*`, `*.domain` or `domain` (labels of letters, digits, `_` and inner `-`), an optional
/// `;cost` of 1 to 100. Looser than the loader only on lengths (63 per label, 253 in all).
fn address_space_pattern() -> String {
    let label = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?";
    format!(
        r"^\s*(?:[Ss][Mm][Tt][Pp]:)?\s*(?:\*|(?:\*\.)?{label}(?:\.{label})*)\s*(?:;\s*\+?0*(?:100|[1-9][0-9]?)\s*)?$"
    )
}

/// Exactly what [`RawAddressSpace`]'s `Deserialize` accepts: Exchange's `[SMTP:]pattern[;cost]`
/// text, or a `{domain, cost}` mapping with no other key.
impl<'de> Deserialize<'de> for RawAcceptedDomain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawAcceptedDomain;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "an accepted domain: contoso.com, \"*.contoso.com\" or {domain: contoso.com, type: internal_relay}",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawAcceptedDomain, E> {
                Ok(RawAcceptedDomain::Text(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawAcceptedDomain, A::Error> {
                let mut domain = None;
                let mut kind = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "domain" if domain.is_none() => domain = Some(map.next_value::<String>()?),
                        "type" if kind.is_none() => kind = Some(map.next_value::<String>()?),
                        "domain" | "type" => {
                            return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                        }
                        other => {
                            return Err(serde::de::Error::unknown_field(
                                other,
                                &["domain", "type"],
                            ));
                        }
                    }
                }
                let domain = domain.ok_or_else(|| serde::de::Error::missing_field("domain"))?;
                Ok(RawAcceptedDomain::Map { domain, kind })
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawAcceptedDomain {
    fn schema_name() -> Cow<'static, str> {
        "AcceptedDomain".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An accepted domain: a name (authoritative), `*.name` for the domain and its subdomains, or {domain, type}.",
            "oneOf": [
                {"type": "string", "examples": ["contoso.com", "*.contoso.com"]},
                {
                    "type": "object",
                    "properties": {
                        "domain": {"type": "string", "description": "`name` or `*.name`."},
                        "type": {
                            "description": "DomainType: authoritative (default), internal_relay (treated as inside the organisation; recipients without a mailbox are relayed by a Send connector), external_relay (outside; relayed).",
                            "enum": ["authoritative", "internal_relay", "external_relay", "Authoritative", "InternalRelay", "ExternalRelay"]
                        }
                    },
                    "required": ["domain"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl JsonSchema for RawAddressSpace {
    fn schema_name() -> Cow<'static, str> {
        "AddressSpace".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An address space: `*`, `domain` or `*.domain`, with a cost 1-100 (default 1; lower is preferred).",
            "oneOf": [
                {
                    "type": "string",
                    "description": "Exchange syntax `[SMTP:]pattern[;cost]`.",
                    "pattern": address_space_pattern(),
                    "examples": ["SMTP:*;1", "SMTP:contoso.com;10", "*.contoso.com"]
                },
                {
                    "type": "object",
                    "properties": {
                        "domain": {
                            "type": "string",
                            "description": "`*`, `domain` or `*.domain`."
                        },
                        "cost": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 100,
                            "description": "Address-space cost, 1-100, default 1."
                        }
                    },
                    "required": ["domain"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for RawScalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawScalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a text value such as `35MB`, `4h` or `2025-01-01`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawAddressSpace {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawAddressSpace;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(r#"an address space: "SMTP:*;1" or {domain: "*", cost: 1}"#)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawAddressSpace, E> {
                Ok(RawAddressSpace::Text(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawAddressSpace, A::Error> {
                let mut domain = None;
                let mut cost = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "domain" if domain.is_none() => domain = Some(map.next_value::<String>()?),
                        "cost" if cost.is_none() => cost = Some(map.next_value::<i64>()?),
                        "domain" | "cost" => {
                            return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                        }
                        other => {
                            return Err(serde::de::Error::unknown_field(
                                other,
                                &["domain", "cost"],
                            ));
                        }
                    }
                }
                let domain = domain.ok_or_else(|| serde::de::Error::missing_field("domain"))?;
                Ok(RawAddressSpace::Map { domain, cost })
            }
        }
        d.deserialize_any(V)
    }
}
