//! `tlsflow logs` (issue 19): from "could leak" to "did leak". Reads Exchange's message tracking
//! logs and SMTP Send protocol logs (raw files, or `Get-MessageTrackingLog | Export-Csv`),
//! follows every message whose transport rule required TLS (`RouteMessageOutboundRequireTls`) to
//! the `SEND` that left the organisation and to the protocol-log session that carried it, and
//! decides per recipient: left over TLS (with the protocol), left in clear text, or undetermined
//! (a log missing, named).
//!
//! Memory stays bounded by the required messages, not by the logs: three streaming passes.
//!
//! 1. Tracking logs: the `AGENTINFO` rows of the Transport Rule agent (`S:TRA=ETR|ruleId=…|
//!    action=RouteMessageOutboundRequireTls|…|mode=Enforce`, reference §5.3) name the required
//!    messages and their recipients.
//! 2. Tracking logs again: only those messages' `RECEIVE`, `SEND`, `DEFER` and `FAIL` rows.
//! 3. SmtpSend protocol logs: sessions are followed line by line and forgotten at their end
//!    unless they carried one of those messages (`sending message with RecordId … and
//!    InternetMessageId …`); the session says whether STARTTLS was offered, used, and with which
//!    protocol before the message's `MAIL FROM`.
//!
//! Evidence lines are quoted by file and line. The line forms, and where each was seen in public
//! samples, are in docs/evidence.md#logs.

pub mod decode;
pub mod protocol;
pub mod tracking;
pub mod w3c;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::model::{Code, Topology};

use protocol::{SessionMessage, Sessions};
use tracking::TrackingRow;
use w3c::{LogKind, ReadError};

/// The name Exchange logs as `connector-id` for relays between its own Transport services
/// (reference §3.5, §5.3).
pub const INTRA_ORG_CONNECTOR: &str = "Intra-Organization SMTP Send Connector";

/// The transport rule action this command follows.
pub const REQUIRE_TLS_ACTION: &str = "RouteMessageOutboundRequireTls";

/// What `tlsflow logs` is asked.
#[derive(Clone, Debug, Default)]
pub struct Options<'t> {
    /// The organisation, to name its rules, servers and connectors, and to compare.
    pub topology: Option<&'t Topology>,
    /// Further rules to follow, by GUID or name (`--rule`).
    pub rules: Vec<String>,
    /// Hash addresses and drop subjects (`--redact`).
    pub redact: bool,
}

/// Where a log line is: file (its number in the run), line, byte offset and length. The passes
/// keep marks, not text; only the lines a report quotes are read again at the end, so memory
/// does not grow with the length of the lines kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    pub file: u32,
    pub line: u64,
    pub offset: u64,
    pub len: u32,
    /// The position of `message-subject` in a tracking record, dropped by `--redact`.
    pub subject: Option<u16>,
}

/// A quoted log line.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Evidence {
    pub file: String,
    pub line: u64,
    pub text: String,
}

/// What happened to one required recipient.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    /// Handed over after STARTTLS. `protocol`: as the protocol log names it (`TLS1_2`), `None`
    /// when only the tracking log speaks (the requirement was in force on the sending server:
    /// Exchange does not send such a recipient without TLS, reference §3.6).
    Tls {
        protocol: Option<String>,
        enforced: bool,
    },
    /// The message's content crossed the wire without TLS.
    ClearText {
        /// The remote host offered STARTTLS and the session did not use it.
        starttls_offered: bool,
    },
    /// A log needed to decide is missing: which.
    Undetermined { missing: String },
}

/// One required recipient, followed to the organisation's edge.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Followed {
    pub message_id: String,
    pub recipient: String,
    pub sender: String,
    /// Dropped with `--redact`.
    pub subject: Option<String>,
    /// The rule as logged (GUID or name), and its name when the topology knows it.
    pub rule: String,
    pub rule_name: Option<String>,
    /// The Transport service that ran the rule (it logged the `AGENTINFO`), and its AD site
    /// when the topology knows the server.
    pub rule_server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_site: Option<String>,
    /// When the rule ran, as logged.
    pub time: String,
    /// The server that handed it over outside, the connector, the remote host or endpoint.
    pub sent_by: Option<String>,
    pub connector: Option<String>,
    pub remote: Option<String>,
    /// `RequiredTlsAuthLevel` as the sending server logged it on its `SEND` (2016/2019, reference
    /// §3.6): `Opportunistic` there means the requirement did not reach it.
    pub required_at_send: Option<String>,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// OBS001, OBS002 or OBS003; `None`: left over TLS with the requirement in force.
    pub code: Option<Code>,
    pub message: String,
    /// The lines that prove the verdict: all of them for a finding (the report moves them to
    /// the finding); for a recipient that left over TLS with nothing to report, the session's
    /// `TLS protocol … negotiation succeeded` line (memory stays small on large logs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// Where those lines are, until they are read.
    #[serde(skip)]
    pub marks: Vec<Mark>,
    /// With a topology, for OBS001 and OBS002: what `check` predicts for this origin and domain.
    pub model: Option<ModelMatch>,
}

/// How an observed incident compares with the model.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ModelMatch {
    /// `check` predicts an exposure of this kind for this origin and domain.
    pub predicted: bool,
    /// The exposure that covers it (`TLS001 with no failure`, `TLS001 with HQ-MBX1 down`), or
    /// why none does.
    pub detail: String,
}

/// The model's predictions, against what the logs show.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    pub failures_max: usize,
    /// Observed incidents (OBS001, OBS002) the model predicts, and those it does not (OBS004).
    pub confirmed: u64,
    pub unpredicted: u64,
    /// Each predicted exposure, by (first Transport services, domain, code, failure set), and
    /// how many incidents of the period it covers.
    pub predictions: Vec<Prediction>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Prediction {
    pub code: Code,
    pub origin_servers: Vec<String>,
    pub recipient_domain: String,
    pub failure_set: Vec<String>,
    /// Incidents of the logs this exposure explains (0: not seen in the period).
    pub observed: u64,
}

/// Compares the incidents with `check` of `topology` at up to `failures_max` failures
/// (reference §0: the model's claim is per first Transport service and recipient domain). An
/// OBS001 is explained by a TLS001 exposure, an OBS002 by a TLS003 or a TLS001 one (the model
/// takes the least secure MX order), of the same first Transport service and domain class.
pub fn compare(
    result: &mut LogsResult,
    topology: &Topology,
    failures_max: usize,
    at: crate::model::Timestamp,
) -> Comparison {
    let options = crate::check::CheckOptions {
        failures_max,
        at,
        shard: None,
        no_pruning: false,
    };
    let checked = crate::check::check(topology, &options, &|_| {});
    let mut predictions: Vec<Prediction> = Vec::new();
    let mut index: HashMap<(Vec<String>, String, Code, Vec<String>), usize> = HashMap::new();
    let mut keyed: Vec<(usize, &crate::check::Exposure)> = Vec::new();
    for e in &checked.exposures {
        if !matches!(e.code, Code::Tls001 | Code::Tls003) {
            continue;
        }
        let servers: Vec<String> = e
            .origin_servers
            .iter()
            .map(|s| topology.server(*s).name.clone())
            .collect();
        let failures: Vec<String> = e
            .failure_set
            .iter()
            .map(|&c| crate::model::fault::Named(topology, c).to_string())
            .collect();
        let key = (
            servers.clone(),
            e.recipient_domain.clone(),
            e.code,
            failures.clone(),
        );
        let i = *index.entry(key).or_insert_with(|| {
            predictions.push(Prediction {
                code: e.code,
                origin_servers: servers,
                recipient_domain: e.recipient_domain.clone(),
                failure_set: failures,
                observed: 0,
            });
            predictions.len() - 1
        });
        keyed.push((i, e));
    }
    let listed: BTreeSet<String> = topology
        .external_domains
        .iter()
        .map(|d| d.domain.to_lowercase())
        .collect();
    let mut comparison = Comparison {
        failures_max,
        ..Comparison::default()
    };
    for f in &mut result.followed {
        f.rule_site = topology
            .server_by_name(host_label(&f.rule_server).as_str())
            .and_then(|s| topology.server(s).site)
            .map(|s| topology.site(s).name.clone());
        let wanted: &[Code] = match f.code {
            Some(Code::Obs001) => &[Code::Tls001],
            Some(Code::Obs002) => &[Code::Tls003, Code::Tls001],
            _ => continue,
        };
        let domain = domain_of(&f.recipient);
        let class = if listed.contains(&domain) {
            domain.clone()
        } else {
            "*".to_owned()
        };
        let server = topology.server_by_name(host_label(&f.rule_server).as_str());
        let found = server.and_then(|sid| {
            keyed
                .iter()
                .filter(|(_, e)| {
                    wanted.contains(&e.code)
                        && e.recipient_domain.eq_ignore_ascii_case(&class)
                        && e.origin_servers.contains(&sid)
                })
                .min_by_key(|(_, e)| {
                    (
                        e.failure_set.len(),
                        wanted.iter().position(|c| *c == e.code),
                    )
                })
                .map(|(i, _)| *i)
        });
        f.model = Some(match (server, found) {
            (None, _) => {
                comparison.unpredicted += 1;
                ModelMatch {
                    predicted: false,
                    detail: format!(
                        "the rule ran on {}, which is not a server of the topology",
                        f.rule_server
                    ),
                }
            }
            (Some(_), None) => {
                comparison.unpredicted += 1;
                ModelMatch {
                    predicted: false,
                    detail: format!(
                        "check predicts no {} from {} to {} with up to {failures_max} failed component(s)",
                        wanted
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(" or "),
                        f.rule_server,
                        if class == "*" {
                            format!("{domain} (any other domain)")
                        } else {
                            class.clone()
                        }
                    ),
                }
            }
            (Some(_), Some(i)) => {
                comparison.confirmed += 1;
                let p = &mut predictions[i];
                p.observed += 1;
                let when = if p.failure_set.is_empty() {
                    "with no failure".to_owned()
                } else {
                    format!("with {} down", p.failure_set.join(", "))
                };
                ModelMatch {
                    predicted: true,
                    detail: format!("{} {when}", p.code),
                }
            }
        });
    }
    comparison.predictions = predictions;
    comparison
}

/// A file read, and what it was.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FileSummary {
    pub file: String,
    /// `tracking`, `tracking_export`, `smtp_send`, or `skipped`.
    pub kind: String,
    pub records: u64,
    /// Why it was skipped or stopped early.
    pub note: Option<String>,
}

/// Counts over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub tracking_records: u64,
    pub protocol_records: u64,
    pub bytes: u64,
    /// Messages with an enforced require-TLS rule match, and their recipients that left.
    pub required_messages: u64,
    pub recipients_followed: u64,
    pub left_over_tls: u64,
    pub left_in_clear_text: u64,
    pub downgraded: u64,
    pub undetermined: u64,
    /// Required recipients with no hand-over outside in these logs (internal, queued, failed).
    pub not_sent_out: u64,
}

/// The answer of `tlsflow logs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LogsResult {
    pub files: Vec<FileSummary>,
    pub counts: Counts,
    pub followed: Vec<Followed>,
}

/// The files under `inputs`: each file as given, and every file of each directory (recursively,
/// in name order; hidden files skipped).
pub fn collect(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| format!("{}: {e}", input.display()))?;
        if meta.is_dir() {
            walk(input, &mut out).map_err(|e| format!("{}: {e}", input.display()))?;
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// A required message, from pass 1.
#[derive(Clone, Debug, Default)]
struct Required {
    rule: String,
    rule_server: String,
    time: String,
    sender: String,
    subject: String,
    recipients: BTreeSet<String>,
    evidence: Mark,
}

/// A `SEND` of a required message, from pass 2.
#[derive(Clone, Debug)]
struct Send {
    server: String,
    remote: String,
    connector: String,
    recipients: Vec<String>,
    required_level: Option<String>,
    evidence: Mark,
}

/// The rules to follow: `(GUID or name, lower case) -> name`.
fn rule_names(options: &Options<'_>) -> HashMap<String, Option<String>> {
    let mut rules = HashMap::new();
    if let Some(t) = options.topology {
        for r in t.transport_rules.iter() {
            if r.actions.require_tls {
                rules.insert(r.name.to_lowercase(), Some(r.name.clone()));
                if let Some(guid) = &r.guid {
                    rules.insert(guid.to_lowercase(), Some(r.name.clone()));
                }
            }
        }
    }
    for r in &options.rules {
        rules.entry(r.to_lowercase()).or_insert(None);
    }
    rules
}

/// Reads the logs in `files` and follows every required message. `name` gives each file's
/// display name; `progress(done, total)` is called with bytes.
pub fn analyse(
    files: &[PathBuf],
    name: &dyn Fn(&Path) -> String,
    options: &Options<'_>,
    progress: &dyn Fn(u64, u64),
) -> LogsResult {
    let mut result = LogsResult::default();
    let rules = rule_names(options);
    let redact = options.redact;

    // Sort the files by kind; each has its number in `files`.
    let mut tracking_files = Vec::new();
    let mut protocol_files = Vec::new();
    for (number, path) in files.iter().enumerate() {
        let number = u32::try_from(number).unwrap_or(u32::MAX);
        let shown = name(path);
        let summary = |kind: &str, note: Option<String>| FileSummary {
            file: shown.clone(),
            kind: kind.to_owned(),
            records: 0,
            note,
        };
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        match w3c::open(path) {
            Ok(r) => match r.kind() {
                LogKind::Tracking | LogKind::TrackingExport | LogKind::TrackingJson => {
                    let kind = match r.kind() {
                        LogKind::Tracking => "tracking",
                        LogKind::TrackingExport => "tracking_export",
                        _ => "tracking_json",
                    };
                    tracking_files.push((path.clone(), shown.clone(), size, number));
                    result.files.push(summary(kind, None));
                }
                LogKind::SmtpSend => {
                    protocol_files.push((path.clone(), shown.clone(), size, number));
                    result.files.push(summary("smtp_send", None));
                }
                LogKind::Other(t) => result
                    .files
                    .push(summary("skipped", Some(format!("a \"{t}\" log: not used")))),
                LogKind::Unknown => result.files.push(summary(
                    "skipped",
                    Some(
                        "not an Exchange log (no #Fields header, no Export-Csv header row)".into(),
                    ),
                )),
            },
            Err(e) => result.files.push(summary("skipped", Some(e.to_string()))),
        }
    }
    let total: u64 = tracking_files.iter().map(|f| f.2 * 2).sum::<u64>()
        + protocol_files.iter().map(|f| f.2).sum::<u64>();
    let mut done = 0u64;
    let mut notes: BTreeMap<String, (u64, Option<String>)> = BTreeMap::new();

    // Pass 1: the required messages.
    let mut required: HashMap<String, Required> = HashMap::new();
    for (path, shown, _, number) in &tracking_files {
        let outcome = each_tracking_row(path, *number, &mut |row| {
            if !row.event.eq_ignore_ascii_case("AGENTINFO") {
                return;
            }
            for entry in tracking::etr_entries(&row.custom_data) {
                if !entry.enforced() {
                    continue;
                }
                let by_action = entry
                    .actions
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(REQUIRE_TLS_ACTION));
                let by_rule = rules.contains_key(&entry.rule_id.to_lowercase());
                if !(by_action || by_rule) {
                    continue;
                }
                let r = required
                    .entry(row.message_id.clone())
                    .or_insert_with(|| Required {
                        rule: entry.rule_id.clone(),
                        rule_server: row.acting_server().to_owned(),
                        time: row.time.clone(),
                        sender: row.sender.clone(),
                        subject: row.subject.clone(),
                        recipients: BTreeSet::new(),
                        evidence: row.mark,
                    });
                r.recipients
                    .extend(row.recipients.iter().map(|a| a.to_lowercase()));
            }
        });
        done += outcome.bytes;
        progress(done, total);
        let n = notes.entry(shown.clone()).or_default();
        n.0 = outcome.records;
        n.1 = outcome.error;
        result.counts.tracking_records += outcome.records;
        result.counts.bytes += outcome.bytes;
    }

    // Pass 2: their hops.
    let mut sends: HashMap<String, Vec<Send>> = HashMap::new();
    for (path, _, _, number) in &tracking_files {
        let outcome = each_tracking_row(path, *number, &mut |row| {
            if !required.contains_key(&row.message_id) {
                return;
            }
            if row.event.eq_ignore_ascii_case("SEND") && row.source.eq_ignore_ascii_case("SMTP") {
                sends.entry(row.message_id.clone()).or_default().push(Send {
                    server: row.acting_server().to_owned(),
                    remote: row.server_hostname.clone(),
                    connector: row.connector_id.clone(),
                    recipients: row.recipients.iter().map(|a| a.to_lowercase()).collect(),
                    required_level: tracking::required_tls_level(&row.custom_data),
                    evidence: row.mark,
                });
            }
        });
        done += outcome.bytes;
        progress(done, total);
    }

    // Pass 3: the sessions that carried them.
    let mut carried: HashMap<String, Vec<SessionMessage>> = HashMap::new();
    let mut protocol_servers: BTreeSet<String> = BTreeSet::new();
    for (path, shown, _, number) in &protocol_files {
        if let Some(server) = server_hint(path) {
            protocol_servers.insert(host_label(&server));
        }
        let frontend = path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|d| d.eq_ignore_ascii_case("frontend-smtpsend"));
        let mut sessions = Sessions::new(*number, server_hint(path), frontend);
        let mut keep = |m: SessionMessage| {
            if required.contains_key(&m.message_id) {
                carried.entry(m.message_id.clone()).or_default().push(m);
            }
        };
        let outcome = (|| -> Result<(u64, u64), ReadError> {
            let mut reader = w3c::open(path)?;
            let mut records = 0;
            while reader.next_record()? {
                records += 1;
                sessions.line(&reader, &mut keep);
            }
            Ok((records, reader.bytes()))
        })();
        // Sessions open when the file ends (or stops on a bad record) hand over what they
        // carried: a message whose content was sent counts, whatever came after.
        sessions.finish(&mut keep);
        let n = notes.entry(shown.clone()).or_default();
        match outcome {
            Ok((records, bytes)) => {
                n.0 = records;
                result.counts.protocol_records += records;
                result.counts.bytes += bytes;
                done += bytes;
            }
            Err(e) => n.1 = Some(e.to_string()),
        }
        progress(done, total);
    }
    for f in &mut result.files {
        if let Some((records, note)) = notes.remove(&f.file) {
            f.records = records;
            if note.is_some() {
                f.note = note;
            }
        }
    }

    // The verdicts.
    let names: HashMap<String, Option<String>> = rules;
    let org = Org::of(options.topology);
    let mut ids: Vec<&String> = required.keys().collect();
    ids.sort_by(|a, b| {
        let (ra, rb) = (&required[*a], &required[*b]);
        (&ra.time, *a).cmp(&(&rb.time, *b))
    });
    result.counts.required_messages = ids.len() as u64;
    for id in ids {
        let req = &required[id];
        let no_sends = Vec::new();
        let no_sessions = Vec::new();
        let message_sends = sends.get(id).unwrap_or(&no_sends);
        let message_sessions = carried.get(id).unwrap_or(&no_sessions);
        for rcpt in &req.recipients {
            let mut outside: Vec<&Send> = message_sends
                .iter()
                .filter(|s| s.recipients.contains(rcpt) && org.send_leaves(s))
                .collect();
            let sessions: Vec<&SessionMessage> = message_sessions
                .iter()
                .filter(|m| m.recipients.iter().any(|(r, _)| r == rcpt) && m.data_sent.is_some())
                .filter(|m| org.session_leaves(m))
                .collect();
            let mut via = Via::Direct;
            if outside.is_empty() && sessions.is_empty() {
                // Handed to an Edge Transport server whose logs are not here: it left the
                // Mailbox servers, and only the Edge's logs can say how it left.
                let Some(s) = message_sends.iter().find(|s| {
                    s.recipients.contains(rcpt) && org.edges.contains(&host_label(&s.remote))
                }) else {
                    result.counts.not_sent_out += 1;
                    continue;
                };
                outside.push(s);
                via = Via::Edge;
            } else if outside.last().is_some_and(|s| org.proxied(&s.connector)) {
                via = Via::Proxy;
            }
            let followed = decide(
                req,
                id,
                rcpt,
                &outside,
                &sessions,
                &protocol_servers,
                &names,
                redact,
                via,
            );
            result.counts.recipients_followed += 1;
            match (&followed.verdict, followed.code) {
                (Verdict::ClearText { .. }, _) => result.counts.left_in_clear_text += 1,
                (Verdict::Undetermined { .. }, _) => result.counts.undetermined += 1,
                (Verdict::Tls { .. }, Some(Code::Obs002)) => {
                    result.counts.left_over_tls += 1;
                    result.counts.downgraded += 1;
                }
                (Verdict::Tls { .. }, _) => result.counts.left_over_tls += 1,
            }
            result.followed.push(followed);
        }
    }
    quote(&mut result.followed, files, name, redact);
    result
}

/// A file `quote` is reading.
struct Open {
    number: u32,
    /// The decoded text of a UTF-16 file, read forward; `None` for a UTF-8 file.
    decoded: Option<w3c::Input>,
    file: Option<std::fs::File>,
    position: u64,
    shown: String,
}

/// Reads the lines the verdicts point to (file by file, in offset order) into their evidence;
/// with `redact`, subjects dropped and addresses hashed.
fn quote(
    followed: &mut [Followed],
    files: &[PathBuf],
    name: &dyn Fn(&Path) -> String,
    redact: bool,
) {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut wanted: Vec<(Mark, usize, usize)> = Vec::new();
    for (i, f) in followed.iter_mut().enumerate() {
        f.evidence = vec![Evidence::default(); f.marks.len()];
        for (j, m) in f.marks.iter().enumerate() {
            wanted.push((*m, i, j));
        }
    }
    wanted.sort_by_key(|(m, _, _)| (m.file, m.offset));
    // A UTF-8 file is read where each line is; a decoded UTF-16 one from its start, once, in
    // offset order (its offsets are in the decoded text).
    let mut open: Option<Open> = None;
    let mut buf = Vec::new();
    for (m, i, j) in wanted {
        if open.as_ref().is_none_or(|o| o.number != m.file) {
            let Some(path) = files.get(m.file as usize) else {
                continue;
            };
            open = w3c::open_input(path).ok().map(|(input, decoded)| Open {
                number: m.file,
                file: if decoded {
                    None
                } else {
                    std::fs::File::open(path).ok()
                },
                decoded: decoded.then_some(input),
                position: 0,
                shown: name(path),
            });
        }
        if open
            .as_ref()
            .is_some_and(|o| o.decoded.is_some() && m.offset < o.position)
        {
            // A line quoted twice in a decoded file: read it from the start again.
            if let Some(o) = &mut open
                && let Some(path) = files.get(m.file as usize)
                && let Ok((input, _)) = w3c::open_input(path)
            {
                o.decoded = Some(input);
                o.position = 0;
            }
        }
        let Some(o) = &mut open else {
            continue;
        };
        buf.clear();
        buf.resize(m.len as usize, 0);
        let read = match (&mut o.decoded, &mut o.file) {
            (Some(input), _) => {
                let gap = m.offset.saturating_sub(o.position);
                std::io::copy(&mut input.take(gap), &mut std::io::sink())
                    .and_then(|_| input.read_exact(&mut buf))
            }
            (None, Some(file)) => file
                .seek(SeekFrom::Start(m.offset))
                .and_then(|_| file.read_exact(&mut buf)),
            (None, None) => Err(std::io::Error::other("cannot open the file again")),
        };
        o.position = m.offset + u64::from(m.len);
        let shown = o.shown.clone();
        let text = match read {
            Ok(()) => {
                let text = String::from_utf8_lossy(&buf);
                let text = text.trim_end_matches(['\r', '\n']);
                let text = text.strip_prefix('\u{feff}').unwrap_or(text);
                // A JSON export's object, on one line.
                let compact = (text.starts_with('{'))
                    .then(|| serde_json::from_str::<serde_json::Value>(text).ok())
                    .flatten()
                    .map(|v| v.to_string());
                let text = compact.as_deref().unwrap_or(text);
                match (redact, m.subject) {
                    (false, _) => text.to_owned(),
                    (true, Some(s)) => tracking::redact_record(text, Some(usize::from(s))),
                    (true, None) => tracking::redact_text(text),
                }
            }
            Err(e) => format!("(the line could not be read again: {e})"),
        };
        followed[i].evidence[j] = Evidence {
            file: shown,
            line: m.line,
            text,
        };
    }
    for f in followed.iter_mut() {
        f.marks = Vec::new();
    }
}

/// How a required recipient was handed outside, for what a missing log is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Direct,
    /// Through a connector that proxies through Front End Transport.
    Proxy,
    /// To an Edge Transport server whose logs are not among the files.
    Edge,
}

/// What the topology says about who is inside: its servers, and each Send connector's source
/// servers (lower case). Without a topology, only Exchange's own names and ports say it.
struct Org {
    servers: BTreeSet<String>,
    /// The Edge Transport servers.
    edges: BTreeSet<String>,
    /// Each connector's source servers, and whether it proxies through Front End Transport.
    connectors: Option<HashMap<String, (BTreeSet<String>, bool)>>,
}

impl Org {
    fn of(topology: Option<&Topology>) -> Org {
        Org {
            servers: topology
                .map(|t| t.servers.iter().map(|s| s.name.to_lowercase()).collect())
                .unwrap_or_default(),
            edges: topology
                .map(|t| {
                    t.servers
                        .iter()
                        .filter(|s| s.has_role(crate::model::Role::Edge))
                        .map(|s| s.name.to_lowercase())
                        .collect()
                })
                .unwrap_or_default(),
            connectors: topology.map(|t| {
                t.send_connectors
                    .iter()
                    .map(|c| {
                        let sources = c
                            .source_servers
                            .iter()
                            .map(|s| t.server(*s).name.to_lowercase())
                            .collect();
                        (c.name.to_lowercase(), (sources, c.frontend_proxy))
                    })
                    .collect()
            }),
        }
    }

    /// Whether a server that sends through `connector` hands the message outside: with a
    /// topology, the connector is one of its Send connectors and the server one of its source
    /// servers (a Mailbox server relaying to an Edge-sourced connector's Edge is inside); an
    /// unknown server (`None`) is given the benefit of the doubt only there.
    fn sends_out(&self, connector: &str, server: Option<&str>) -> bool {
        if connector.eq_ignore_ascii_case(INTRA_ORG_CONNECTOR) || connector.contains('\\') {
            return false;
        }
        match &self.connectors {
            None => true,
            Some(connectors) => {
                connectors
                    .get(&connector.to_lowercase())
                    .is_some_and(|(sources, _)| {
                        server.is_none_or(|s| sources.contains(&host_label(s)))
                    })
            }
        }
    }

    /// Whether a connector proxies through Front End Transport (its hand-over outside is
    /// logged by the Front End service, in `FrontEnd\ProtocolLog\SmtpSend`, reference §3.5).
    fn proxied(&self, connector: &str) -> bool {
        self.connectors.as_ref().is_some_and(|c| {
            c.get(&connector.to_lowercase())
                .is_some_and(|(_, proxy)| *proxy)
        })
    }

    /// Whether a `SEND` hands the message outside: to a host outside the organisation, or,
    /// through a proxying connector, to the Front End service that hands it over.
    fn send_leaves(&self, send: &Send) -> bool {
        let server = Some(send.server.as_str()).filter(|s| !s.is_empty());
        self.sends_out(&send.connector, server)
            && (self.proxied(&send.connector) || !self.servers.contains(&host_label(&send.remote)))
    }

    /// Whether a protocol-log session goes outside: as [`Self::sends_out`], and not to a port
    /// Exchange uses between its own services (717 outbound proxy, 2525 Transport, 475 mailbox
    /// delivery: reference §3.5).
    fn session_leaves(&self, m: &SessionMessage) -> bool {
        let port = m.remote.rsplit_once(':').map_or("", |(_, p)| p);
        // A Front End service hands over for the source servers of its site: not itself one.
        let server = if m.frontend {
            None
        } else {
            m.server.as_deref()
        };
        self.sends_out(&m.connector, server)
            && !matches!(port, "717" | "2525" | "475")
            && !self.servers.contains(&host_label(&m.remote_host))
    }
}

/// The domain of an address, lower case ("" without an `@`).
pub fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .to_lowercase()
}

/// The first label of a host name, lower case: server names in the topology are NetBIOS names,
/// the logs name hosts by FQDN.
fn host_label(host: &str) -> String {
    host.split(['.', ':']).next().unwrap_or("").to_lowercase()
}

/// The server a file belongs to, from the layout the export script writes
/// (`logs/<SERVER>/MessageTracking/…`, `logs/<SERVER>/SmtpSend/…`).
fn server_hint(path: &Path) -> Option<String> {
    let parent = path.parent()?;
    let dir = parent.file_name()?.to_string_lossy().to_lowercase();
    if matches!(
        dir.as_str(),
        "messagetracking" | "smtpsend" | "frontend-smtpsend"
    ) {
        return parent
            .parent()?
            .file_name()
            .map(|s| s.to_string_lossy().into_owned());
    }
    None
}

#[expect(clippy::too_many_arguments, reason = "the pieces of one verdict")]
fn decide(
    req: &Required,
    id: &str,
    rcpt: &str,
    outside: &[&Send],
    sessions: &[&SessionMessage],
    protocol_servers: &BTreeSet<String>,
    names: &HashMap<String, Option<String>>,
    redact: bool,
    how: Via,
) -> Followed {
    let send = outside.last().copied();
    let clear = sessions.iter().find(|m| m.tls.is_none());
    let mut evidence = vec![req.evidence];
    if let Some(s) = send {
        evidence.push(s.evidence);
    }
    let session = clear.or_else(|| sessions.last()).copied();
    if let Some(m) = session {
        evidence.extend(m.evidence_for(rcpt));
    }
    let required_at_send = send.and_then(|s| s.required_level.clone());
    let enforced_at_send = required_at_send
        .as_deref()
        .is_some_and(|l| !l.eq_ignore_ascii_case("Opportunistic"));
    let sent_by = send.map(|s| s.server.clone());
    let connector = send
        .map(|s| s.connector.clone())
        .or_else(|| session.map(|m| m.connector.clone()));
    // The host the SEND names, with the endpoint the session connected to.
    let remote = match (
        send.map(|s| s.remote.as_str()),
        session.map(|m| m.remote.as_str()),
    ) {
        (Some(host), Some(endpoint)) if !host.is_empty() => Some(format!("{host} ({endpoint})")),
        (_, Some(endpoint)) => Some(endpoint.to_owned()),
        (host, None) => host.map(str::to_owned),
    };
    let show = |a: &str| {
        if redact {
            tracking::redact_text(a)
        } else {
            a.to_owned()
        }
    };
    let who = format!("<{}> ({} -> {})", show(id), show(&req.sender), show(rcpt));
    let via = match (&sent_by, &connector, &remote) {
        (Some(s), Some(c), Some(r)) => format!("{s} sent it through {c} to {r}"),
        (None, Some(c), Some(r)) => format!("it was sent through {c} to {r}"),
        _ => "it was sent out".to_owned(),
    };
    let (verdict, code, message) = if let Some(m) = clear {
        let offered = m.starttls_offered;
        let why = if m.handshake_failed {
            "the TLS handshake failed and the session went on without TLS"
        } else if offered {
            "the remote offered STARTTLS and the session did not use it"
        } else {
            "the remote did not offer STARTTLS"
        };
        (
            Verdict::ClearText {
                starttls_offered: offered,
            },
            Some(Code::Obs001),
            format!(
                "{who}: the rule required TLS on {}, but {via} in clear text: {why}",
                req.rule_server
            ),
        )
    } else if let Some(m) = sessions.last() {
        let protocol = m.tls.clone();
        let lost = required_at_send
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case("Opportunistic"));
        if lost {
            (
                Verdict::Tls {
                    protocol: protocol.clone(),
                    enforced: false,
                },
                Some(Code::Obs002),
                format!(
                    "{who}: the rule required TLS on {}, but the requirement did not reach the sending server (its SEND logs RequiredTlsAuthLevel Opportunistic); {via} over {} only because the remote offered STARTTLS",
                    req.rule_server,
                    protocol.as_deref().unwrap_or("TLS")
                ),
            )
        } else {
            (
                Verdict::Tls {
                    protocol: protocol.clone(),
                    enforced: enforced_at_send,
                },
                None,
                format!("{who}: {via} over {}", protocol.as_deref().unwrap_or("TLS")),
            )
        }
    } else if enforced_at_send && how == Via::Direct {
        // Only the server that hands the message outside enforces what its SEND logs: a SEND
        // to an Edge or a Front End proxy says nothing of the hop after it.
        (
            Verdict::Tls {
                protocol: None,
                enforced: true,
            },
            None,
            format!(
                "{who}: {via} with RequiredTlsAuthLevel {} in force (Exchange does not send it without TLS); no protocol log names the protocol",
                required_at_send.as_deref().unwrap_or("?")
            ),
        )
    } else {
        let server = sent_by.as_deref().unwrap_or("the sending server");
        let missing = if how == Via::Edge {
            format!(
                "the message tracking and SmtpSend protocol logs of the Edge Transport server {} (the export script does not reach Edge servers: copy TransportRoles\\Logs from the Edge)",
                send.map_or("?", |s| s.remote.as_str())
            )
        } else if how == Via::Proxy {
            format!(
                "the Front End SmtpSend protocol log (TransportRoles\\Logs\\FrontEnd\\ProtocolLog\\SmtpSend) of the server {server} proxied through ({}), for the time of the SEND",
                send.map_or("?", |s| s.remote.as_str())
            )
        } else if protocol_servers.contains(&host_label(server)) {
            format!(
                "the SmtpSend protocol log of {server} has no session for this message: set ProtocolLoggingLevel Verbose on Send connector {} (Set-SendConnector), or add the log files of the period",
                connector.as_deref().unwrap_or("?")
            )
        } else {
            format!(
                "the SmtpSend protocol log of {server} (TransportRoles\\Logs\\Hub\\ProtocolLog\\SmtpSend) for the time of the SEND"
            )
        };
        (
            Verdict::Undetermined {
                missing: missing.clone(),
            },
            Some(Code::Obs003),
            format!("{who}: {via}; whether over TLS cannot be told: missing {missing}"),
        )
    };
    let marks = if code.is_some() {
        evidence
    } else {
        session.and_then(|m| m.tls_line).into_iter().collect()
    };
    Followed {
        message_id: format!("<{}>", show(id)),
        recipient: show(rcpt),
        sender: show(&req.sender),
        subject: (!redact).then(|| req.subject.clone()),
        rule: req.rule.clone(),
        rule_name: names.get(&req.rule.to_lowercase()).cloned().flatten(),
        rule_server: req.rule_server.clone(),
        rule_site: None,
        time: req.time.clone(),
        sent_by,
        connector,
        remote,
        required_at_send,
        verdict,
        code,
        message,
        evidence: Vec::new(),
        marks,
        model: None,
    }
}

/// What reading one tracking file gave.
struct Outcome {
    records: u64,
    bytes: u64,
    error: Option<String>,
}

/// Streams the rows of a tracking file to `f`.
fn each_tracking_row(path: &Path, number: u32, f: &mut dyn FnMut(&TrackingRow)) -> Outcome {
    let mut records = 0;
    let mut reader = match w3c::open(path) {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                records,
                bytes: 0,
                error: Some(e.to_string()),
            };
        }
    };
    let columns = tracking::Columns::of(&reader);
    let hint = server_hint(path);
    let error = loop {
        match reader.next_record() {
            Ok(true) => {
                records += 1;
                // Only rows of the events this command reads are built.
                if !columns.wanted(&reader) {
                    continue;
                }
                let row = TrackingRow::of(&reader, &columns, number, hint.as_deref());
                f(&row);
            }
            Ok(false) => break None,
            Err(e) => break Some(format!("stopped at line {}: {e}", reader.line() + 1)),
        }
    };
    Outcome {
        records,
        bytes: reader.bytes(),
        error,
    }
}
