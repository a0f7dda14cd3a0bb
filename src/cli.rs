//! The command line (SPEC §2): clap types, turned into validated requests and run. This is the
//! only file that knows clap.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};
use rayon::prelude::*;

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
    /// Output format; each command lists the ones it writes at the end of its help.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = FormatArg::Text,
        hide_possible_values = true
    )]
    format: FormatArg,
    /// Write the output to this file (atomically: a temporary file, then a rename).
    #[arg(long, global = true, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, global = true, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// With `--format sarif`: file URIs are relative to this directory (`%SRCROOT%`; default:
    /// the current directory, where CI checks the repository out).
    #[arg(long, global = true, value_name = "DIR")]
    sarif_root: Option<PathBuf>,
    /// Print nothing when the run succeeds (exit 0): only the exit code speaks. A run that
    /// fails (findings, exit 1; bad input, exit 2) still prints why.
    #[arg(long, global = true)]
    quiet: bool,
}

impl Common {
    fn sarif_root(&self) -> report::sarif::SarifRoot {
        report::sarif::SarifRoot::new(self.sarif_root.as_deref())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load topology files; print every diagnostic and the configuration warnings.
    #[command(after_help = "Formats (--format): text, json, sarif.")]
    Validate {
        /// Topology files (YAML, docs/evidence.md#topology-format).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Explain the route and the TLS fate of one message, hop by hop, without running time.
    #[command(after_help = "Formats (--format): text, json.")]
    Route {
        /// The topology file.
        #[arg(value_name = "TOPOLOGY")]
        topology: PathBuf,
        /// The sender: an address (alice@contoso.com), or a server or site name.
        #[arg(long, value_name = "SENDER")]
        from: String,
        /// A recipient: an address or a domain (repeatable; internal and external recipients
        /// mix, and the mailbox recipients decide which Transport service runs the rules).
        #[arg(long, visible_alias = "cc", value_name = "RECIPIENT", required = true)]
        to: Vec<String>,
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
    #[command(
        after_help = "Formats (--format): text, json, markdown, html, sarif, junit (with --replications: text, json)."
    )]
    Simulate(SimulateArgs),
    /// Exhaustive analysis: every origin x recipient domain x requirement x set of up to K failed
    /// components; the minimal failure sets that expose required mail, with re-checked fixes.
    #[command(after_help = "Formats (--format): text, json, markdown, html, sarif, junit.")]
    Check(CheckArgs),
    /// Compare the exposures of two topologies, or of a scenario's baseline and one variant.
    #[command(after_help = "Formats (--format): text, json.")]
    Diff(DiffArgs),
    /// The documentation of a finding code: what it detects, why it matters, an example, the fix.
    #[command(after_help = "Formats (--format): text, markdown, json.")]
    Explain {
        /// A code such as TLS001, DLV002 or CFG012.
        #[arg(value_name = "CODE")]
        code: String,
    },
    /// Draw a topology: `--format dot` (the default), `mermaid` or `svg`.
    #[command(after_help = "Formats (--format): dot (the default), mermaid, svg.")]
    Graph {
        /// The topology file.
        #[arg(value_name = "TOPOLOGY")]
        topology: PathBuf,
        /// Draw a path in red: a message `SENDER:RECIPIENT` (routed as `route` does, with a
        /// subject that matches a require-TLS rule; `SENDER->RECIPIENT` works too, quoted), or a
        /// finding code such as TLS001 (the first such exposure of `check`).
        #[arg(long, value_name = "MESSAGE-OR-FINDING")]
        highlight: Option<String>,
        /// Judge certificate validity at this instant (default: now, UTC).
        #[arg(long, value_name = "DATETIME")]
        at: Option<String>,
    },
    /// The JSON Schema of the topology or the scenario format, for editors.
    #[command(after_help = "Formats (--format): json (the only one).")]
    Schema {
        /// Which format.
        #[arg(long, value_enum, default_value_t = SchemaKind::Topology)]
        kind: SchemaKind,
    },
    /// Regenerate the reports of every shipped scenario (Markdown, HTML, SARIF, JSON).
    #[command(after_help = "Formats (--format): text (the reports are written in every format).")]
    Reports {
        /// The scenarios directory.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        /// The directory to write the reports to.
        #[arg(long, default_value = "reports")]
        into: PathBuf,
    },
    /// Write a synthetic organisation and a scenario of any size, for benchmarks and scale
    /// tests: `--out DIR` gets DIR/topology.yaml and DIR/scenario.yaml (seeded, deterministic).
    #[command(after_help = "Formats (--format): text.")]
    Generate(GenerateArgs),
    /// Read Exchange's message tracking and SmtpSend protocol logs: which messages a require-TLS
    /// rule matched really left in clear text, with the log lines that prove it; with
    /// `--topology`, each incident against what `check` predicts.
    #[command(after_help = "Formats (--format): text, json, markdown, html, sarif, junit.")]
    Logs(LogsArgs),
    /// Build a topology from an export of a real organisation; `--out` names the YAML file.
    #[command(after_help = "Formats (--format): text (the topology YAML).")]
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Join the JSON reports of `check --shard i/n` into the report one run gives.
    #[command(after_help = "Formats (--format): text, json.")]
    Merge {
        /// The shards' JSON reports.
        #[arg(required = true, value_name = "JSON")]
        files: Vec<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish); see the README
    /// for where each shell reads it.
    #[command(after_help = "Formats (--format): text.")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page of tlsflow (roff); `--dir DIR` writes tlsflow.1 and one page per
    /// command (tlsflow-check.1, ...) into DIR.
    #[command(after_help = "Formats (--format): text (roff).")]
    Man {
        /// Write every page into this directory instead of printing tlsflow.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

impl Command {
    /// The files the command reads, to refuse an output written over one of them.
    fn inputs(&self) -> Vec<PathBuf> {
        match self {
            Command::Validate { files } | Command::Merge { files } => files.clone(),
            Command::Route { topology, .. } | Command::Graph { topology, .. } => {
                vec![topology.clone()]
            }
            Command::Check(args) => vec![args.topology.clone()],
            Command::Logs(args) => args
                .inputs
                .iter()
                .cloned()
                .chain(args.topology.clone())
                .collect(),
            Command::Simulate(args) => vec![args.scenario.clone()],
            Command::Diff(args) => std::iter::once(args.old.clone())
                .chain(args.new.clone())
                .collect(),
            Command::Import {
                source: ImportSource::Exchange { dir },
            } => crate::import::export_files().map(|f| dir.join(f)).collect(),
            Command::Explain { .. }
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Schema { .. }
            | Command::Reports { .. }
            | Command::Generate(_) => Vec::new(),
        }
    }
}

/// Refuses an output path that is one of the command's inputs (the same file, however named:
/// another path, a symlink, a hard link): tlsflow would overwrite what it reads (issue 15).
fn refuse_output_over_input(out: &Path, inputs: &[PathBuf]) -> Result<(), UserError> {
    for input in inputs {
        if same_file(out, input) {
            return Err(UserError::Usage(format!(
                "--out {} is the input {}: writing the report there would destroy it; name another file",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// Whether two paths name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// What `tlsflow import` reads.
#[derive(Debug, Subcommand)]
enum ImportSource {
    /// An Exchange Management Shell export: the folder of JSON files (Get-ADSite.json,
    /// Get-SendConnector.json, ...) that scripts/Export-TlsflowInventory.ps1 writes.
    Exchange {
        /// The export folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct LogsArgs {
    /// Log files or folders (searched recursively): MSGTRK*.LOG, SEND*.LOG, or
    /// Get-MessageTrackingLog output saved with Export-Csv or ConvertTo-Json (UTF-8 or UTF-16);
    /// other files are listed as skipped.
    #[arg(required = true, value_name = "DIR")]
    inputs: Vec<PathBuf>,
    /// The organisation: names its require-TLS rules (by `guid` or name), its servers, and
    /// compares each incident with what `check` predicts.
    #[arg(long, value_name = "TOPOLOGY")]
    topology: Option<PathBuf>,
    /// Also follow this rule (its GUID as logged in `ruleId=`, or its name); repeatable. Rules
    /// whose AGENTINFO logs `action=RouteMessageOutboundRequireTls` are always followed.
    #[arg(long, value_name = "RULE")]
    rule: Vec<String>,
    /// Hash the local part of every address and drop subjects, for a report that leaves the
    /// organisation (a pseudonym: whoever guesses an address can check the guess).
    #[arg(long)]
    redact: bool,
    /// With --topology: compare with `check` at up to K failed components.
    #[arg(long, value_name = "K", default_value_t = 1)]
    failures: usize,
    /// With --topology: judge certificates at this instant (default: now, UTC).
    #[arg(long, value_name = "DATETIME")]
    at: Option<String>,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The topology file.
    #[arg(value_name = "TOPOLOGY")]
    topology: PathBuf,
    /// Consider every set of up to K failed components (servers, sites, links, connectors).
    #[arg(long, value_name = "K", default_value_t = 0)]
    failures: usize,
    /// Judge certificate validity at this instant (default: now, UTC).
    #[arg(long, value_name = "DATETIME")]
    at: Option<String>,
    /// Do this part of the analysis only: shard i of n (1-based); join them with `tlsflow merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Skip the re-checked fixes (faster).
    #[arg(long)]
    no_fixes: bool,
    /// Use this behaviour profile instead of the topology's (a built-in name or a file).
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,
    /// Enumerate every component for every origin (slow: for checking the pruning).
    #[arg(long, hide = true)]
    no_pruning: bool,
}

#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// The old topology, or a scenario (then compare its baseline with `--variant`).
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The new topology.
    #[arg(value_name = "NEW", required_unless_present = "variant")]
    new: Option<PathBuf>,
    /// With a scenario as OLD: the variant to compare with its baseline.
    #[arg(long, value_name = "NAME")]
    variant: Option<String>,
    /// Consider every set of up to K failed components.
    #[arg(long, value_name = "K", default_value_t = 0)]
    failures: usize,
    /// Judge certificate validity at this instant (default: now, UTC).
    #[arg(long, value_name = "DATETIME")]
    at: Option<String>,
}

/// `tlsflow generate` arguments; `--out DIR` (the common option) names the directory.
#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// AD sites.
    #[arg(long, value_name = "N", default_value_t = 10)]
    sites: usize,
    /// Mailbox servers per site (the first of each also runs Front End Transport).
    #[arg(long, value_name = "N", default_value_t = 2)]
    servers_per_site: usize,
    /// Random sites with HubSiteEnabled.
    #[arg(long, value_name = "N", default_value_t = 0)]
    hub_sites: usize,
    /// Extra site links beyond a spanning tree, as a fraction of the tree's links.
    #[arg(long, value_name = "F", default_value_t = 0.1)]
    link_density: f64,
    /// Sites holding an Internet Send connector (default: max(1, sites / 10)); mail from the
    /// others is relayed, and loses the rule's TLS requirement.
    #[arg(long, value_name = "N")]
    connector_sites: Option<usize>,
    /// Add a partner connector (RequireTLS, certificate validation) for the second external
    /// domain.
    #[arg(long)]
    partner: bool,
    /// Add an Edge Transport server subscribed to the first site.
    #[arg(long)]
    edge: bool,
    /// External domains with MX hosts (a mix of STARTTLS behaviours), besides `*`.
    #[arg(long, value_name = "N", default_value_t = 6)]
    domains: usize,
    /// Mailboxes, spread over the Mailbox servers.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    mailboxes: u64,
    /// Messages each mailbox sends per day (sets each site's workload rate).
    #[arg(long, value_name = "F", default_value_t = 50.0)]
    messages_per_mailbox_per_day: f64,
    /// Instead: messages per hour for the whole organisation, shared by mailbox count.
    #[arg(
        long,
        value_name = "R",
        conflicts_with = "messages_per_mailbox_per_day"
    )]
    rate: Option<f64>,
    /// Simulated time of the scenario: `7d`, `36h`, `90m`.
    #[arg(long, value_name = "D", default_value = "7d")]
    duration: String,
    /// Random outages (a Mailbox server, a site link or a connector down, then up) in the
    /// scenario's timeline.
    #[arg(long, value_name = "N", default_value_t = 0)]
    faults: usize,
    /// Seed of the generator (and of the scenario).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
}

/// `tlsflow simulate` arguments.
#[derive(Debug, clap::Args)]
struct SimulateArgs {
    /// The scenario file (YAML, docs/evidence.md#scenario-format).
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
    /// Write the SmtpSend protocol logs of the sessions that leave the organisation into this
    /// folder (DIR/<SERVER>/SmtpSend/SEND<date>-1.LOG, Exchange's line forms), for `tlsflow logs`;
    /// variants get `-NAME` after the folder name. The folder must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    protocol_log: Option<PathBuf>,
    /// Report events, events/s, peak messages in flight, peak queue length, wall time and memory.
    #[arg(long)]
    stats: bool,
    /// Run N seeds (the scenario's seed and the next N - 1), in parallel, and report every count
    /// with its mean and 95% confidence interval; `--fail-on` applies to the worst seed.
    #[arg(long, value_name = "N", conflicts_with_all = ["tracking_log", "protocol_log", "recipients", "stats"])]
    replications: Option<usize>,
    /// With --replications: run this share of the seeds only (I/N, 1-based); join with `merge`.
    #[arg(long, value_name = "I/N", requires = "replications")]
    shard: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchemaKind {
    Topology,
    Scenario,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Text,
    Json,
    Markdown,
    Html,
    Sarif,
    Junit,
    Dot,
    Mermaid,
    Svg,
}

impl FormatArg {
    fn name(self) -> &'static str {
        match self {
            FormatArg::Text => "text",
            FormatArg::Json => "json",
            FormatArg::Markdown => "markdown",
            FormatArg::Html => "html",
            FormatArg::Sarif => "sarif",
            FormatArg::Junit => "junit",
            FormatArg::Dot => "dot",
            FormatArg::Mermaid => "mermaid",
            FormatArg::Svg => "svg",
        }
    }
}

/// The error for a format a command does not produce.
fn unsupported(format: FormatArg, command: &str, supported: &str) -> UserError {
    UserError::Usage(format!(
        "--format {} is not available for `{command}`: use {supported}",
        format.name()
    ))
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
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Every argument ends up in some output (a file name in a header, a subject, an address):
    // one with a control character (a newline, an escape sequence) would forge lines or drive
    // the terminal (issue 15), so none is accepted.
    for (i, arg) in args.iter().enumerate().skip(1) {
        if let Some(message) =
            crate::model::unprintable(&format!("argument {i}"), &arg.to_string_lossy(), "it")
        {
            return Err(UserError::Usage(message));
        }
    }
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
    if let (Some(out), Some(command)) = (&common.out, &cli.command) {
        refuse_output_over_input(out, &command.inputs())?;
    }
    let result = dispatch(common, cli.command);
    // A CI job that uploads `--format sarif` output finds a SARIF file when the input did not
    // load, with the configuration errors as its results (issue 16); the error still exits 2.
    if let Err(UserError::Load { diagnostics, .. }) = &result
        && common.format == FormatArg::Sarif
        && !diagnostics.is_empty()
    {
        let sarif = report::sarif::sarif(
            &report::sarif::from_diagnostics(diagnostics),
            &common.sarif_root(),
        );
        emit_for(common, &report::to_json(&sarif), Exit::BadInput)?;
    }
    result
}

fn dispatch(common: &Common, command: Option<Command>) -> Result<Exit, UserError> {
    match command {
        None => {
            let text = crate::demo::run();
            emit(common, &text)?;
            Ok(Exit::Clean)
        }
        Some(Command::Validate { files }) => validate(common, &files),
        Some(Command::Simulate(args)) => run_simulate(common, &args),
        Some(Command::Check(args)) => run_check(common, &args),
        Some(Command::Diff(args)) => run_diff(common, &args),
        Some(Command::Merge { files }) => run_merge(common, &files),
        Some(Command::Generate(args)) => run_generate(common, &args),
        Some(Command::Logs(args)) => run_logs(common, &args),
        Some(Command::Import {
            source: ImportSource::Exchange { dir },
        }) => run_import_exchange(common, &dir),
        Some(Command::Explain { code }) => run_explain(common, &code),
        Some(Command::Graph {
            topology,
            highlight,
            at,
        }) => run_graph(common, &topology, highlight.as_deref(), at.as_ref()),
        Some(Command::Schema { kind }) => {
            let schema = match kind {
                SchemaKind::Topology => load::schema::topology_schema(),
                SchemaKind::Scenario => load::schema::scenario_schema(),
            };
            emit(common, &report::to_json(&schema))?;
            Ok(Exit::Clean)
        }
        Some(Command::Reports { scenarios, into }) => run_reports(common, &scenarios, &into),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tlsflow", &mut script);
            emit(common, &String::from_utf8_lossy(&script))?;
            Ok(Exit::Clean)
        }
        Some(Command::Man { dir }) => run_man(common, dir.as_deref()),
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
        // Read once: a pipe (`<(cat x.yaml)`) cannot be read twice (issue 15).
        let loaded = match load::read_source(path) {
            Ok(source) if load::scenario::looks_like_scenario(&source.text) => {
                let file = validate_scenario(&name, source);
                any_invalid |= !file.valid;
                report.files.push(file);
                continue;
            }
            Ok(source) => load::topology_from_source(source),
            Err(failure) => Err(failure),
        };
        let file = match loaded {
            Ok(loaded) => {
                let mut diagnostics = loaded.warnings.clone();
                diagnostics.extend(crate::lint::lint(&loaded.topology, &name));
                diagnostics.sort_by_key(|d| (d.line, d.column, d.code));
                FileReport {
                    file: name,
                    valid: true,
                    profile: Some(loaded.topology.profile.declared_name().to_owned()),
                    summary: Some(report::validate::Summary::of(&loaded.topology)),
                    rendered: {
                        let index = load::SourceIndex::new(&loaded.source.text);
                        diagnostics.iter().map(|d| d.render_in(&index)).collect()
                    },
                    diagnostics,
                }
            }
            Err(failure) => {
                any_invalid = true;
                invalid_file(name, failure)
            }
        };
        report.files.push(file);
    }
    let rendered = match common.format {
        FormatArg::Sarif => report::to_json(&report::sarif::sarif(
            &report::sarif::from_validate(&report),
            &common.sarif_root(),
        )),
        FormatArg::Text => report.to_text(),
        FormatArg::Json => report::to_json(&report),
        other => return Err(unsupported(other, "validate", "text, json or sarif")),
    };
    let exit = if any_invalid {
        Exit::BadInput
    } else {
        exit_for(common, report.max_severity())
    };
    emit_for(common, &rendered, exit)?;
    Ok(exit)
}

struct RouteArgs {
    topology: PathBuf,
    from: String,
    to: Vec<String>,
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
        recipient: args.to[0].clone(),
        subject: args.subject.clone(),
        size,
        at,
        assume_required: None,
        message_recipients: args.to.clone(),
    };
    let explanations = policy::explain_message(&topology, &request, &faults)?;
    let report = report::route_report(&topology, &explanations);
    output(
        common,
        "route",
        &report,
        report::RouteReport::to_text,
        report.max_severity(),
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
        diagnostics: failure.diagnostics,
    })
}

/// Prints `text`, or writes it atomically to `--out`, for a run that succeeded.
fn emit(common: &Common, text: &str) -> Result<(), UserError> {
    emit_for(common, text, Exit::Clean)
}

/// Prints `text`, or writes it atomically to `--out`. `--quiet` keeps only a successful
/// run's output back: a run that fails (`exit` not clean) shows why (issue 16).
fn emit_for(common: &Common, text: &str, exit: Exit) -> Result<(), UserError> {
    match &common.out {
        Some(path) => write_atomically(path, text.as_bytes()),
        None if common.quiet && exit == Exit::Clean => Ok(()),
        None => {
            use std::io::IsTerminal as _;
            let colour = common.format == FormatArg::Text
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let text = if colour {
                colourize(text)
            } else {
                text.to_owned()
            };
            write_stdout(&text)
        }
    }
}

/// Writes to standard output, checking every write and the flush: a closed pipe
/// (`tlsflow … | head`) ends the output quietly, as the reader asked; any other failure (a full
/// disk behind a redirection) is an error with its cause, never a truncated report and exit 0
/// (issue 15).
pub fn write_stdout(text: &str) -> Result<(), UserError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(UserError::Write {
            path: "standard output".to_owned(),
            reason: load::io_reason(&e),
        }),
        _ => Ok(()),
    }
}

/// Writes to standard error; a failure there has nowhere left to be reported, so it is
/// ignored (`eprint!` panics on a closed stderr, and the panic hook then aborts).
pub fn write_stderr(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// `tlsflow import exchange DIR`: reads the export's files (names matched case-insensitively),
/// imports them, prints what could not be mapped on stderr, and writes the YAML (atomically
/// with `--out`). Nothing is written when the export is malformed.
fn run_import_exchange(common: &Common, dir: &Path) -> Result<Exit, UserError> {
    if common.format != FormatArg::Text {
        return Err(unsupported(
            common.format,
            "import",
            "the default (topology YAML)",
        ));
    }
    let shown = dir.display().to_string();
    let bad = |message: String| UserError::Load {
        rendered: format!("{shown}: {message}"),
        diagnostics: Vec::new(),
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        bad(format!(
            "cannot read the export folder: {}",
            load::io_reason(&e)
        ))
    })?;
    let mut files = std::collections::BTreeMap::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = crate::import::export_file(&file_name) else {
            continue;
        };
        let path = entry.path();
        // Bounded on the opened file: a symlink cannot lead past the size check (issue 15).
        let bytes = load::read_bounded(&path, crate::import::MAX_FILE_BYTES).map_err(|reason| {
            bad(format!(
                "{file_name}: {reason}; an export file may have {} bytes (32 MiB): export a smaller mailbox sample (-MailboxSample)",
                crate::import::MAX_FILE_BYTES
            ))
        })?;
        files.insert(name.to_owned(), bytes);
    }
    if files.is_empty() {
        return Err(bad(
            "no Exchange export here: expected the JSON files of scripts/Export-TlsflowInventory.ps1 (Get-ADSite.json, Get-SendConnector.json, ...)"
                .to_owned(),
        ));
    }
    let imported = crate::import::exchange(&shown, &files).map_err(|errors| UserError::Load {
        rendered: format!(
            "tlsflow import: the export cannot be imported ({} {}); nothing was written:\n{}",
            errors.len(),
            if errors.len() == 1 {
                "problem"
            } else {
                "problems"
            },
            errors.join("\n")
        ),
        diagnostics: Vec::new(),
    })?;
    if !common.quiet {
        let mut text = String::new();
        for warning in &imported.warnings {
            let _ = writeln!(text, "warning: {warning}");
        }
        write_stderr(&text);
    }
    if !common.quiet && !imported.unmapped.is_empty() {
        let mut text = format!(
            "warning: {} items of the export are not mapped into the topology, or were read by a guess (also listed at the top of the YAML):\n",
            imported.unmapped.len()
        );
        for item in &imported.unmapped {
            let _ = writeln!(text, "  - {item}");
        }
        write_stderr(&text);
    }
    emit(common, &imported.yaml)?;
    if !common.quiet
        && let Some(out) = &common.out
    {
        write_stderr(&format!(
            "{}; wrote {}: fill in its external_domains template, then run `tlsflow check {}`\n",
            imported.summary,
            out.display(),
            out.display()
        ));
    }
    Ok(Exit::Clean)
}

/// `tlsflow man`: the roff page of tlsflow on stdout, or with `dir` every page (tlsflow.1 and
/// tlsflow-COMMAND.1 for each command) written together into it.
fn run_man(common: &Common, dir: Option<&Path>) -> Result<Exit, UserError> {
    let render = |command: clap::Command| -> Result<Vec<u8>, UserError> {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|e| UserError::Usage(format!("cannot render the man page: {e}")))?;
        Ok(page)
    };
    // Built, so that every page shows the global options and `tlsflow check` in its synopsis.
    let mut top = Cli::command();
    top.build();
    let Some(dir) = dir else {
        emit(common, &String::from_utf8_lossy(&render(top)?))?;
        return Ok(Exit::Clean);
    };
    std::fs::create_dir_all(dir).map_err(|e| UserError::Write {
        path: dir.display().to_string(),
        reason: load::io_reason(&e),
    })?;
    let mut pages = vec![(dir.join("tlsflow.1"), render(top.clone())?)];
    for sub in top.get_subcommands() {
        let name = format!("tlsflow-{}", sub.get_name());
        let page = render(sub.clone().display_name(name.clone()))?;
        pages.push((dir.join(format!("{name}.1")), page));
    }
    let files: Vec<(&Path, &[u8])> = pages
        .iter()
        .map(|(p, b)| (p.as_path(), b.as_slice()))
        .collect();
    write_together(&files)?;
    if !common.quiet {
        write_stderr(&format!(
            "wrote {} man pages into {}\n",
            pages.len(),
            dir.display()
        ));
    }
    Ok(Exit::Clean)
}

/// Writes an output file so that it is whole or absent, never half-written (docs/evidence.md#limits, issue 15):
///
/// - a regular file (new, or existing) is written to a temporary file beside it, named
///   `.tlsflow-*.tmp`, then renamed over it; a symlink is followed and the file it names is
///   replaced, the link kept;
/// - a device, pipe or socket (`/dev/null`, `/dev/stdout`, a FIFO) is written in place: renaming
///   over it would replace the device node with a regular file (as root, `--out /dev/null`
///   did);
/// - temporary files are removed when the run is interrupted (Ctrl-C, SIGTERM), and those a
///   killed run left behind more than an hour ago are removed by the next write there.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), UserError> {
    let fail = |e: &dyn std::fmt::Display| UserError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    match output_target(path)? {
        OutputTarget::InPlace(mut file) => file
            .write_all(bytes)
            .and_then(|()| file.flush())
            .map_err(|e| fail(&load::io_reason(&e))),
        OutputTarget::Replace(target) => {
            let (file, _guard) = staged(&target, bytes).map_err(|e| fail(&e))?;
            file.persist(&target).map_err(|e| fail(&e.error))?;
            Ok(())
        }
    }
}

/// `bytes` written and synced to a `.tlsflow-*.tmp` file beside `target`, readable as a
/// regular output is, registered for removal on interruption while the guard lives: what is
/// left is to rename it into place.
fn staged(target: &Path, bytes: &[u8]) -> std::io::Result<(tempfile::NamedTempFile, TempGuard)> {
    let mut file = temporary_beside(target)?;
    let guard = TempGuard::register(file.path());
    file.write_all(bytes)?;
    readable_by_all(file.as_file())?;
    file.as_file().sync_all()?;
    Ok((file, guard))
}

/// Writes several regular files that belong together (a topology and its scenario): each is
/// written and synced to its temporary file first, and only when all are whole are they renamed
/// into place, so a full disk leaves none of them rather than a topology without its scenario.
fn write_together(files: &[(&Path, &[u8])]) -> Result<(), UserError> {
    let mut written = Vec::new();
    for &(path, bytes) in files {
        let fail = |e: &dyn std::fmt::Display| UserError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let OutputTarget::Replace(target) = output_target(path)? else {
            return Err(fail(&"not a regular file: name a file in a folder"));
        };
        let (file, guard) = staged(&target, bytes).map_err(|e| fail(&e))?;
        written.push((path, target, file, guard));
    }
    for (path, target, file, _guard) in written {
        file.persist(&target).map_err(|e| UserError::Write {
            path: path.display().to_string(),
            reason: e.error.to_string(),
        })?;
    }
    Ok(())
}

/// Where an output goes: written in place (a device, a pipe), or a regular file replaced whole.
enum OutputTarget {
    InPlace(std::fs::File),
    Replace(PathBuf),
}

fn output_target(path: &Path) -> Result<OutputTarget, UserError> {
    let fail = |e: &dyn std::fmt::Display| UserError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(fail(&"is a directory")),
        Ok(meta) if !meta.is_file() => std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map(OutputTarget::InPlace)
            .map_err(|e| fail(&load::io_reason(&e))),
        Ok(_) => Ok(OutputTarget::Replace(
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        )),
        Err(_) if std::fs::symlink_metadata(path).is_ok() => Err(fail(
            &"a symbolic link to nothing: name the file it should point to",
        )),
        Err(_) => Ok(OutputTarget::Replace(path.to_path_buf())),
    }
}

/// A `.tlsflow-*.tmp` file beside `target`, after removing stale ones there.
fn temporary_beside(target: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    remove_stale_temporaries(dir);
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
}

const TEMP_PREFIX: &str = ".tlsflow-";
const TEMP_SUFFIX: &str = ".tmp";

/// Temporary files being written now, removed by the Ctrl-C / SIGTERM handler.
static TEMPORARIES: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Registers a temporary file for removal on interruption while it lives.
struct TempGuard(PathBuf);

impl TempGuard {
    fn register(path: &Path) -> TempGuard {
        if let Ok(mut list) = TEMPORARIES.lock() {
            list.push(path.to_path_buf());
        }
        TempGuard(path.to_path_buf())
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Ok(mut list) = TEMPORARIES.lock() {
            list.retain(|p| p != &self.0);
        }
    }
}

/// Installs the handler that removes the temporary files of an interrupted run, then exits
/// with 130 (SIGINT's conventional status); once per process.
pub fn remove_temporaries_on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        if let Ok(list) = TEMPORARIES.lock() {
            for path in list.iter() {
                // A temporary folder (`simulate --protocol-log`) goes with what it holds.
                if path.is_dir() {
                    let _ = std::fs::remove_dir_all(path);
                } else {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        write_stderr("tlsflow: interrupted; no output was written\n");
        std::process::exit(130);
    });
}

/// Removes `.tlsflow-*.tmp` files over an hour old in `dir`: what a killed run (SIGKILL, a
/// power cut) left. Younger ones may belong to a run still writing.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let hour = std::time::Duration::from_secs(3600);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let stale = entry.metadata().is_ok_and(|m| {
            m.is_file()
                && m.modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > hour)
        });
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The report of a file that did not load: its diagnostics, each with its snippet.
fn invalid_file(name: String, failure: load::LoadFailure) -> FileReport {
    let text = failure.source.as_ref().map_or("", |s| s.text.as_str());
    let index = load::SourceIndex::new(text);
    FileReport {
        file: name,
        valid: false,
        profile: None,
        summary: None,
        rendered: failure
            .diagnostics
            .iter()
            .map(|d| d.render_in(&index))
            .collect(),
        diagnostics: failure.diagnostics,
    }
}

fn validate_scenario(name: &str, source: load::SourceFile) -> FileReport {
    let name = name.to_owned();
    match load::scenario::scenario_from_source(source) {
        Ok(loaded) => {
            let baseline = &loaded.scenario.runs[0].topology;
            let mut diagnostics = loaded.warnings.clone();
            diagnostics.extend(crate::lint::lint(baseline, &loaded.topology_source.name));
            let topology_index = load::SourceIndex::new(&loaded.topology_source.text);
            let scenario_index = load::SourceIndex::new(&loaded.source.text);
            let rendered = diagnostics
                .iter()
                .map(|d| {
                    if d.file == loaded.topology_source.name {
                        d.render_in(&topology_index)
                    } else {
                        d.render_in(&scenario_index)
                    }
                })
                .collect();
            FileReport {
                file: name,
                valid: true,
                profile: Some(baseline.profile.declared_name().to_owned()),
                summary: Some(report::validate::Summary::of(baseline)),
                rendered,
                diagnostics,
            }
        }
        Err(failure) => invalid_file(name, failure),
    }
}

fn run_simulate(common: &Common, args: &SimulateArgs) -> Result<Exit, UserError> {
    let loaded = load::scenario::load_scenario(&args.scenario).map_err(|f| UserError::Load {
        rendered: f.render(),
        diagnostics: f.diagnostics,
    })?;
    let scenario = &loaded.scenario;
    let seed = args.seed.unwrap_or(scenario.seed);
    let runs: Vec<usize> = if args.all_variants {
        (0..scenario.runs.len()).collect()
    } else if let Some(name) = &args.variant {
        let index = scenario
            .runs
            .iter()
            .position(|r| crate::model::name_key(&r.name) == crate::model::name_key(name))
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
    if let Some(log) = &args.tracking_log {
        let mut inputs = vec![
            args.scenario.clone(),
            PathBuf::from(&loaded.topology_source.name),
        ];
        inputs.extend(common.out.clone());
        refuse_output_over_input(log, &inputs).map_err(|_| {
            UserError::Usage(format!(
                "--tracking-log {} names the scenario, its topology or --out: the log would overwrite it; name another file",
                log.display()
            ))
        })?;
    }
    if let Some(n) = args.replications {
        return run_replications(common, scenario, &runs, seed, n, args.shard.as_deref());
    }
    let options = crate::sim::RunOptions {
        seed,
        record_recipients: args.recipients,
    };
    let progress = SimProgress::new(common, scenario, &runs);
    // Variants are independent runs: in parallel (rayon), reported in the scenario's order.
    let reports = runs
        .par_iter()
        .enumerate()
        .map(|(k, &index)| {
            let clock = std::time::Instant::now();
            let counter = SimProgress::counter(progress.as_ref(), k);
            let protocol_dir = args
                .protocol_log
                .as_ref()
                .map(|p| variant_path(p, &scenario.runs[index].name, index == 0));
            let result = match &args.tracking_log {
                Some(path) => {
                    let path = variant_path(path, &scenario.runs[index].name, index == 0);
                    simulate_with_log(
                        scenario,
                        index,
                        &options,
                        &path,
                        protocol_dir.as_deref(),
                        counter,
                    )?
                }
                None if protocol_dir.is_some() => simulate_with_protocol_log(
                    scenario,
                    index,
                    &options,
                    &mut crate::sim::NullSink,
                    protocol_dir.as_deref(),
                    counter,
                )?,
                None => run_one(
                    scenario,
                    index,
                    &options,
                    &mut crate::sim::NullSink,
                    counter,
                ),
            };
            if let Some(why) = &result.stopped {
                return Err(UserError::Usage(format!(
                    "simulate: variant `{}`: {why}; no report is written for an incomplete run",
                    scenario.runs[index].name
                )));
            }
            let wall_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
            let mut run = report::simulate::run_report(scenario, &result, args.recipients);
            if args.stats {
                run.stats = Some(report::simulate::StatsReport {
                    events: result.stats.events,
                    wall_ms,
                    events_per_s: result.stats.events.saturating_mul(1000) / wall_ms.max(1),
                    messages: result.summary.messages,
                    messages_per_s: result.summary.messages.saturating_mul(1000) / wall_ms.max(1),
                    peak_in_flight: result.stats.peak_in_flight,
                    peak_queue_len: result.stats.peak_queue_len,
                    // The process's peak: with variants in parallel, theirs together.
                    peak_rss_bytes: peak_rss_bytes(),
                });
            }
            Ok(run)
        })
        .collect::<Result<Vec<_>, UserError>>()?;
    drop(progress);
    let report = report::simulate::SimulateReport::new(scenario, seed, reports);
    let rendered = match common.format {
        FormatArg::Text => report.to_text(scenario.start),
        FormatArg::Json => report::to_json(&report),
        FormatArg::Sarif => report::to_json(&report::sarif::of_simulation(
            &report,
            &loaded.source.name,
            &scenario.runs[0].name,
            &common.sarif_root(),
        )),
        FormatArg::Junit => {
            let topologies: Vec<(String, &Topology)> = scenario
                .runs
                .iter()
                .map(|r| (r.name.clone(), &r.topology))
                .collect();
            report::junit::from_simulate(&report, &topologies, common.fail_on.severity())
        }
        FormatArg::Markdown | FormatArg::Html => {
            audit_of_simulation(common.format, &loaded, &report)
        }
        other => {
            return Err(unsupported(
                other,
                "simulate",
                "text, json, markdown, html, sarif or junit",
            ));
        }
    };
    emit_rendered(common, &rendered, report.max_severity())
}

/// The audit report (Markdown or HTML) of a simulation, with the fixes `check` re-verifies on
/// the baseline topology.
fn audit_of_simulation(
    format: FormatArg,
    loaded: &load::scenario::LoadedScenario,
    report: &report::simulate::SimulateReport,
) -> String {
    let scenario = &loaded.scenario;
    let baseline = &scenario.runs[0].topology;
    let mut files = vec![report::audit::AnalysedFile::new(
        &loaded.source.name,
        &loaded.source.text,
    )];
    if loaded.topology_source.name != loaded.source.name {
        files.push(report::audit::AnalysedFile::new(
            &loaded.topology_source.name,
            &loaded.topology_source.text,
        ));
    }
    let fixes = fix_index(baseline, scenario.start);
    let audit = report::audit::of_simulation(report, &files, &fixes);
    if format == FormatArg::Html {
        report::html::render(&audit, Some(baseline))
    } else {
        report::markdown::render(&audit)
    }
}

/// Re-verified fixes of today's exposures, by (origin site, domain class, code).
fn fix_index(topology: &Topology, at: Timestamp) -> report::audit::FixIndex {
    let options = crate::check::CheckOptions {
        failures_max: 0,
        at,
        shard: None,
        no_pruning: false,
    };
    let analysis = crate::check::analyse(topology, &options, &|_| {});
    let fixes = crate::check::verified_fixes(topology, &analysis);
    let report =
        report::check::check_report(topology, "", at.to_string(), &analysis.result, &fixes, None);
    report
        .exposures
        .into_iter()
        // Simulated findings are keyed by the sender's site: the site's own origin.
        .filter(|e| e.mailbox_recipient_group.is_none())
        .map(|e| ((e.origin_site, e.recipient_domain, e.code), e.fixes))
        .collect()
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
    path.with_file_name(format!("{stem}-{}{ext}", report::file_safe(variant)))
}

/// One run, observed by a progress bar when there is one.
fn run_one(
    scenario: &crate::model::scenario::Scenario,
    index: usize,
    options: &crate::sim::RunOptions,
    sink: &mut dyn crate::sim::TrackingSink,
    progress: Option<Arc<AtomicU64>>,
) -> crate::sim::RunResult {
    match progress {
        Some(p) => crate::sim::run_observed(scenario, index, options, sink, p),
        None => crate::sim::run(scenario, index, options, sink),
    }
}

/// A progress bar per run of `simulate`, on a terminal only (not with `--quiet`): each shows
/// the simulated time reached, polled from the engine's counter five times a second.
struct SimProgress {
    counters: Vec<Arc<AtomicU64>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimProgress {
    fn new(
        common: &Common,
        scenario: &crate::model::scenario::Scenario,
        runs: &[usize],
    ) -> Option<SimProgress> {
        if !progress_shown(common) {
            return None;
        }
        let multi = indicatif::MultiProgress::new();
        let style = indicatif::ProgressStyle::with_template(
            "{prefix:>16} [{bar:40}] {percent:>3}% of the simulated time ({eta})",
        )
        .ok()?
        .progress_chars("=> ");
        let counters: Vec<Arc<AtomicU64>> =
            runs.iter().map(|_| Arc::new(AtomicU64::new(0))).collect();
        let bars: Vec<indicatif::ProgressBar> = runs
            .iter()
            .map(|&i| {
                let bar = multi.add(indicatif::ProgressBar::new(scenario.duration.0.max(1)));
                bar.set_style(style.clone());
                bar.set_prefix(scenario.runs[i].name.clone());
                bar
            })
            .collect();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
            let counters = counters.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for (bar, counter) in bars.iter().zip(&counters) {
                        bar.set_position(counter.load(Ordering::Relaxed));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                for bar in &bars {
                    bar.finish_and_clear();
                }
            })
        };
        Some(SimProgress {
            counters,
            stop,
            thread: Some(thread),
        })
    }

    /// The counter of the `k`-th run of the command.
    fn counter(this: Option<&SimProgress>, k: usize) -> Option<Arc<AtomicU64>> {
        this.map(|p| p.counters[k].clone())
    }
}

impl Drop for SimProgress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs with the tracking log streamed to a temporary file, renamed into place at the end (or
/// streamed in place into a device or pipe, see [`write_atomically`]).
/// Runs into `tracking`, with the protocol logs written into a temporary folder beside `dir`
/// and renamed into place at the end (`dir` must not exist, or be empty).
fn simulate_with_protocol_log(
    scenario: &crate::model::scenario::Scenario,
    index: usize,
    options: &crate::sim::RunOptions,
    tracking: &mut dyn crate::sim::TrackingSink,
    dir: Option<&Path>,
    progress: Option<Arc<AtomicU64>>,
) -> Result<crate::sim::RunResult, UserError> {
    let Some(dir) = dir else {
        return Ok(run_one(scenario, index, options, tracking, progress));
    };
    let fail = |e: &dyn std::fmt::Display| UserError::Write {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(UserError::Usage(format!(
            "--protocol-log {}: the folder exists and is not empty; name a new folder",
            dir.display()
        )));
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| fail(&e))?;
    let temp = tempfile::Builder::new()
        .prefix(".tlsflow-")
        .suffix(".tmp")
        .tempdir_in(parent)
        .map_err(|e| fail(&e))?;
    let _guard = TempGuard::register(temp.path());
    let mut log = report::protocol_log::ProtocolLog::new(temp.path(), scenario.start);
    let result = {
        let mut sinks = report::protocol_log::LogSinks {
            tracking,
            protocol: Some(&mut log),
        };
        run_one(scenario, index, options, &mut sinks, progress)
    };
    if result.stopped.is_some() {
        return Ok(result);
    }
    log.finish().map_err(|e| fail(&e))?;
    if dir.exists() {
        std::fs::remove_dir(dir).map_err(|e| fail(&e))?;
    }
    std::fs::rename(temp.keep(), dir).map_err(|e| fail(&e))?;
    Ok(result)
}

fn simulate_with_log(
    scenario: &crate::model::scenario::Scenario,
    index: usize,
    options: &crate::sim::RunOptions,
    path: &Path,
    protocol_dir: Option<&Path>,
    progress: Option<Arc<AtomicU64>>,
) -> Result<crate::sim::RunResult, UserError> {
    let fail = |e: &dyn std::fmt::Display| UserError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let target = match output_target(path)? {
        OutputTarget::InPlace(file) => {
            let mut sink =
                report::tracking::TrackingCsv::new(std::io::BufWriter::new(file), scenario.start);
            let result = simulate_with_protocol_log(
                scenario,
                index,
                options,
                &mut sink,
                protocol_dir,
                progress,
            )?;
            sink.finish().map_err(|e| fail(&e))?;
            return Ok(result);
        }
        OutputTarget::Replace(target) => target,
    };
    let file = temporary_beside(&target).map_err(|e| fail(&e))?;
    let _guard = TempGuard::register(file.path());
    let writer = std::io::BufWriter::new(file.as_file().try_clone().map_err(|e| fail(&e))?);
    let mut sink = report::tracking::TrackingCsv::new(writer, scenario.start);
    let result =
        simulate_with_protocol_log(scenario, index, options, &mut sink, protocol_dir, progress)?;
    if result.stopped.is_some() {
        // The caller refuses the run; the temporary log is removed with `file`.
        return Ok(result);
    }
    sink.finish().map_err(|e| fail(&e))?;
    readable_by_all(file.as_file()).map_err(|e| fail(&e))?;
    file.persist(&target).map_err(|e| fail(&e.error))?;
    Ok(result)
}

/// Peak resident memory of this process (Linux `VmHWM`), when the platform tells.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn parse_at(at: Option<&String>) -> Result<Timestamp, UserError> {
    match at {
        Some(text) => {
            load::values::instant(text).map_err(|e| UserError::Usage(format!("--at: {e}")))
        }
        None => Ok(Timestamp(jiff::Timestamp::now().as_millisecond())),
    }
}

fn parse_shard(text: &str) -> Result<crate::check::Shard, UserError> {
    let bad = || UserError::Usage(format!("--shard: `{text}` is not I/N with 1 <= I <= N"));
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if i == 0 || n == 0 || i > n {
        return Err(bad());
    }
    Ok(crate::check::Shard {
        index: i - 1,
        count: n,
    })
}

/// A progress bar on stderr, only when stderr is a terminal and output is not quiet.
/// Progress is drawn on a terminal only, and never with `--quiet`.
fn progress_shown(common: &Common) -> bool {
    use std::io::IsTerminal as _;
    !common.quiet && std::io::stderr().is_terminal()
}

fn progress_bar(common: &Common, total: u64, what: &str) -> Option<indicatif::ProgressBar> {
    if !progress_shown(common) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_owned());
    Some(bar)
}

fn run_check(common: &Common, args: &CheckArgs) -> Result<Exit, UserError> {
    let loaded = load_for_command(&args.topology)?;
    let mut topology = loaded.topology;
    if let Some(profile) = &args.profile {
        topology.profile = load::profile::resolve(profile, None)
            .map_err(|e| UserError::Usage(format!("--profile: {e}")))?;
    }
    let at = parse_at(args.at.as_ref())?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let options = crate::check::CheckOptions {
        failures_max: args.failures,
        at,
        shard,
        no_pruning: args.no_pruning,
    };
    let components = crate::check::component_count(&topology);
    if args.failures > components && !common.quiet {
        write_stderr(&format!(
            "note: --failures {}: the organisation has {components} components that can fail; checking every set of up to {components}\n",
            args.failures
        ));
    }
    let bar = progress_bar(
        common,
        crate::check::unit_count(&topology, shard),
        "checking",
    );
    // The reads are kept only when this analysis is the one fixes are re-checked from.
    let fixes_from_this = !args.no_fixes && shard.is_none();
    let analysis = crate::check::analyse_with(
        &topology,
        &options,
        &|done| {
            if let Some(b) = &bar {
                b.set_position(done);
            }
        },
        fixes_from_this,
    );
    let result = &analysis.result;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(limit) = &result.limit {
        return Err(UserError::Usage(format!(
            "check: {limit}. No report is written: a partial check would read as a proof"
        )));
    }
    // A fix is proven against the whole analysis (it must add no exposure anywhere), so a
    // shard with fixes runs the whole check once more and takes its exposures' fixes from it:
    // `merge` then gives exactly the unsharded report, fixes included (issue 16). The fix
    // re-checks are not split between shards.
    // The fix phase has its own bar: it re-checks every candidate of every exposure, each one
    // incrementally (issue 17), and on a large organisation it takes longer than the check.
    let fixes_of = |analysis: &crate::check::Analysis| {
        let bar = progress_bar(common, 0, "re-checking fixes");
        let fixes = crate::check::verified_fixes_observed(&topology, analysis, &|done, total| {
            if let Some(b) = &bar {
                b.set_length(total);
                b.set_position(done);
            }
        });
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        fixes
    };
    let fixes = match (args.no_fixes, shard) {
        (true, _) => crate::check::VerifiedFixes::default(),
        (false, None) => fixes_of(&analysis),
        (false, Some(_)) => {
            let whole_options = crate::check::CheckOptions {
                shard: None,
                ..options.clone()
            };
            let whole = crate::check::analyse(&topology, &whole_options, &|_| {});
            let whole_fixes = fixes_of(&whole);
            crate::check::for_shard(&whole.result, &whole_fixes, result)
        }
    };
    let shard_text = shard.map(|s| format!("{}/{}", s.index + 1, s.count));
    let mut report = report::check::check_report(
        &topology,
        &args.topology.display().to_string(),
        at.to_string(),
        result,
        &fixes,
        shard_text,
    );
    if shard.is_some() {
        report.input_sha256 = Some(report::check::input_fingerprint(
            &loaded.source.text,
            &report,
        ));
    }
    let rendered = match common.format {
        FormatArg::Text => report.to_text(),
        FormatArg::Json => report::to_json(&report),
        FormatArg::Sarif => report::to_json(&report::sarif::sarif(
            &report::sarif::from_check(&report),
            &common.sarif_root(),
        )),
        FormatArg::Junit => {
            report::junit::from_check(&report, &topology, common.fail_on.severity())
        }
        FormatArg::Markdown | FormatArg::Html => {
            let files = [report::audit::AnalysedFile::new(
                &loaded.source.name,
                &loaded.source.text,
            )];
            let audit = report::audit::of_check(&report, &files);
            if common.format == FormatArg::Html {
                report::html::render(&audit, Some(&topology))
            } else {
                report::markdown::render(&audit)
            }
        }
        other => {
            return Err(unsupported(
                other,
                "check",
                "text, json, markdown, html, sarif or junit",
            ));
        }
    };
    emit_rendered(common, &rendered, report.max_severity())
}

fn run_diff(common: &Common, args: &DiffArgs) -> Result<Exit, UserError> {
    let at = parse_at(args.at.as_ref())?;
    let (old_name, new_name, old, new) = match (&args.new, &args.variant) {
        (Some(new), None) => {
            let old = load_for_command(&args.old)?.topology;
            let new_topology = load_for_command(new)?.topology;
            (
                args.old.display().to_string(),
                new.display().to_string(),
                old,
                new_topology,
            )
        }
        (None, Some(variant)) => {
            let loaded = load::scenario::load_scenario(&args.old).map_err(|f| UserError::Load {
                rendered: f.render(),
                diagnostics: f.diagnostics,
            })?;
            let runs = &loaded.scenario.runs;
            let run = runs
                .iter()
                .find(|r| crate::model::name_key(&r.name) == crate::model::name_key(variant))
                .ok_or_else(|| {
                    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
                    UserError::Usage(format!(
                        "--variant: no variant `{variant}` in the scenario (it has {})",
                        names.join(", ")
                    ))
                })?;
            let name = args.old.display().to_string();
            (
                format!("{name} (baseline)"),
                format!("{name} (variant {})", run.name),
                runs[0].topology.clone(),
                run.topology.clone(),
            )
        }
        _ => {
            return Err(UserError::Usage(
                "diff takes OLD NEW (two topologies) or SCENARIO --variant NAME".to_owned(),
            ));
        }
    };
    let options = crate::check::CheckOptions {
        failures_max: args.failures,
        at,
        shard: None,
        no_pruning: false,
    };
    let none = crate::check::VerifiedFixes::default();
    let check = |t: &Topology, name: &str| {
        let result = crate::check::check(t, &options, &|_| {});
        match &result.limit {
            Some(limit) => Err(UserError::Usage(format!(
                "diff: {name}: {limit}. No report is written"
            ))),
            None => Ok(report::check::check_report(
                t,
                name,
                at.to_string(),
                &result,
                &none,
                None,
            )),
        }
    };
    let diff = report::diff::diff(
        &check(&old, &old_name)?,
        &check(&new, &new_name)?,
        &old_name,
        &new_name,
    );
    output(
        common,
        "diff",
        &diff,
        report::diff::DiffReport::to_text,
        diff.worse(),
    )
}

/// `tlsflow generate`: both files into the `--out` directory, each atomically.
fn run_logs(common: &Common, args: &LogsArgs) -> Result<Exit, UserError> {
    let loaded = args
        .topology
        .as_ref()
        .map(|t| load_for_command(t))
        .transpose()?;
    let at = parse_at(args.at.as_ref())?;
    let files = crate::logs::collect(&args.inputs).map_err(UserError::Usage)?;
    let options = crate::logs::Options {
        topology: loaded.as_ref().map(|l| &l.topology),
        rules: args.rule.clone(),
        redact: args.redact,
    };
    let bar = progress_bar(common, 0, "reading logs");
    if let Some(b) = &bar
        && let Ok(style) = indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
    {
        b.set_style(style.progress_chars("=> "));
    }
    let mut result = crate::logs::analyse(
        &files,
        &|p| p.display().to_string(),
        &options,
        &|done, total| {
            if let Some(b) = &bar {
                b.set_length(total);
                b.set_position(done);
            }
        },
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let comparison = loaded
        .as_ref()
        .map(|l| crate::logs::compare(&mut result, &l.topology, args.failures, at));
    let report = report::logs::logs_report(
        result,
        comparison,
        args.topology.as_ref().map(|t| t.display().to_string()),
        args.redact,
    );
    let worst = report.findings.iter().map(|f| f.severity).max();
    let rendered = match common.format {
        FormatArg::Text => report::logs::text(&report),
        FormatArg::Json => report::to_json(&report),
        FormatArg::Sarif => report::to_json(&report::sarif::sarif(
            &report::logs::sarif_items(&report),
            &common.sarif_root(),
        )),
        FormatArg::Junit => report::logs::junit(&report, common.fail_on.severity()),
        FormatArg::Markdown | FormatArg::Html => {
            let files: Vec<report::audit::AnalysedFile> = loaded
                .iter()
                .map(|l| report::audit::AnalysedFile::new(&l.source.name, &l.source.text))
                .collect();
            let audit = report::logs::audit(&report, &files);
            if common.format == FormatArg::Html {
                report::html::render(&audit, loaded.as_ref().map(|l| &l.topology))
            } else {
                report::markdown::render(&audit)
            }
        }
        other => {
            return Err(unsupported(
                other,
                "logs",
                "text, json, markdown, html, sarif or junit",
            ));
        }
    };
    emit_rendered(common, &rendered, worst)
}

fn run_generate(common: &Common, args: &GenerateArgs) -> Result<Exit, UserError> {
    use crate::generate::{GenerateOptions, SCENARIO_FILE, TOPOLOGY_FILE, Traffic};
    if common.format != FormatArg::Text {
        return Err(unsupported(common.format, "generate", "text"));
    }
    let Some(dir) = &common.out else {
        return Err(UserError::Usage(
            "generate writes two files: name their directory with --out DIR".to_owned(),
        ));
    };
    let duration = load::values::duration(&args.duration)
        .map_err(|e| UserError::Usage(format!("--duration: {e}")))?;
    let options = GenerateOptions {
        sites: args.sites,
        servers_per_site: args.servers_per_site,
        hub_sites: args.hub_sites,
        link_density: args.link_density,
        connector_sites: args.connector_sites,
        partner: args.partner,
        edge: args.edge,
        domains: args.domains,
        mailboxes: args.mailboxes,
        traffic: args.rate.map_or(
            Traffic::PerMailboxPerDay(args.messages_per_mailbox_per_day),
            Traffic::TotalPerHour,
        ),
        duration,
        faults: args.faults,
        seed: args.seed,
    };
    let generated = crate::generate::generate(&options)?;
    let write_error = |e: &std::io::Error| UserError::Write {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    if dir.exists() && !dir.is_dir() {
        return Err(UserError::Write {
            path: dir.display().to_string(),
            reason: "not a directory: generate writes two files into --out DIR".to_owned(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| write_error(&e))?;
    let topology = dir.join(TOPOLOGY_FILE);
    let scenario = dir.join(SCENARIO_FILE);
    write_together(&[
        (&topology, generated.topology.as_bytes()),
        (&scenario, generated.scenario.as_bytes()),
    ])?;
    if !common.quiet {
        write_stdout(&format!(
            "wrote {} ({} bytes) and {} ({} bytes)\n{}\n",
            topology.display(),
            generated.topology.len(),
            scenario.display(),
            generated.scenario.len(),
            generated.summary
        ))?;
    }
    Ok(Exit::Clean)
}

fn run_replications(
    common: &Common,
    scenario: &crate::model::scenario::Scenario,
    runs: &[usize],
    seed: u64,
    n: usize,
    shard: Option<&str>,
) -> Result<Exit, UserError> {
    if n == 0 {
        return Err(UserError::Usage(
            "--replications: N must be at least 1".to_owned(),
        ));
    }
    // Bounded before any allocation: N seeds are held, N runs are made (issue 15).
    if n > MAX_REPLICATIONS {
        return Err(UserError::Usage(format!(
            "--replications {n}: at most {MAX_REPLICATIONS} (a 95 % interval narrows with the square root of N: 10,000 runs give one 100 times narrower than a single run's spread)"
        )));
    }
    #[expect(clippy::cast_precision_loss, reason = "an estimate")]
    let total = scenario.expected_messages() * (n * runs.len()) as f64;
    let budget = f64::from(REPLICATED_RUNS) * f64::from(load::scenario::MAX_MESSAGES_PER_RUN);
    if total > budget {
        return Err(UserError::Usage(format!(
            "--replications {n}: {} variants × {n} runs of about {} messages each is about {} messages, more than the {} tlsflow simulates in one command; use fewer replications, shard them (--shard K/N on several machines, then `tlsflow merge`), or shorten the scenario",
            runs.len(),
            load::scenario::thousands(scenario.expected_messages()),
            load::scenario::thousands(total),
            load::scenario::thousands(budget)
        )));
    }
    let shard = shard.map(parse_shard).transpose()?;
    let seeds: Vec<u64> = (0..n)
        .filter(|i| shard.is_none_or(|s| i % s.count == s.index))
        .map(|i| seed.wrapping_add(i as u64))
        .collect();
    let report = report::replications::ReplicationReport {
        format_version: 1,
        scenario: scenario.name.clone(),
        replications: n,
        seeds: seeds.clone(),
        shard: shard.map(|s| format!("{}/{}", s.index + 1, s.count)),
        runs: runs
            .iter()
            .map(|&i| {
                let per_seed = crate::sim::replications::replicate(scenario, i, &seeds)
                    .map_err(UserError::Usage)?;
                Ok(report::replications::replication_run(
                    &scenario.runs[i].name,
                    &per_seed,
                ))
            })
            .collect::<Result<_, UserError>>()?,
    };
    let worst = report.max_severity();
    output(
        common,
        "simulate --replications",
        &report,
        report::replications::ReplicationReport::to_text,
        worst,
    )
}

/// The most replications one command runs.
const MAX_REPLICATIONS: usize = 10_000;

/// `simulate --replications` submits at most this many full runs' worth of messages in all.
const REPLICATED_RUNS: u32 = 10;

/// The largest shard `merge` reads (a check report of a 1,000-site organisation is ~20 MB).
const MAX_SHARD_BYTES: u64 = 256 * 1024 * 1024;

/// `tlsflow merge`: shards of `check` or of `simulate --replications`.
fn run_merge(common: &Common, files: &[PathBuf]) -> Result<Exit, UserError> {
    let mut texts = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let bytes = load::read_bounded(path, MAX_SHARD_BYTES)
            .map_err(|reason| UserError::Usage(format!("{name}: {reason}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| UserError::Usage(format!("{name}: not UTF-8: not a tlsflow shard")))?;
        texts.push((name, text));
    }
    let is_replications = texts.first().is_some_and(|(_, t)| {
        serde_json::from_str::<serde_json::Value>(t).is_ok_and(|v| v.get("replications").is_some())
    });
    if is_replications {
        let mut reports = Vec::new();
        for (name, text) in &texts {
            let r: report::replications::ReplicationReport =
                serde_json::from_str(text).map_err(|e| {
                    UserError::Usage(format!(
                        "{name}: not a `simulate --replications` JSON report: {e}"
                    ))
                })?;
            reports.push((name.clone(), r));
        }
        let merged =
            report::replications::merge(&reports).map_err(|e| UserError::Usage(e.to_string()))?;
        return output(
            common,
            "merge",
            &merged,
            report::replications::ReplicationReport::to_text,
            merged.max_severity(),
        );
    }
    let mut reports = Vec::new();
    for (name, text) in texts {
        let report: report::check::CheckReport = serde_json::from_str(&text).map_err(|e| {
            UserError::Usage(format!(
                "{name}: not a `tlsflow check --format json` report: {e}"
            ))
        })?;
        reports.push((name, report));
    }
    let merged = report::diff::merge(&reports).map_err(|e| UserError::Usage(e.to_string()))?;
    output(
        common,
        "merge",
        &merged,
        report::check::CheckReport::to_text,
        merged.max_severity(),
    )
}

/// Renders a report in the chosen format, prints or writes it, and maps its worst finding to
/// the exit code (docs/evidence.md#commands-and-exit-codes).
fn output<R: serde::Serialize>(
    common: &Common,
    command: &str,
    report: &R,
    text: impl FnOnce(&R) -> String,
    worst: Option<Severity>,
) -> Result<Exit, UserError> {
    let rendered = match common.format {
        FormatArg::Text => text(report),
        FormatArg::Json => report::to_json(report),
        other => return Err(unsupported(other, command, "text or json")),
    };
    emit_rendered(common, &rendered, worst)
}

/// The exit code of a run whose worst finding is `worst`, under `--fail-on`.
fn exit_for(common: &Common, worst: Option<Severity>) -> Exit {
    if worst.is_some_and(|s| at_or_above(s, common.fail_on.severity())) {
        Exit::Findings
    } else {
        Exit::Clean
    }
}

/// Prints or writes an already rendered report and maps its worst finding to the exit code.
fn emit_rendered(
    common: &Common,
    rendered: &str,
    worst: Option<Severity>,
) -> Result<Exit, UserError> {
    let exit = exit_for(common, worst);
    emit_for(common, rendered, exit)?;
    Ok(exit)
}

fn run_explain(common: &Common, code: &str) -> Result<Exit, UserError> {
    let Some(c) = crate::model::Code::ALL
        .iter()
        .copied()
        .find(|c| c.as_str().eq_ignore_ascii_case(code.trim()))
    else {
        let codes: Vec<&str> = crate::model::Code::ALL.iter().map(|c| c.as_str()).collect();
        return Err(UserError::Usage(format!(
            "no finding code `{code}`: the codes are {}",
            codes.join(", ")
        )));
    };
    let d = crate::policy::docs::doc(c);
    let text = match common.format {
        FormatArg::Text | FormatArg::Markdown => format!(
            "{c} ({}) — {}\n\nWhat it detects\n  {}\n\nWhy it matters\n  {}\n\nExample\n{}\n\nFix\n  {}\n",
            c.severity(),
            c.title(),
            report::wrap(d.what, 2, 2, 80),
            report::wrap(d.why, 2, 2, 80),
            d.example
                .lines()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
            report::wrap(d.fix, 2, 2, 80),
        ),
        FormatArg::Json => report::to_json(&serde_json::json!({
            "code": c.as_str(), "severity": c.severity(), "title": c.title(),
            "what": d.what, "why": d.why, "example": d.example, "fix": d.fix,
        })),
        other => return Err(unsupported(other, "explain", "text or json")),
    };
    emit(common, &text)?;
    Ok(Exit::Clean)
}

fn run_graph(
    common: &Common,
    path: &Path,
    highlight: Option<&str>,
    at: Option<&String>,
) -> Result<Exit, UserError> {
    let topology = load_for_command(path)?.topology;
    let at = parse_at(at)?;
    let highlight = match highlight {
        None => None,
        Some(h) => Some(highlight_path(&topology, h, at)?),
    };
    let text = match common.format {
        FormatArg::Text | FormatArg::Dot => report::diagram::dot(&topology, highlight.as_ref()),
        FormatArg::Mermaid => report::diagram::mermaid(&topology, highlight.as_ref()),
        FormatArg::Svg => report::diagram::svg(&topology, highlight.as_ref()),
        other => return Err(unsupported(other, "graph", "dot, mermaid or svg")),
    };
    emit(common, &text)?;
    Ok(Exit::Clean)
}

/// The path to draw for `--highlight`: a message `SENDER:RECIPIENT` (or `SENDER->RECIPIENT`),
/// or the first exposure
/// of a finding code.
fn highlight_path(
    topology: &Topology,
    spec: &str,
    at: Timestamp,
) -> Result<report::diagram::Highlight, UserError> {
    // `SENDER:RECIPIENT` needs no quoting in any shell; `SENDER->RECIPIENT`, the older form,
    // is a redirection in bash and PowerShell unless quoted.
    let pair = spec.split_once("->").or_else(|| spec.split_once(':'));
    let (servers, host) = if let Some((from, to)) = pair {
        let request = Request {
            sender: parse_sender(topology, from.trim())?,
            sender_text: from.trim().to_owned(),
            recipient: to.trim().to_owned(),
            subject: "top secret".to_owned(),
            size: Bytes(0),
            at,
            assume_required: None,
            message_recipients: Vec::new(),
        };
        let e = policy::explain(topology, &request, &Faults::none())?;
        let mut servers = vec![e.origin];
        servers.extend(e.steps.iter().map(|s| s.hop.to));
        let host = e.external.as_ref().and_then(|(_, _, x)| match &x.result {
            policy::ExternalResult::Delivered { host, .. } => Some(host.clone()),
            _ => x.attempts.last().map(|a| a.host.clone()),
        });
        (servers, host)
    } else {
        let options = crate::check::CheckOptions {
            failures_max: 0,
            at,
            shard: None,
            no_pruning: false,
        };
        let result = crate::check::check(topology, &options, &|_| {});
        let exposure = result
            .exposures
            .iter()
            .find(|e| e.code.as_str().eq_ignore_ascii_case(spec.trim()))
            .ok_or_else(|| {
                UserError::Usage(format!(
                    "--highlight: no `{spec}` exposure in this topology (or write SENDER:RECIPIENT)"
                ))
            })?;
        let mut servers = Vec::new();
        let mut host = None;
        for hop in exposure.hops.iter() {
            let ends = hop.rsplit_once(" (").map_or(hop.as_str(), |(e, _)| e);
            for name in ends.split(" -> ") {
                match topology.server_by_name(name) {
                    Some(s) if servers.last() != Some(&s) => servers.push(s),
                    Some(_) => {}
                    None => host = Some(name.to_owned()),
                }
            }
        }
        (servers, host)
    };
    Ok(report::diagram::Highlight {
        servers,
        external_host: host,
    })
}

/// Writes the Markdown, HTML, SARIF and JSON reports of every scenario in `scenarios` into
/// `into`, atomically, file by file.
fn run_reports(common: &Common, scenarios: &Path, into: &Path) -> Result<Exit, UserError> {
    let files = shipped_reports(scenarios)?;
    std::fs::create_dir_all(into).map_err(|e| UserError::Write {
        path: into.display().to_string(),
        reason: e.to_string(),
    })?;
    for (name, content) in &files {
        write_atomically(&into.join(name), content.as_bytes())?;
    }
    if !common.quiet {
        write_stdout(&format!(
            "wrote {} reports into {}\n",
            files.len(),
            into.display()
        ))?;
    }
    Ok(Exit::Clean)
}

/// The reports of every scenario file in `dir` (sorted), by file name.
pub fn shipped_reports(dir: &Path) -> Result<Vec<(String, String)>, UserError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| UserError::Usage(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let loaded = load::scenario::load_scenario(&path).map_err(|f| UserError::Load {
            rendered: f.render(),
            diagnostics: f.diagnostics,
        })?;
        let scenario = &loaded.scenario;
        let options = crate::sim::RunOptions {
            seed: scenario.seed,
            record_recipients: false,
        };
        let runs = (0..scenario.runs.len())
            .map(|i| {
                let result = crate::sim::run(scenario, i, &options, &mut crate::sim::NullSink);
                match &result.stopped {
                    Some(why) => Err(UserError::Usage(format!("{}: {why}", path.display()))),
                    None => Ok(report::simulate::run_report(scenario, &result, false)),
                }
            })
            .collect::<Result<_, UserError>>()?;
        let report = report::simulate::SimulateReport::new(scenario, scenario.seed, runs);
        let stem = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        out.push((format!("{stem}.json"), report::to_json(&report)));
        out.push((
            format!("{stem}.sarif"),
            report::to_json(&report::sarif::of_simulation(
                &report,
                &loaded.source.name,
                &scenario.runs[0].name,
                &report::sarif::SarifRoot::new(None),
            )),
        ));
        out.push((
            format!("{stem}.md"),
            audit_of_simulation(FormatArg::Markdown, &loaded, &report),
        ));
        out.push((
            format!("{stem}.html"),
            audit_of_simulation(FormatArg::Html, &loaded, &report),
        ));
    }
    Ok(out)
}

/// Temporary files are created private (0600); an output file gets the usual 0644.
#[cfg(unix)]
fn readable_by_all(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

/// Windows gives a new file the folder's permissions; nothing to change.
#[cfg(not(unix))]
#[allow(clippy::unnecessary_wraps)]
fn readable_by_all(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Colours the severity words of a text report (on a terminal only, docs/evidence.md#commands-and-exit-codes).
fn colourize(text: &str) -> String {
    use anstyle::{AnsiColor, Style};
    let style = |word: &str| match word {
        "error" | "error[" => Some(Style::new().bold().fg_color(Some(AnsiColor::Red.into()))),
        "warning" | "warning[" => {
            Some(Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())))
        }
        "info" => Some(Style::new().fg_color(Some(AnsiColor::Blue.into()))),
        _ => None,
    };
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let word_end = trimmed
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(trimmed.len());
        let word = &trimmed[..word_end];
        match style(word).filter(|_| indent.len() == 2 && !word.is_empty()) {
            Some(s) => {
                out.push_str(indent);
                let _ = write!(out, "{s}{word}{s:#}");
                out.push_str(&trimmed[word_end..]);
            }
            None => out.push_str(line),
        }
    }
    out
}
