//! The hop that leaves the organisation (SPEC §5.2): the effective requirement, and the outcome
//! per MX host tried in preference order (equal preferences in random order, RFC 5321 §5.1:
//! the worst order for `route` and `check`, a seeded one for `simulate`).
//!
//! The effective requirement is the carried one when a requirement reached the sending server
//! (it overrides the connector's TLS settings wholesale: RequireTLS on, IgnoreSTARTTLS off,
//! TlsAuthLevel = the carried level, which can *downgrade* a connector's `domain_validation`;
//! reference §3.6, UNCONFIRMED, so the profile setting `rule_level_overrides_connector`; without
//! it the stricter of the two holds), else the connector's own (`RequireTLS` +
//! `TlsAuthLevel`). Domain Secure (mutual TLS with a domain on both secure lists, reference
//! §3.3) adds domain validation of the recipient domain, unless a Front End proxy on the path
//! breaks it under the profile.

use crate::model::{
    Certificate, ConnectorId, MxHost, ServerId, StartTls, Timestamp, TlsLevel, Topology,
    profile::TlsFailure, tls::TlsAchieved,
};

/// One connection attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub host: String,
    /// Achieved TLS when the message was handed over.
    pub tls: Option<TlsAchieved>,
    /// Why the attempt failed, when it did.
    pub failure: Option<AttemptFailure>,
    /// The SMTP response or failure, Exchange-style.
    pub response: String,
}

/// Why a connection attempt did not hand the message over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptFailure {
    ConnectionRefused,
    /// The required TLS could not be established (STARTTLS missing, handshake or certificate).
    TlsRequirementUnmet,
    /// An opportunistic handshake failed and the profile treats that as transient
    /// (`opportunistic_handshake_failure: transient`).
    TlsNegotiationFailed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternalResult {
    Delivered {
        host: String,
        tls: TlsAchieved,
    },
    /// Every host failed transiently: Retry until expiry (reference §3.2, §4.3).
    Deferred {
        status: String,
    },
    /// Refused for good.
    Ndr {
        status: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalOutcome {
    /// The level enforced on this hop.
    pub effective: TlsLevel,
    /// The connector's own level (what it enforces without a carried requirement).
    pub connector_level: TlsLevel,
    /// Domain Secure applies to this domain on this connector.
    pub domain_secure_expected: bool,
    /// ... but a Front End proxy on the path breaks it (TLS004).
    pub domain_secure_broken: bool,
    /// The connector sends to smart hosts, not to the domain's MX hosts (TLS005).
    pub via_smart_host: bool,
    /// The message was handed over in clear text after a failed TLS handshake: what the
    /// UNCONFIRMED profile setting `opportunistic_handshake_failure: clear_text` decides.
    pub fell_back_to_clear_text: bool,
    pub attempts: Vec<Attempt>,
    pub result: ExternalResult,
}

/// How MX hosts of equal preference are ordered. RFC 5321 §5.1: a sender tries hosts of equal
/// preference in random order (SPEC §5.1).
pub enum MxOrder<'r> {
    /// The order with the least secure outcome (`route`, `check`): within the first preference
    /// that hands the message over, the host whose delivery is weakest goes first. An exposure
    /// that one order of equal-preference hosts produces is an exposure, not safety by luck.
    Worst,
    /// A random order at each attempt (`simulate`): `draw(n)` returns an index below `n`.
    Random(&'r mut dyn FnMut(usize) -> usize),
}

/// Whether `domain`'s MX hosts (as `connector` reaches them) have several hosts of one
/// preference, so that their order is a random choice.
pub fn mx_order_matters(topology: &Topology, connector: ConnectorId, domain: &str) -> bool {
    let c = topology.connector(connector);
    c.dns_routing
        && topology
            .external_domain(domain)
            .is_some_and(|d| d.mx.windows(2).any(|w| w[0].preference == w[1].preference))
}

/// Runs the external hop from `from` over `connector` to `domain`, with the requirement that
/// reached `from` (`carried`), judging certificates at `at`, trying MX hosts of equal preference
/// in `order`.
#[expect(
    clippy::too_many_arguments,
    reason = "the hop, its requirement, time and the MX order are all inputs"
)]
pub fn external_hop(
    topology: &Topology,
    connector: ConnectorId,
    from: ServerId,
    domain: &str,
    carried: TlsLevel,
    via_frontend: bool,
    at: Timestamp,
    order: MxOrder<'_>,
) -> ExternalOutcome {
    let profile = &topology.profile;
    let c = topology.connector(connector);
    let connector_level = if c.require_tls {
        c.tls_auth_level
            .unwrap_or(profile.require_tls_without_auth_level)
    } else {
        TlsLevel::None
    };
    // Mutual TLS "functions correctly only when" DNS routing is on and STARTTLS is not ignored
    // (Set-SendConnector -DomainSecureEnabled; CFG108): otherwise it never applies.
    let domain_secure_expected = c.domain_secure_effective()
        && topology
            .transport_config
            .tls_send_domain_secure_list
            .iter()
            .any(|d| d == domain);
    let domain_secure_broken =
        domain_secure_expected && via_frontend && !profile.domain_secure_through_frontend.supported;
    // A carried rule level overrides the connector's TLS settings wholesale under the
    // decompiled behaviour (reference §3.6); else the stricter of the two holds.
    let (mut effective, ignore_starttls, mut name) = if carried == TlsLevel::None {
        (connector_level, c.ignore_starttls, c.tls_domain.clone())
    } else if profile.rule_level_overrides_connector.supported || carried >= connector_level {
        (carried, false, None)
    } else {
        (connector_level, false, c.tls_domain.clone())
    };
    if domain_secure_expected && !domain_secure_broken {
        effective = effective.max(TlsLevel::DomainValidation);
        name = Some(domain.to_owned());
    }
    let expected_name = name.unwrap_or_else(|| domain.to_owned());
    let _ = from;

    let hosts = next_hops(topology, c, domain);
    let mut attempts = Vec::new();
    let Some(hosts) = hosts else {
        return ExternalOutcome {
            effective,
            connector_level,
            domain_secure_expected,
            domain_secure_broken,
            via_smart_host: !c.dns_routing,
            fell_back_to_clear_text: false,
            attempts,
            result: ExternalResult::Ndr {
                status: format!(
                    "550 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain {domain}"
                ),
            },
        };
    };
    let hosts = if c.dns_routing {
        ordered(hosts, order, |mx| {
            attempt(profile, mx, effective, ignore_starttls, &expected_name, at).tls
        })
    } else {
        hosts
    };
    let mut tls_refused = false;
    for mx in hosts {
        let attempt = attempt(profile, mx, effective, ignore_starttls, &expected_name, at);
        let delivered = attempt.tls;
        tls_refused |= attempt.failure == Some(AttemptFailure::TlsRequirementUnmet);
        let host = attempt.host.clone();
        let fell_back = attempt.response.contains(FELL_BACK);
        attempts.push(attempt);
        if let Some(tls) = delivered {
            return ExternalOutcome {
                effective,
                connector_level,
                domain_secure_expected,
                domain_secure_broken,
                via_smart_host: !c.dns_routing,
                fell_back_to_clear_text: fell_back,
                attempts,
                result: ExternalResult::Delivered { host, tls },
            };
        }
    }
    let result = if tls_refused && profile.tls_failure == TlsFailure::ReturnToSender {
        ExternalResult::Ndr {
            status: "550 5.7.30 REQUIRETLS support required".to_owned(),
        }
    } else {
        let last = attempts
            .last()
            .map_or_else(String::new, |a| a.response.clone());
        ExternalResult::Deferred {
            status: if attempts.len() > 1 {
                format!(
                    "451 4.4.0 Primary target IP address responded with: \"{last}\" Attempted failover to alternate host, but that did not succeed."
                )
            } else {
                last
            },
        }
    };
    ExternalOutcome {
        effective,
        connector_level,
        domain_secure_expected,
        domain_secure_broken,
        via_smart_host: !c.dns_routing,
        fell_back_to_clear_text: false,
        attempts,
        result,
    }
}

/// The hosts in the order they are tried: by preference (the list is sorted by preference, then
/// name), equal preferences in `order`. `delivers` says what TLS a host would hand the message
/// over with (`None`: it would not), for the worst order.
fn ordered<'t>(
    hosts: Vec<&'t MxHost>,
    order: MxOrder<'_>,
    delivers: impl Fn(&MxHost) -> Option<TlsAchieved>,
) -> Vec<&'t MxHost> {
    let mut groups: Vec<Vec<&'t MxHost>> = Vec::new();
    for mx in hosts {
        match groups.last_mut() {
            Some(g) if g[0].preference == mx.preference => g.push(mx),
            _ => groups.push(vec![mx]),
        }
    }
    match order {
        MxOrder::Random(draw) => {
            for g in &mut groups {
                // Fisher-Yates, from the caller's seeded stream.
                for i in (1..g.len()).rev() {
                    g.swap(i, draw(i + 1));
                }
            }
        }
        MxOrder::Worst => {
            // The first preference that hands the message over decides; in it, the weakest
            // delivery goes first (a clear-text hand-over before an encrypted one).
            if let Some(g) = groups
                .iter_mut()
                .find(|g| g.iter().any(|m| delivers(m).is_some()))
            {
                let worst = (0..g.len())
                    .filter_map(|i| delivers(g[i]).map(|tls| (tls, i)))
                    .min()
                    .map(|(_, i)| i)
                    .expect("the group delivers");
                let host = g.remove(worst);
                g.insert(0, host);
            }
        }
    }
    groups.into_iter().flatten().collect()
}

/// The hosts to try: the domain's MX hosts (DNS routing), or the connector's smart hosts, each
/// described by its own `external_domains` entry when one exists, else by `*`. `None` when DNS
/// knows no such domain.
fn next_hops<'t>(
    topology: &'t Topology,
    c: &crate::model::SendConnector,
    domain: &str,
) -> Option<Vec<&'t MxHost>> {
    if c.dns_routing {
        return topology
            .external_domain(domain)
            .map(|d| d.mx.iter().collect());
    }
    let mut hosts = Vec::new();
    for smart_host in &c.smart_hosts {
        let entry = topology.external_domain(smart_host)?;
        let host = entry
            .mx
            .iter()
            .find(|m| m.host == *smart_host)
            .or_else(|| entry.mx.first())?;
        hosts.push(host);
    }
    Some(hosts)
}

/// The response text of a clear-text hand-over after a failed handshake.
const FELL_BACK: &str = "fell back to clear text";

fn attempt(
    profile: &crate::model::Profile,
    mx: &MxHost,
    required: TlsLevel,
    ignore_starttls: bool,
    expected_name: &str,
    at: Timestamp,
) -> Attempt {
    let done = |tls: TlsAchieved, response: &str| Attempt {
        host: mx.host.clone(),
        tls: Some(tls),
        failure: None,
        response: response.to_owned(),
    };
    let fail = |response: String| Attempt {
        host: mx.host.clone(),
        tls: None,
        failure: Some(AttemptFailure::TlsRequirementUnmet),
        response,
    };
    if !mx.available {
        return Attempt {
            host: mx.host.clone(),
            tls: None,
            failure: Some(AttemptFailure::ConnectionRefused),
            response: "421 4.4.1 Connection refused: the remote host did not answer".to_owned(),
        };
    }
    // A host that accepts none of the TLS versions the sender speaks fails the handshake.
    let versions_meet = mx.tls_versions.is_empty()
        || mx
            .tls_versions
            .iter()
            .any(|v| profile.tls_versions.contains(v));
    let starttls = if ignore_starttls {
        StartTls::NotOffered
    } else if mx.starttls == StartTls::Offered && !versions_meet {
        StartTls::HandshakeFails
    } else {
        mx.starttls
    };
    match starttls {
        StartTls::NotOffered if required == TlsLevel::None => done(
            TlsAchieved::None,
            "250 2.0.0 OK (no STARTTLS: sent in clear text)",
        ),
        StartTls::NotOffered => fail("451 5.7.3 STARTTLS is required to send mail".to_owned()),
        StartTls::HandshakeFails if required == TlsLevel::None => {
            match profile.opportunistic_handshake_failure.behaviour {
                crate::model::profile::OnHandshakeFailure::ClearText => done(
                    TlsAchieved::None,
                    "250 2.0.0 OK (TLS negotiation failed: fell back to clear text; profile setting opportunistic_handshake_failure, UNCONFIRMED)",
                ),
                crate::model::profile::OnHandshakeFailure::Transient => Attempt {
                    host: mx.host.clone(),
                    tls: None,
                    failure: Some(AttemptFailure::TlsNegotiationFailed),
                    response: "451 4.4.0 TLS negotiation failed (profile setting opportunistic_handshake_failure: transient, UNCONFIRMED)".to_owned(),
                },
            }
        }
        StartTls::HandshakeFails => fail("451 4.4.0 TLS negotiation failed".to_owned()),
        StartTls::Offered => {
            let self_signed = Certificate::default();
            let cert = mx.certificate.as_ref().unwrap_or(&self_signed);
            let valid = cert.trusted
                && cert.not_before.is_none_or(|t| t <= at)
                && cert.not_after.is_none_or(|t| at <= t);
            match required {
                TlsLevel::None | TlsLevel::EncryptionOnly => {
                    done(TlsAchieved::Encrypted, "250 2.0.0 OK (TLS)")
                }
                TlsLevel::CertificateValidation if valid => done(
                    TlsAchieved::CertificateValidated,
                    "250 2.0.0 OK (TLS, certificate validated)",
                ),
                TlsLevel::DomainValidation if valid && name_matches(cert, expected_name) => done(
                    TlsAchieved::DomainValidated,
                    "250 2.0.0 OK (TLS, certificate and domain validated)",
                ),
                TlsLevel::CertificateValidation | TlsLevel::DomainValidation if !valid => {
                    fail(format!(
                        "451 4.4.0 TLS certificate validation failed: {}",
                        why_invalid(cert, at)
                    ))
                }
                _ => fail(format!(
                    "451 4.4.0 TLS certificate validation failed: the certificate does not name {expected_name}"
                )),
            }
        }
    }
}

fn why_invalid(cert: &Certificate, at: Timestamp) -> &'static str {
    if !cert.trusted {
        "the certificate does not chain to a trusted root"
    } else if cert.not_after.is_some_and(|t| t < at) {
        "the certificate has expired"
    } else {
        "the certificate is not yet valid"
    }
}

/// Whether the certificate names `name`: subject or a SAN, exactly or by a one-label wildcard.
fn name_matches(cert: &Certificate, name: &str) -> bool {
    // TlsDomain `*.example.com` is an SmtpDomainWithSubdomains: the domain and every
    // subdomain (Set-SendConnector -TlsDomain), so any certificate name inside it matches.
    if let Some(suffix) = name.strip_prefix("*.") {
        let inside = |n: &str| {
            let n = n.strip_prefix("*.").unwrap_or(n);
            n == suffix
                || (n.len() > suffix.len()
                    && n.ends_with(suffix)
                    && n.as_bytes()[n.len() - suffix.len() - 1] == b'.')
        };
        return cert.subject.as_deref().is_some_and(inside) || cert.san.iter().any(|s| inside(s));
    }
    let matches = |pattern: &str| {
        pattern == name
            || pattern.strip_prefix("*.").is_some_and(|suffix| {
                name.split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix)
            })
    };
    cert.subject.as_deref().is_some_and(matches) || cert.san.iter().any(|s| matches(s))
}
