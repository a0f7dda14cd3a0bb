//! The command line (SPEC §2): clap types, turned into validated requests and run. This is the
//! only file that knows clap.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::{Exit, UserError};
use crate::load::{self, Loaded};
use crate::model::{Bytes, Faults, Severity, Timestamp, Topology};
use crate::policy::{self, Request, Sender, at_or_above};
use crate::report::{self, FileReport, ValidateReport};

#[derive(Debug, Parser)]
#[command(
    name = "tlsflow",
    version,
    about = "Is the TLS requirement of your Exchange transport rules really enforced on the way out?",
    long_about = "Simulates and checks Exchange mail flow across Active Directory sites, and shows hop by hop \
                  where the TLS requirement of a transport rule (RouteMessageOutboundRequireTls) is enforced, \
                  and where it is silently lost.\n\nWithout a command, runs the embedded demo."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// Write the output to this file (atomically: a temporary file, then a rename).
    #[arg(long, global = true, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, global = true, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Print nothing on success; only the exit code speaks.
    #[arg(long, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load topology files; print every diagnostic and the configuration warnings.
    Validate {
        /// Topology files (YAML, SPEC §3).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Explain the route and the TLS fate of one message, hop by hop, without running time.
    Route {
        /// The topology file.
        #[arg(value_name = "TOPOLOGY")]
        topology: PathBuf,
        /// The sender: an address (alice@contoso.com), or a server or site name.
        #[arg(long, value_name = "SENDER")]
        from: String,
        /// The recipient: an address or a domain.
        #[arg(long, value_name = "RECIPIENT")]
        to: String,
        /// The subject (transport rules match words in it).
        #[arg(long, default_value = "")]
        subject: String,
        /// The message size, e.g. 120KB or 20MB.
        #[arg(long, default_value = "100KB")]
        size: String,
        /// A failed component: server:NAME, site:NAME, link:NAME or connector:NAME (repeatable).
        #[arg(long, value_name = "ITEM")]
        down: Vec<String>,
        /// Judge certificate validity at this instant (default: now, UTC).
        #[arg(long, value_name = "DATETIME")]
        at: Option<String>,
        /// Use this behaviour profile instead of the topology's (a built-in name or a file).
        #[arg(long, value_name = "PROFILE")]
        profile: Option<String>,
    },
    /// Run the discrete-event simulation of a scenario; report outcomes and violations.
    Simulate(SimulateArgs),
}

/// `tlsflow simulate` arguments.
#[derive(Debug, clap::Args)]
struct SimulateArgs {
    /// The scenario file (YAML, SPEC §4).
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// Seed of the run (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Run this variant instead of the baseline.
    #[arg(long, value_name = "NAME", conflicts_with = "all_variants")]
    variant: Option<String>,
    /// Run the baseline and every variant.
    #[arg(long)]
    all_variants: bool,
    /// Include every recipient's outcome and hops.
    #[arg(long)]
    recipients: bool,
    /// Write a message tracking log (CSV, Exchange's fields); variants get `-NAME` before the extension.
    #[arg(long, value_name = "PATH")]
    tracking_log: Option<PathBuf>,
    /// Report events, events/s, peak messages in flight, peak queue length, wall time and memory.
    #[arg(long)]
    stats: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Error,
    Warning,
    Never,
}

impl FailOn {
    fn severity(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Never => None,
        }
    }
}

/// Runs the command line; `Ok` carries the exit code of a run that happened.
pub fn run<I, T>(args: I) -> Result<Exit, UserError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return Ok(if e.use_stderr() {
                Exit::BadInput
            } else {
                Exit::Clean
            });
        }
    };
    let common = &cli.common;
    match cli.command {
        None => {
            let text = crate::demo::run();
            emit(common, &text)?;
            Ok(Exit::Clean)
        }
        Some(Command::Validate { files }) => validate(common, &files),
        Some(Command::Simulate(args)) => run_simulate(common, &args),
        Some(Command::Route {
            topology,
            from,
            to,
            subject,
            size,
            down,
            at,
            profile,
        }) => {
            let route = RouteArgs {
                topology,
                from,
                to,
                subject,
                size,
                down,
                at,
                profile,
            };
            run_route(common, &route)
        }
    }
}

fn validate(common: &Common, files: &[PathBuf]) -> Result<Exit, UserError> {
    let mut report = ValidateReport {
        format_version: 1,
        files: Vec::new(),
    };
    let mut any_invalid = false;
    for path in files {
        let name = path.display().to_string();
        if std::fs::read_to_string(path).is_ok_and(|t| load::scenario::looks_like_scenario(&t)) {
            let file = validate_scenario(path);
            any_invalid |= !file.valid;
            report.files.push(file);
            continue;
        }
        let file = match load::load_topology(path) {
            Ok(loaded) => {
                let mut diagnostics = loaded.warnings.clone();
                diagnostics.extend(crate::lint::lint(&loaded.topology, &name));
                diagnostics.sort_by_key(|d| (d.line, d.column, d.code));
                FileReport {
                    file: name,
                    valid: true,
                    profile: Some(loaded.topology.profile.name.clone()),
                    summary: Some(report::validate::Summary::of(&loaded.topology)),
                    rendered: diagnostics
                        .iter()
                        .map(|d| d.render(&loaded.source.text))
                        .collect(),
                    diagnostics,
                }
            }
            Err(failure) => {
                any_invalid = true;
                let text = failure.source.as_ref().map_or("", |s| s.text.as_str());
                FileReport {
                    file: name,
                    valid: false,
                    profile: None,
                    summary: None,
                    rendered: failure.diagnostics.iter().map(|d| d.render(text)).collect(),
                    diagnostics: failure.diagnostics,
                }
            }
        };
        report.files.push(file);
    }
    let text = match common.format {
        FormatArg::Text => report.to_text(),
        FormatArg::Json => report::to_json(&report),
    };
    emit(common, &text)?;
    if any_invalid {
        return Ok(Exit::BadInput);
    }
    Ok(
        if report
            .max_severity()
            .is_some_and(|s| at_or_above(s, common.fail_on.severity()))
        {
            Exit::Findings
        } else {
            Exit::Clean
        },
    )
}

struct RouteArgs {
    topology: PathBuf,
    from: String,
    to: String,
    subject: String,
    size: String,
    down: Vec<String>,
    at: Option<String>,
    profile: Option<String>,
}

fn run_route(common: &Common, args: &RouteArgs) -> Result<Exit, UserError> {
    let loaded = load_for_command(&args.topology)?;
    let mut topology = loaded.topology;
    if let Some(profile) = &args.profile {
        topology.profile = load::profile::resolve(profile, None)
            .map_err(|e| UserError::Usage(format!("--profile: {e}")))?;
    }
    let size = load::values::size(&args.size)
        .map_err(|e| UserError::Usage(format!("--size: {e}")))?
        .unwrap_or(Bytes(u64::MAX));
    let at = match &args.at {
        Some(text) => {
            load::values::instant(text).map_err(|e| UserError::Usage(format!("--at: {e}")))?
        }
        None => Timestamp(jiff::Timestamp::now().as_millisecond()),
    };
    let mut faults = Faults::none();
    for item in &args.down {
        let component = topology
            .parse_component(item)
            .map_err(|e| UserError::Usage(format!("--down: {e}")))?;
        faults.down.insert(component);
    }
    let request = Request {
        sender: parse_sender(&topology, &args.from)?,
        sender_text: args.from.clone(),
        recipient: args.to.clone(),
        subject: args.subject.clone(),
        size,
        at,
    };
    let explanation = policy::explain(&topology, &request, &faults)?;
    let report = report::route_report(&topology, &explanation);
    let text = match common.format {
        FormatArg::Text => report.to_text(),
        FormatArg::Json => report::to_json(&report),
    };
    emit(common, &text)?;
    Ok(
        if report
            .max_severity()
            .is_some_and(|s| at_or_above(s, common.fail_on.severity()))
        {
            Exit::Findings
        } else {
            Exit::Clean
        },
    )
}

/// `alice@contoso.com`, a server name, or a site name.
fn parse_sender(topology: &Topology, text: &str) -> Result<Sender, UserError> {
    if text.contains('@') {
        return Ok(Sender::Address(text.trim().to_owned()));
    }
    if let Some(server) = topology.server_by_name(text) {
        return Ok(Sender::Server(server));
    }
    if let Some(site) = topology.site_by_name(text) {
        return Ok(Sender::Site(site));
    }
    Err(UserError::Usage(format!(
        "--from: `{text}` is not an address, a server or a site of the topology"
    )))
}

/// Loads a topology for a command other than `validate`: errors are fatal (exit 2), warnings
/// are not shown (run `tlsflow validate` for them).
fn load_for_command(path: &Path) -> Result<Loaded, UserError> {
    load::load_topology(path).map_err(|failure| UserError::Load {
        rendered: failure.render(),
    })
}

/// Prints `text`, or writes it atomically to `--out`.
fn emit(common: &Common, text: &str) -> Result<(), UserError> {
    match &common.out {
        Some(path) => write_atomically(path, text.as_bytes()),
        None if common.quiet => Ok(()),
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (e.g. `| head`) is not an error worth reporting.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            Ok(())
        }
    }
}

/// Writes to a temporary file in the target's directory, then renames it over the target, so
/// an interrupted run never leaves a half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), UserError> {
    let fail = |e: &dyn std::fmt::Display| UserError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
    file.write_all(bytes).map_err(|e| fail(&e))?;
    file.as_file().sync_all().map_err(|e| fail(&e))?;
    file.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

fn validate_scenario(path: &Path) -> FileReport {
    let name = path.display().to_string();
    match load::scenario::load_scenario(path) {
        Ok(loaded) => {
            let baseline = &loaded.scenario.runs[0].topology;
            let mut diagnostics = loaded.warnings.clone();
            diagnostics.extend(crate::lint::lint(baseline, &loaded.topology_source.name));
            let rendered = diagnostics
                .iter()
                .map(|d| {
                    let text = if d.file == loaded.topology_source.name {
                        &loaded.topology_source.text
                    } else {
                        &loaded.source.text
                    };
                    d.render(text)
                })
                .collect();
            FileReport {
                file: name,
                valid: true,
                profile: Some(baseline.profile.name.clone()),
                summary: Some(report::validate::Summary::of(baseline)),
                rendered,
                diagnostics,
            }
        }
        Err(failure) => {
            let text = failure.source.as_ref().map_or("", |s| s.text.as_str());
            FileReport {
                file: name,
                valid: false,
                profile: None,
                summary: None,
                rendered: failure.diagnostics.iter().map(|d| d.render(text)).collect(),
                diagnostics: failure.diagnostics,
            }
        }
    }
}

fn run_simulate(common: &Common, args: &SimulateArgs) -> Result<Exit, UserError> {
    let loaded = load::scenario::load_scenario(&args.scenario).map_err(|f| UserError::Load {
        rendered: f.render(),
    })?;
    let scenario = &loaded.scenario;
    let seed = args.seed.unwrap_or(scenario.seed);
    let runs: Vec<usize> = if args.all_variants {
        (0..scenario.runs.len()).collect()
    } else if let Some(name) = &args.variant {
        let index = scenario
            .runs
            .iter()
            .position(|r| r.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let names: Vec<&str> = scenario.runs.iter().map(|r| r.name.as_str()).collect();
                UserError::Usage(format!(
                    "--variant: no variant `{name}` in the scenario (it has {})",
                    names.join(", ")
                ))
            })?;
        vec![index]
    } else {
        vec![0]
    };
    let options = crate::sim::RunOptions {
        seed,
        record_recipients: args.recipients,
    };
    let mut report = report::simulate::SimulateReport {
        format_version: 1,
        scenario: scenario.name.clone(),
        seed,
        profile: scenario.runs[0].topology.profile.name.clone(),
        start: scenario.start.to_string(),
        duration_ms: scenario.duration.0,
        runs: Vec::new(),
    };
    for index in runs {
        let clock = std::time::Instant::now();
        let result = match &args.tracking_log {
            Some(path) => {
                let path = variant_path(path, &scenario.runs[index].name, index == 0);
                simulate_with_log(scenario, index, &options, &path)?
            }
            None => crate::sim::run(scenario, index, &options, &mut crate::sim::NullSink),
        };
        let wall_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut run = report::simulate::run_report(scenario, &result, args.recipients);
        if args.stats {
            run.stats = Some(report::simulate::StatsReport {
                events: result.stats.events,
                wall_ms,
                events_per_s: result.stats.events.saturating_mul(1000) / wall_ms.max(1),
                peak_in_flight: result.stats.peak_in_flight,
                peak_queue_len: result.stats.peak_queue_len,
                peak_rss_bytes: peak_rss_bytes(),
            });
        }
        report.runs.push(run);
    }
    let text = match common.format {
        FormatArg::Text => report.to_text(scenario.start),
        FormatArg::Json => report::to_json(&report),
    };
    emit(common, &text)?;
    Ok(
        if report
            .max_severity()
            .is_some_and(|s| at_or_above(s, common.fail_on.severity()))
        {
            Exit::Findings
        } else {
            Exit::Clean
        },
    )
}

/// `log.csv` for the baseline, `log-NAME.csv` for a variant.
fn variant_path(path: &Path, variant: &str, baseline: bool) -> PathBuf {
    if baseline {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let ext = path
        .extension()
        .map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
    path.with_file_name(format!("{stem}-{variant}{ext}"))
}

/// Runs with the tracking log streamed to a temporary file, renamed into place at the end.
fn simulate_with_log(
    scenario: &crate::model::scenario::Scenario,
    index: usize,
    options: &crate::sim::RunOptions,
    path: &Path,
) -> Result<crate::sim::RunResult, UserError> {
    let fail = |e: &dyn std::fmt::Display| UserError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
    let writer = std::io::BufWriter::new(file.as_file().try_clone().map_err(|e| fail(&e))?);
    let mut sink = report::tracking::TrackingCsv::new(writer, scenario.start);
    let result = crate::sim::run(scenario, index, options, &mut sink);
    sink.finish().map_err(|e| fail(&e))?;
    file.persist(path).map_err(|e| fail(&e.error))?;
    Ok(result)
}

/// Peak resident memory of this process (Linux `VmHWM`), when the platform tells.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
