//! `tlsflow check`: the canonical report of the exhaustive analysis (SPEC §6.1) and its text view.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::check::CheckResult;
use crate::model::fault::Named;
use crate::model::{Code, Severity, TlsLevel, Topology};

use super::route::LostAtReport;
use super::text::wrap;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckReport {
    pub format_version: u32,
    pub topology: String,
    pub profile: String,
    pub at: String,
    pub failures_max: usize,
    pub components: usize,
    pub scenarios_checked: u64,
    /// `i/n` when this is one shard of an analysis (`tlsflow merge` joins them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// A shard's fingerprint of its input: SHA-256 of the topology file's text, the profile, the
    /// instant and K. `tlsflow merge` joins only shards of one input (issue 15: shards of two
    /// topologies with the same file name merged into a wrong report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_sha256: Option<String>,
    pub exposures: Vec<ExposureReport>,
    /// What the analysis cannot cover for this topology (e.g. mail handed to smart hosts), or
    /// why there is nothing to prove; part of the conclusion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caveats: Vec<String>,
    /// What an empty `exposures` proves.
    pub conclusion: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExposureReport {
    /// The first of `origin_sites`.
    pub origin_site: String,
    /// The sites of the senders whose mail this is.
    #[serde(default)]
    pub origin_sites: Vec<String>,
    /// The delivery group of a mailbox recipient that drew the submission there (the rules
    /// ran in it); `null`: mail with no mailbox recipient in another delivery group, submitted
    /// in the sender's own (reference §1.10).
    #[serde(default)]
    pub mailbox_recipient_group: Option<String>,
    /// The delivery group whose Transport service runs the rules.
    #[serde(default)]
    pub submission_group: String,
    /// The origin in words: "Branch", "HQ mail that also goes to a mailbox in Branch".
    #[serde(default)]
    pub origin: String,
    /// The first Transport services (they run the rules) this happens from.
    pub origin_servers: Vec<String>,
    pub recipient_domain: String,
    pub required_tls: TlsLevel,
    /// Only messages larger than this size (bytes) are exposed: a size limit sends them
    /// another way. Absent: messages of any size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub larger_than_bytes: Option<u64>,
    pub failure_set: Vec<String>,
    pub connector: Option<String>,
    pub lost_at: Option<LostAtReport>,
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub hops: Vec<String>,
    /// The object at fault in the topology file: the connector the mail left by, else the
    /// origin site.
    #[serde(default)]
    pub location: Option<super::location::SourceLocation>,
    /// Fixes that tlsflow applied to a copy of the topology and re-checked: each removes this
    /// exposure and adds none.
    #[serde(default)]
    pub fixes: Vec<FixReport>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FixReport {
    pub description: String,
    pub command: String,
}

impl ExposureReport {
    /// The origin as a person reads it (`origin`, or the site for reports written before it).
    pub fn origin_label(&self) -> &str {
        if self.origin.is_empty() {
            &self.origin_site
        } else {
            &self.origin
        }
    }

    /// A stable identity of the origin: the site, or the group a copy goes to.
    pub fn origin_identity(&self) -> String {
        match &self.mailbox_recipient_group {
            Some(g) => format!("copy:{g}"),
            None => self.origin_site.clone(),
        }
    }
}

/// Builds the report; `fixes` is keyed by exposure index.
pub fn check_report(
    topology: &Topology,
    file: &str,
    at: String,
    result: &CheckResult,
    fixes: &crate::check::VerifiedFixes,
    shard: Option<String>,
) -> CheckReport {
    let exposures: Vec<ExposureReport> = result
        .exposures
        .iter()
        .enumerate()
        .map(|(i, e)| ExposureReport {
            origin_site: topology.site(e.origin_site()).name.clone(),
            origin_sites: e
                .origin_sites
                .iter()
                .map(|&s| topology.site(s).name.clone())
                .collect(),
            mailbox_recipient_group: e.copy_group.map(|g| topology.group_name(g)),
            submission_group: topology.group_name(e.submission_group),
            origin: e.origin_text(topology),
            origin_servers: e
                .origin_servers
                .iter()
                .map(|&s| topology.server(s).name.clone())
                .collect(),
            recipient_domain: e.recipient_domain.clone(),
            required_tls: e.required_tls,
            larger_than_bytes: e.larger_than.map(|b| b.0),
            failure_set: e
                .failure_set
                .iter()
                .map(|&c| Named(topology, c).to_string())
                .collect(),
            connector: e.connector.map(|c| topology.connector(c).name.clone()),
            lost_at: e.lost_at.as_ref().map(LostAtReport::from),
            location: Some(super::location::SourceLocation::of(
                file,
                e.connector
                    .map_or(&topology.site(e.origin_site()).origin, |c| {
                        &topology.connector(c).origin
                    }),
            )),
            code: e.code,
            severity: e.code.severity(),
            message: e.message.to_string(),
            hops: e.hops.to_vec(),
            fixes: fixes
                .by_exposure
                .get(&i)
                .map(|f| {
                    f.iter()
                        .map(|x| FixReport {
                            description: x.description.clone(),
                            command: x.command.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let caveats = caveats(topology);
    CheckReport {
        format_version: 1,
        topology: file.to_owned(),
        profile: topology.profile.declared_name().to_owned(),
        at,
        failures_max: result.failures_max,
        components: result.components,
        scenarios_checked: result.scenarios_checked,
        shard,
        input_sha256: None,
        // The declared name; its caveat (first of `caveats`) says what it is modelled as, and
        // `merge` rebuilds the same words from the report alone.
        conclusion: conclusion(
            topology.profile.declared_name(),
            result.failures_max,
            &exposures,
            &caveats,
        ),
        caveats,
        exposures,
    }
}

/// What the check cannot prove for `topology`, in words (SPEC §5.1, §5.4; the brief: never call
/// a result a proof where the model does not cover the case).
pub fn caveats(topology: &Topology) -> Vec<String> {
    let mut out = Vec::new();
    // `exchange2019` runs on exchange2013's rules, which no source confirms for 2019.
    out.extend(topology.profile.declared_caveat());
    let rules = topology
        .transport_rules
        .iter()
        .any(|r| r.mode == crate::model::RuleMode::Enforce && r.actions.require_tls);
    let partners = !topology
        .transport_config
        .tls_send_domain_secure_list
        .is_empty()
        && topology
            .send_connectors
            .iter()
            .any(crate::model::SendConnector::domain_secure_effective);
    if !rules && !partners {
        out.push(
            "nothing to prove: no enforced transport rule requires TLS (RouteMessageOutboundRequireTls) and no Domain Secure partner is configured, so no requirement can be lost; a connector's own require_tls holds wherever it sends"
                .to_owned(),
        );
    }
    // A failed or partial export (issue 14) can leave no Send connector: nothing leaves, so
    // nothing can leak, and that proves nothing about the organisation.
    if !topology.send_connectors.iter().any(|c| c.enabled) {
        out.push(
            "nothing to prove: the topology has no enabled Send connector (nor an Edge subscription that creates one), so no mail leaves the organisation in the model; if the organisation sends Internet mail, its Send connectors are missing from this topology (a failed Get-SendConnector?)"
                .to_owned(),
        );
    }
    let mut relays: Vec<&str> = topology
        .send_connectors
        .iter()
        .filter(|c| c.enabled && !c.dns_routing)
        .flat_map(|c| c.smart_hosts.iter().map(String::as_str))
        .collect();
    relays.sort_unstable();
    relays.dedup();
    if !relays.is_empty() {
        out.push(format!(
            "mail through smart hosts ({}) is judged up to the smart host only: whether it enforces TLS onward is outside Exchange (TLS005)",
            relays.join(", ")
        ));
    }
    out
}

/// The check's verdict in words. Exposures that need no failure (today's configuration) are
/// counted apart from those that appear only under failures: "under any single failure" for
/// 90 exposures of which 81 need none misled (issue 16).
pub fn conclusion(
    profile: &str,
    k: usize,
    exposures: &[ExposureReport],
    caveats: &[String],
) -> String {
    let empty = exposures.is_empty();
    let today = exposures
        .iter()
        .filter(|e| e.failure_set.is_empty())
        .count();
    let later = exposures.len() - today;
    let failures = match k {
        0 => "with no component failed".to_owned(),
        1 => "under any single failure of a server, site, site link or connector".to_owned(),
        k => format!(
            "under any {k} simultaneous failures of servers, sites, site links or connectors"
        ),
    };
    let caveat = if caveats.is_empty() {
        String::new()
    } else {
        format!("; {}", caveats.join("; "))
    };
    if empty && caveats.iter().any(|c| c.starts_with("nothing to prove")) {
        format!("no exposure {failures} (profile {profile}){caveat}")
    } else if empty {
        format!(
            "no exposure: for every origin (sender's site, and the delivery group of a mailbox recipient that moves where the rules run, or none), recipient domain and required level, {failures}, mail that must leave over TLS does \
             (a proof for the modelled behaviour, profile {profile}){caveat}"
        )
    } else if k == 0 {
        format!("{today} exposure(s) found {failures} (profile {profile}){caveat}")
    } else if later == 0 {
        format!(
            "{today} exposure(s) found with nothing failed, and none more {failures} (profile {profile}){caveat}"
        )
    } else if today == 0 {
        format!(
            "no exposure with nothing failed, but {later} {failures} (profile {profile}){caveat}"
        )
    } else {
        format!(
            "{today} exposure(s) found with nothing failed, and {later} more {failures} (profile {profile}){caveat}"
        )
    }
}

const WIDTH: usize = 80;

/// The fingerprint of a shard's input ([`CheckReport::input_sha256`]): the topology file's text,
/// and the profile, instant and K of the report.
pub fn input_fingerprint(source_text: &str, report: &CheckReport) -> String {
    let input = format!(
        "{source_text}\0{}\0{}\0{}",
        report.profile, report.at, report.failures_max
    );
    super::audit::sha256_hex(input.as_bytes())
}

impl ExposureReport {
    /// `, messages over 10MB` for an exposure of large messages only; empty otherwise.
    pub fn size_text(&self) -> String {
        self.larger_than_bytes.map_or_else(String::new, |b| {
            format!(", messages over {}", crate::model::Bytes(b))
        })
    }
}

impl CheckReport {
    pub fn max_severity(&self) -> Option<Severity> {
        self.exposures.iter().map(|e| e.severity).max()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "check  {}", self.topology);
        let _ = writeln!(
            out,
            "       profile {}, up to {} failed component{}, certificates judged at {}",
            self.profile,
            self.failures_max,
            if self.failures_max == 1 { "" } else { "s" },
            self.at
        );
        let _ = writeln!(
            out,
            "       {} components that can fail, {} situations routed{}",
            self.components,
            self.scenarios_checked,
            self.shard
                .as_ref()
                .map_or_else(String::new, |s| format!(" (shard {s})"))
        );
        out.push('\n');
        if self.exposures.is_empty() {
            let _ = writeln!(out, "{}", wrap(&self.conclusion, 0, 0, WIDTH));
            return out;
        }
        out.push_str("exposures\n");
        for e in &self.exposures {
            let head = format!("  {:<8}{}  ", e.severity.as_str(), e.code);
            let failures = if e.failure_set.is_empty() {
                "no failure".to_owned()
            } else {
                format!("down: {}", e.failure_set.join(", "))
            };
            let size = e.size_text();
            let first = format!(
                "{} -> {}{size}, required {}, {failures}; rules run on {}",
                e.origin_label(),
                e.recipient_domain,
                e.required_tls,
                e.origin_servers.join(", ")
            );
            let pad = " ".repeat(head.len());
            let _ = writeln!(out, "{head}{}", wrap(&first, head.len(), head.len(), WIDTH));
            if !e.hops.is_empty() {
                let _ = writeln!(
                    out,
                    "{pad}{}",
                    wrap(
                        &format!("hops: {}", e.hops.join(", ")),
                        head.len(),
                        head.len(),
                        WIDTH
                    )
                );
            }
            if let Some(l) = &e.lost_at {
                let why = format!(
                    "lost on {} -> {} ({}) [evidence: {}]",
                    l.from,
                    l.to,
                    l.kind,
                    l.evidence.as_str()
                );
                let _ = writeln!(out, "{pad}{}", wrap(&why, head.len(), head.len(), WIDTH));
            }
            for f in &e.fixes {
                let _ = writeln!(
                    out,
                    "{pad}{}",
                    wrap(
                        &format!("fix (re-checked): {}", f.description),
                        head.len(),
                        head.len() + 2,
                        WIDTH
                    )
                );
            }
        }
        out.push('\n');
        // The conclusion counts the exposures itself (today's apart from those under failures).
        let _ = writeln!(out, "{}", wrap(&self.conclusion, 0, 0, WIDTH));
        out
    }
}
