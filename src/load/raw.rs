//! The topology file as written (SPEC §3): serde structs with a position on every value, before
//! any cross-reference is checked. Unknown keys are errors (`deny_unknown_fields`): a typo must
//! not silently change a security answer.

use serde::Deserialize;

use super::yaml::Spanned;

pub(crate) type S<T> = Spanned<T>;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopology {
    pub(crate) format: S<i64>,
    pub(crate) organization: Option<S<String>>,
    pub(crate) profile: Option<S<String>>,
    #[serde(default)]
    pub(crate) accepted_domains: Vec<S<String>>,
    #[serde(default)]
    pub(crate) sites: Vec<S<RawSite>>,
    #[serde(default)]
    pub(crate) site_links: Vec<S<RawSiteLink>>,
    #[serde(default)]
    pub(crate) servers: Vec<S<RawServer>>,
    #[serde(default)]
    pub(crate) send_connectors: Vec<S<RawSendConnector>>,
    #[serde(default)]
    pub(crate) transport_rules: Vec<S<RawTransportRule>>,
    pub(crate) transport_config: Option<S<RawTransportConfig>>,
    #[serde(default)]
    pub(crate) mailboxes: Vec<S<RawMailbox>>,
    #[serde(default)]
    pub(crate) external_domains: Vec<S<RawExternalDomain>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSite {
    pub(crate) name: S<String>,
    pub(crate) hub: Option<S<bool>>,
    pub(crate) inbound_mail_enabled: Option<S<bool>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSiteLink {
    pub(crate) name: S<String>,
    pub(crate) sites: S<Vec<S<String>>>,
    pub(crate) cost: Option<S<i64>>,
    pub(crate) exchange_cost: Option<S<i64>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub(crate) name: S<String>,
    pub(crate) site: Option<S<String>>,
    pub(crate) roles: S<Vec<S<RawRole>>>,
    pub(crate) version: Option<S<String>>,
    pub(crate) subscribed_site: Option<S<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawRole {
    Mailbox,
    Frontend,
    Edge,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSendConnector {
    pub(crate) name: S<String>,
    pub(crate) address_spaces: S<Vec<S<RawAddressSpace>>>,
    #[serde(default)]
    pub(crate) source_servers: Vec<S<String>>,
    pub(crate) scoped: Option<S<bool>>,
    pub(crate) enabled: Option<S<bool>>,
    pub(crate) frontend_proxy: Option<S<bool>>,
    pub(crate) dns_routing: Option<S<bool>>,
    #[serde(default)]
    pub(crate) smart_hosts: Vec<S<String>>,
    pub(crate) require_tls: Option<S<bool>>,
    pub(crate) tls_auth_level: Option<S<RawTlsAuthLevel>>,
    pub(crate) tls_domain: Option<S<String>>,
    pub(crate) ignore_starttls: Option<S<bool>>,
    pub(crate) domain_secure: Option<S<bool>>,
    pub(crate) max_message_size: Option<S<RawScalar>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawTlsAuthLevel {
    EncryptionOnly,
    CertificateValidation,
    DomainValidation,
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

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTransportRule {
    pub(crate) name: S<String>,
    pub(crate) priority: Option<S<i64>>,
    pub(crate) mode: Option<S<RawRuleMode>>,
    pub(crate) conditions: Option<S<RawPredicates>>,
    pub(crate) exceptions: Option<S<RawPredicates>>,
    pub(crate) actions: S<RawActions>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawRuleMode {
    Enforce,
    Audit,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPredicates {
    #[serde(default)]
    pub(crate) subject_or_body_contains: Vec<S<String>>,
    pub(crate) sent_to_scope: Option<S<RawScope>>,
    #[serde(default)]
    pub(crate) recipient_domain_is: Vec<S<String>>,
    #[serde(default)]
    pub(crate) from_site: Vec<S<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawScope {
    InOrganization,
    NotInOrganization,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawActions {
    pub(crate) require_tls: Option<S<bool>>,
    pub(crate) route_via_connector: Option<S<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTransportConfig {
    #[serde(default)]
    pub(crate) tls_send_domain_secure_list: Vec<S<String>>,
    #[serde(default)]
    pub(crate) tls_receive_domain_secure_list: Vec<S<String>>,
    pub(crate) message_expiration_timeout: Option<S<RawScalar>>,
    pub(crate) delay_notification_timeout: Option<S<RawScalar>>,
    pub(crate) transient_failure_retry_count: Option<S<i64>>,
    pub(crate) transient_failure_retry_interval: Option<S<RawScalar>>,
    pub(crate) outbound_connection_failure_retry_interval: Option<S<RawScalar>>,
    pub(crate) queue_glitch_retry_count: Option<S<i64>>,
    pub(crate) queue_glitch_retry_interval: Option<S<RawScalar>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMailbox {
    pub(crate) address: S<String>,
    pub(crate) server: S<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExternalDomain {
    pub(crate) domain: S<String>,
    pub(crate) mx: S<Vec<S<RawMx>>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMx {
    pub(crate) host: S<String>,
    pub(crate) preference: Option<S<i64>>,
    pub(crate) starttls: Option<S<RawStartTls>>,
    pub(crate) certificate: Option<S<RawCertificate>>,
    pub(crate) available: Option<S<bool>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawStartTls {
    Offered,
    NotOffered,
    HandshakeFails,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCertificate {
    pub(crate) subject: Option<S<String>>,
    #[serde(default)]
    pub(crate) san: Vec<S<String>>,
    pub(crate) trusted: Option<S<bool>>,
    pub(crate) not_before: Option<S<RawScalar>>,
    pub(crate) not_after: Option<S<RawScalar>>,
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
