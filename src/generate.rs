//! `tlsflow generate` (SPEC §2): a synthetic organisation and a scenario of any size, for
//! benchmarks and scale tests, written as ordinary topology and scenario YAML that `validate`,
//! `simulate` and `check` read like any other file. Pure: options in, two texts out; the command
//! line writes them.
//!
//! Deterministic: every choice comes from one ChaCha8 generator seeded with `--seed`, in three
//! streams (the organisation, the traffic, the fault timeline), so adding faults does not
//! change the organisation; nothing iterates a hash map. The same options give the same bytes.
//!
//! What is generated, and why it looks the way it does (Exchange's names and defaults):
//! - **Sites** `Site01`… joined by a random spanning tree of AD IP site links (every site must
//!   be reachable), plus `--link-density` × (sites − 1) extra links between random pairs. Link
//!   costs come from a small set around AD's default of 100; about one link in seven carries an
//!   `exchange_cost`, as administrators set it when AD replication costs do not suit mail.
//!   `--hub-sites` random sites get `HubSiteEnabled`.
//! - **Servers** `S01-MBX1`…: `--servers-per-site` Exchange 2019 Mailbox servers per site
//!   (profile `exchange2019`); the first of each site also runs Front End Transport. With
//!   `--edge`, one Edge Transport server `EDGE1` is subscribed to the first site (its EdgeSync
//!   connector, `SMTP:*;100`, is implicit).
//! - **Send connectors**: the first site and `--connector-sites` − 1 random others hold an
//!   unscoped Internet connector (`SMTP:*;1`) sourced on every Mailbox server of the site, so
//!   mail from those sites is enforced where the rule ran. Every other site relays its Internet
//!   mail to another site's connector, and the transport rule's requirement is lost on that
//!   relay: the defect (reference §3.9) occurs wherever a site has no connector. `--partner`
//!   adds a partner connector for the second external domain in the first site, with
//!   RequireTLS and certificate validation.
//! - **External domains**: `--domains` domains with Microsoft's fictitious names (fabrikam.com,
//!   …), the first four one of each STARTTLS behaviour — not offered, offered with a trusted
//!   certificate, handshake fails, offered with an untrusted certificate — the rest drawn from
//!   that mix; some have a backup MX. `*` (every other domain) offers STARTTLS with a trusted
//!   certificate.
//! - **Mailboxes**: `--mailboxes` spread evenly over the Mailbox servers. Each server holding
//!   mailboxes gets one address pattern, `*@SERVER.contoso.com` (an accepted domain), with the
//!   count in a comment: the format's compact form for "every mailbox of this domain is on this
//!   server", so 100,000 mailboxes take one line per server, not one per mailbox. (The
//!   simulation draws senders from 20 addresses per pattern; only the rate depends on the
//!   count.)
//! - **One transport rule**, `RouteMessageOutboundRequireTls` for mail outside the organisation
//!   whose subject contains "top secret"; about 2 % of the generated subjects match.
//! - **Traffic**: one workload per site with mailboxes, Poisson arrivals at (the site's
//!   mailboxes × `--messages-per-mailbox-per-day` / 24) messages per hour, or the site's share
//!   of `--rate`; 70 % to external domains (listed ones and two unlisted ones that take `*`),
//!   30 % internal (to a server of the same site, and to one of another site).
//! - **Faults**: `--faults` outages of a random Mailbox server, site link or connector, from 5
//!   minutes to 8 hours, at random times, each a `down` and an `up` event.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use crate::error::UserError;
use crate::load;
use crate::model::{Code, Millis};

/// The file names written into the output directory; the scenario names the topology by this
/// relative path.
pub const TOPOLOGY_FILE: &str = "topology.yaml";
pub const SCENARIO_FILE: &str = "scenario.yaml";

/// The largest organisation generated. Beyond these sizes the files would exceed what the loader
/// reads (8 MiB, and its YAML node budget), or nothing useful is measured.
pub const MAX_SITES: usize = 10_000;
pub const MAX_SERVERS: usize = 100_000;
pub const MAX_DOMAINS: usize = 1_000;
pub const MAX_MAILBOXES: u64 = 10_000_000;
pub const MAX_FAULTS: usize = 10_000;
pub const MAX_LINK_DENSITY: f64 = 10.0;
/// Recipient domains in all the workloads together (the scenario's YAML node budget).
const MAX_WORKLOAD_ENTRIES: usize = 200_000;
/// The loader's ceiling for one workload's rate (messages per hour).
pub const MAX_RATE_PER_HOUR: f64 = 100_000_000.0;

/// The organisation's accepted domain; each Mailbox server's mailboxes live in a subdomain.
const ORG_DOMAIN: &str = "contoso.com";
/// Simulated time 0: a Monday, so that a week of traffic reads naturally.
const START: &str = "2026-06-01T00:00:00Z";
/// The subject the transport rule matches, and the others; weights add up to 1.
const SUBJECTS: [(&str, f64); 4] = [
    ("Top secret: project status", 0.02),
    ("Order confirmation", 0.45),
    ("Meeting notes", 0.33),
    ("Invoice attached", 0.20),
];
/// Microsoft's fictitious company domains, for the external domains (then `domainN.example`).
const DOMAIN_NAMES: [&str; 24] = [
    "fabrikam.com",
    "woodgrove.com",
    "litwareinc.com",
    "proseware.com",
    "tailspintoys.com",
    "adatum.com",
    "northwindtraders.com",
    "wingtiptoys.com",
    "fourthcoffee.com",
    "adventure-works.com",
    "treyresearch.net",
    "lucernepublishing.com",
    "margiestravel.com",
    "alpineskihouse.com",
    "blueyonderairlines.com",
    "cpandl.com",
    "humongousinsurance.com",
    "southridgevideo.com",
    "wideworldimporters.com",
    "cohowinery.com",
    "relecloud.com",
    "fineartschool.net",
    "graphicdesigninstitute.com",
    "consolidatedmessenger.com",
];
/// How many domains with no `external_domains` entry (they take `*`) the workloads send to.
const UNLISTED_DOMAINS: usize = 2;
/// AD site link costs (AD's default is 100) and the ExchangeCost values administrators set.
const LINK_COSTS: [u32; 7] = [10, 50, 100, 100, 100, 200, 500];
const EXCHANGE_COSTS: [u32; 4] = [5, 10, 20, 50];
/// Outage lengths of the fault timeline.
const OUTAGES: [Millis; 7] = [
    Millis(5 * 60_000),
    Millis(15 * 60_000),
    Millis(30 * 60_000),
    Millis(3_600_000),
    Millis(2 * 3_600_000),
    Millis(4 * 3_600_000),
    Millis(8 * 3_600_000),
];

/// How busy the mailboxes are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Traffic {
    /// Messages each mailbox sends per day (`--messages-per-mailbox-per-day`).
    PerMailboxPerDay(f64),
    /// Messages per hour for the whole organisation, shared by mailbox count (`--rate`).
    TotalPerHour(f64),
}

/// What to generate. [`generate`] checks every value.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    pub sites: usize,
    pub servers_per_site: usize,
    pub hub_sites: usize,
    pub link_density: f64,
    /// `None`: max(1, sites / 10).
    pub connector_sites: Option<usize>,
    pub partner: bool,
    pub edge: bool,
    pub domains: usize,
    pub mailboxes: u64,
    pub traffic: Traffic,
    pub duration: Millis,
    pub faults: usize,
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            sites: 10,
            servers_per_site: 2,
            hub_sites: 0,
            link_density: 0.1,
            connector_sites: None,
            partner: false,
            edge: false,
            domains: 6,
            mailboxes: 1000,
            traffic: Traffic::PerMailboxPerDay(50.0),
            duration: Millis::DAY.times(7),
            faults: 0,
            seed: 1,
        }
    }
}

impl GenerateOptions {
    /// How many sites hold an Internet connector.
    pub fn connector_site_count(&self) -> usize {
        self.connector_sites.unwrap_or((self.sites / 10).max(1))
    }

    /// The command line that generates these files, every option spelled out (the header of
    /// both files).
    pub fn command_line(&self) -> String {
        let mut s = format!(
            "tlsflow generate --sites {} --servers-per-site {} --hub-sites {} --link-density {} --connector-sites {}",
            self.sites,
            self.servers_per_site,
            self.hub_sites,
            self.link_density,
            self.connector_site_count()
        );
        if self.partner {
            s.push_str(" --partner");
        }
        if self.edge {
            s.push_str(" --edge");
        }
        let _ = write!(
            s,
            " --domains {} --mailboxes {}",
            self.domains, self.mailboxes
        );
        match self.traffic {
            Traffic::PerMailboxPerDay(f) => {
                let _ = write!(s, " --messages-per-mailbox-per-day {f}");
            }
            Traffic::TotalPerHour(r) => {
                let _ = write!(s, " --rate {r}");
            }
        }
        let _ = write!(
            s,
            " --duration {} --faults {} --seed {}",
            self.duration, self.faults, self.seed
        );
        s
    }

    /// Every value in range, or the first one that is not, named by its flag.
    fn check(&self) -> Result<(), UserError> {
        let bad = |flag: &str, message: String| Err(UserError::Usage(format!("{flag}: {message}")));
        if !(1..=MAX_SITES).contains(&self.sites) {
            return bad(
                "--sites",
                format!(
                    "{} is out of range: an organisation has 1 to {MAX_SITES} sites",
                    self.sites
                ),
            );
        }
        if self.servers_per_site == 0 {
            return bad(
                "--servers-per-site",
                "0 is out of range: every site needs a Mailbox server".to_owned(),
            );
        }
        if self.sites.saturating_mul(self.servers_per_site) > MAX_SERVERS {
            return bad(
                "--servers-per-site",
                format!(
                    "{} sites x {} servers is more than {MAX_SERVERS} servers, more than a topology file tlsflow reads can hold",
                    self.sites, self.servers_per_site
                ),
            );
        }
        if self.hub_sites > self.sites {
            return bad(
                "--hub-sites",
                format!(
                    "{} hub sites, but the organisation has {} sites",
                    self.hub_sites, self.sites
                ),
            );
        }
        if !(self.link_density.is_finite() && (0.0..=MAX_LINK_DENSITY).contains(&self.link_density))
        {
            return bad(
                "--link-density",
                format!(
                    "{} is out of range: extra links are 0 to {MAX_LINK_DENSITY} times the spanning tree's",
                    self.link_density
                ),
            );
        }
        if self.connector_site_count() > self.sites {
            return bad(
                "--connector-sites",
                format!(
                    "{} sites with a connector, but the organisation has {} sites",
                    self.connector_site_count(),
                    self.sites
                ),
            );
        }
        if self.domains > MAX_DOMAINS {
            return bad(
                "--domains",
                format!(
                    "{} is out of range: 0 to {MAX_DOMAINS} external domains",
                    self.domains
                ),
            );
        }
        let entries = self
            .sites
            .min(usize::try_from(self.mailboxes).unwrap_or(usize::MAX))
            * (self.domains + UNLISTED_DOMAINS + 2);
        if entries > MAX_WORKLOAD_ENTRIES {
            return bad(
                "--domains",
                format!(
                    "{} domains in the workload of each of up to {} sites is more than a scenario file tlsflow reads can hold: use fewer sites or domains",
                    self.domains + UNLISTED_DOMAINS,
                    self.sites
                ),
            );
        }
        if self.partner && self.domains < 2 {
            return bad(
                "--partner",
                "the partner is the second external domain: use --domains 2 or more".to_owned(),
            );
        }
        if self.mailboxes > MAX_MAILBOXES {
            return bad(
                "--mailboxes",
                format!(
                    "{} is out of range: 0 to {MAX_MAILBOXES} mailboxes",
                    self.mailboxes
                ),
            );
        }
        let (flag, value) = match self.traffic {
            Traffic::PerMailboxPerDay(f) => ("--messages-per-mailbox-per-day", f),
            Traffic::TotalPerHour(r) => ("--rate", r),
        };
        if !(value.is_finite() && value >= 0.0) {
            return bad(
                flag,
                format!("{value} is not a number of messages (0 or more)"),
            );
        }
        let total = self.total_rate_per_hour();
        if total > MAX_RATE_PER_HOUR {
            return bad(
                flag,
                format!(
                    "{total:.0} messages per hour in all; a workload runs at most {MAX_RATE_PER_HOUR:.0} per hour"
                ),
            );
        }
        if self.duration.0 == 0 || self.duration > Millis::DAY.times(366) {
            return bad(
                "--duration",
                format!("{} is out of range: from 1ms to 366d", self.duration),
            );
        }
        if self.faults > MAX_FAULTS {
            return bad(
                "--faults",
                format!("{} is out of range: 0 to {MAX_FAULTS} outages", self.faults),
            );
        }
        Ok(())
    }

    /// Messages per hour for the whole organisation.
    #[expect(
        clippy::cast_precision_loss,
        reason = "mailbox counts are at most 10^7, exact in f64"
    )]
    fn total_rate_per_hour(&self) -> f64 {
        match self.traffic {
            Traffic::PerMailboxPerDay(f) => self.mailboxes as f64 * f / 24.0,
            Traffic::TotalPerHour(r) => r,
        }
    }
}

/// The two files, and what they hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// `topology.yaml`.
    pub topology: String,
    /// `scenario.yaml`, naming `topology.yaml` by relative path.
    pub scenario: String,
    /// One line: sites, servers, connectors, domains, mailboxes, rate.
    pub summary: String,
}

/// Generates the organisation and the scenario `options` describe.
pub fn generate(options: &GenerateOptions) -> Result<Generated, UserError> {
    options.check()?;
    let org = Org::new(options);
    let topology = org.topology_yaml(options);
    let scenario = org.scenario_yaml(options);
    read_back(&topology, &scenario)?;
    Ok(Generated {
        topology,
        scenario,
        summary: org.summary(options),
    })
}

/// Loads both texts as `validate` will read them from disk. Beyond the loader's size cap or
/// YAML budgets (`CFG001`) the organisation is too large: the user's to fix. Any other problem
/// is a bug of the generator.
fn read_back(topology: &str, scenario: &str) -> Result<(), UserError> {
    let source = |name: &str, text: &str| load::source_from_bytes(name, text.as_bytes(), None);
    let loaded = source(TOPOLOGY_FILE, topology).and_then(|t| {
        load::scenario::scenario_with_topology(source(SCENARIO_FILE, scenario)?, Some(t))
    });
    let Err(failure) = loaded else {
        return Ok(());
    };
    let errors: Vec<&load::Diagnostic> = failure
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(
        !errors.is_empty() && errors.iter().all(|d| d.code == Code::Cfg001),
        "tlsflow generate wrote files that do not load:\n{}",
        failure.render()
    );
    Err(UserError::Usage(format!(
        "the generated organisation is larger than tlsflow reads ({}: {}): use fewer sites, servers per site, domains or faults",
        errors[0].file, errors[0].message
    )))
}

/// A random generator on its own stream of the seed.
fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A uniform index below `n` (> 0), drawn as u64 so the stream is the same on every platform.
fn index(rng: &mut ChaCha8Rng, n: usize) -> usize {
    assert!(n > 0, "an index into an empty range");
    let i = rng.random_range(0..n as u64);
    usize::try_from(i).expect("below a usize")
}

/// `k` distinct indices below `n`, in drawing order (a partial Fisher-Yates shuffle).
fn choose(rng: &mut ChaCha8Rng, n: usize, k: usize) -> Vec<usize> {
    assert!(k <= n, "choose {k} of {n}");
    let mut all: Vec<usize> = (0..n).collect();
    for i in 0..k {
        let j = i + index(rng, n - i);
        all.swap(i, j);
    }
    all.truncate(k);
    all
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[index(rng, items.len())]
}

/// Decimal digits of `n` (at least 1).
fn digits(n: usize) -> usize {
    n.max(1).to_string().len()
}

/// A YAML double-quoted string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A number with at most three decimals, without trailing zeros (`20.833`, `50`).
fn decimal(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

struct Site {
    name: String,
    hub: bool,
    /// Indices into `Org::servers`.
    servers: Vec<usize>,
}

struct Link {
    a: usize,
    b: usize,
    cost: u32,
    exchange_cost: Option<u32>,
}

struct Server {
    name: String,
    site: usize,
    frontend: bool,
    mailboxes: u64,
}

impl Server {
    /// The accepted domain of this server's mailboxes.
    fn domain(&self) -> String {
        format!("{}.{ORG_DOMAIN}", self.name.to_lowercase())
    }
}

/// How a remote MX host answers STARTTLS (SPEC §5.2's rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    NotOffered,
    Trusted,
    HandshakeFails,
    Untrusted,
}

impl Behaviour {
    /// The first domains show every behaviour; the rest are drawn from a plausible mix.
    fn draw(rng: &mut ChaCha8Rng) -> Behaviour {
        let x: f64 = rng.random();
        if x < 0.55 {
            Behaviour::Trusted
        } else if x < 0.75 {
            Behaviour::NotOffered
        } else if x < 0.85 {
            Behaviour::HandshakeFails
        } else {
            Behaviour::Untrusted
        }
    }

    fn label(self) -> &'static str {
        match self {
            Behaviour::NotOffered => "STARTTLS not offered",
            Behaviour::Trusted => "STARTTLS, trusted certificate",
            Behaviour::HandshakeFails => "STARTTLS advertised, handshake fails",
            Behaviour::Untrusted => "STARTTLS, untrusted certificate",
        }
    }
}

struct Domain {
    name: String,
    /// (host, preference, behaviour), in preference order.
    mx: Vec<(String, u32, Behaviour)>,
    /// Relative weight in the workloads.
    weight: u32,
}

/// The generated organisation, before it is written.
struct Org {
    sites: Vec<Site>,
    links: Vec<Link>,
    servers: Vec<Server>,
    /// Sites with an Internet connector, in site order.
    connector_sites: Vec<usize>,
    domains: Vec<Domain>,
    /// Domains the workloads send to that have no entry (they take `*`).
    unlisted: Vec<String>,
}

impl Org {
    fn new(o: &GenerateOptions) -> Org {
        let mut rng = stream(o.seed, 1);
        let mut sites = site_list(o, &mut rng);
        let servers = server_list(o, &mut sites);
        let links = link_list(o, &mut rng);
        // The first site always holds a connector (the head office); the others at random.
        let mut connector_sites: Vec<usize> = choose(
            &mut rng,
            o.sites - 1,
            o.connector_site_count().saturating_sub(1),
        )
        .into_iter()
        .map(|i| i + 1)
        .collect();
        if o.connector_site_count() > 0 {
            connector_sites.push(0);
        }
        connector_sites.sort_unstable();
        let domains = domain_list(o, &mut rng);
        let unlisted = (o.domains..o.domains + UNLISTED_DOMAINS)
            .map(domain_name)
            .collect();
        Org {
            sites,
            links,
            servers,
            connector_sites,
            domains,
            unlisted,
        }
    }

    fn mailbox_servers(&self) -> usize {
        self.servers.iter().filter(|s| s.mailboxes > 0).count()
    }

    fn summary(&self, o: &GenerateOptions) -> String {
        format!(
            "{} sites ({} hub), {} site links, {} Mailbox servers{}, {} with an Internet connector, {} external domains, {} mailboxes, {} messages per hour",
            self.sites.len(),
            self.sites.iter().filter(|s| s.hub).count(),
            self.links.len(),
            self.servers.len(),
            if o.edge { " and an Edge server" } else { "" },
            self.connector_sites.len(),
            self.domains.len(),
            o.mailboxes,
            decimal(o.total_rate_per_hour())
        )
    }

    fn topology_yaml(&self, o: &GenerateOptions) -> String {
        let mut y = String::with_capacity(200 * self.servers.len() + 100 * self.links.len() + 4096);
        let _ = writeln!(
            y,
            "# {TOPOLOGY_FILE}: a synthetic organisation written by `tlsflow generate` (tlsflow {}).",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(y, "# Generated with: {}", o.command_line());
        let _ = writeln!(y, "# The same options give the same bytes.");
        let _ = writeln!(y, "#");
        let _ = writeln!(y, "# {}.", self.summary(o));
        let without = self.sites.len() - self.connector_sites.len();
        if without > 0 {
            let _ = writeln!(
                y,
                "# Sites without an Internet connector: {without}. Their Internet mail is relayed to another site"
            );
            let _ = writeln!(
                y,
                "# (or the Edge), and the rule's TLS requirement is lost on that relay under exchange2019:"
            );
            let _ = writeln!(
                y,
                "# CFG101 warnings, and TLS001 for top-secret mail to domains without working STARTTLS."
            );
        }
        y.push_str("format: 1\n");
        let _ = writeln!(
            y,
            "organization: {}",
            q(&format!("Contoso (generated, seed {})", o.seed))
        );
        y.push_str("profile: exchange2019\n");
        y.push_str("accepted_domains:\n");
        let _ = writeln!(y, "  - {ORG_DOMAIN}");
        for s in self.servers.iter().filter(|s| s.mailboxes > 0) {
            let _ = writeln!(y, "  - {}", s.domain());
        }
        y.push_str("\nsites:\n");
        for s in &self.sites {
            if s.hub {
                let _ = writeln!(y, "  - {{name: {}, hub: true}}", s.name);
            } else {
                let _ = writeln!(y, "  - {{name: {}}}", s.name);
            }
        }
        y.push_str("\nsite_links:");
        y.push_str(if self.links.is_empty() { " []\n" } else { "\n" });
        for l in &self.links {
            let (a, b) = (&self.sites[l.a].name, &self.sites[l.b].name);
            let _ = write!(
                y,
                "  - {{name: {}, sites: [{a}, {b}], cost: {}",
                link_name(&self.sites, l),
                l.cost
            );
            if let Some(x) = l.exchange_cost {
                let _ = write!(y, ", exchange_cost: {x}");
            }
            y.push_str("}\n");
        }
        y.push_str("\nservers:\n");
        for s in &self.servers {
            let roles = if s.frontend {
                "[mailbox, frontend]"
            } else {
                "[mailbox]"
            };
            let _ = writeln!(
                y,
                "  - {{name: {}, site: {}, roles: {roles}, version: \"15.2\"}}",
                s.name, self.sites[s.site].name
            );
        }
        if o.edge {
            let _ = writeln!(
                y,
                "  - {{name: EDGE1, roles: [edge], version: \"15.2\", subscribed_site: {}}}   # EdgeSync - {} to Internet (SMTP:*;100)",
                self.sites[0].name, self.sites[0].name
            );
        }
        y.push_str("\nsend_connectors:");
        y.push_str(if self.connector_sites.is_empty() && !o.partner {
            " []\n"
        } else {
            "\n"
        });
        for &c in &self.connector_sites {
            let site = &self.sites[c];
            let _ = writeln!(y, "  - name: {}", q(&format!("Internet {}", site.name)));
            y.push_str("    address_spaces: [\"SMTP:*;1\"]\n");
            let _ = writeln!(y, "    source_servers: [{}]", self.source_servers(c));
            y.push_str("    max_message_size: 35MB\n");
        }
        if o.partner {
            let partner = &self.domains[1].name;
            let _ = writeln!(y, "  - name: {}", q(&format!("Partner {partner}")));
            let _ = writeln!(
                y,
                "    address_spaces: [{}]",
                q(&format!("SMTP:{partner};1"))
            );
            let _ = writeln!(y, "    source_servers: [{}]", self.source_servers(0));
            y.push_str("    require_tls: true\n");
            y.push_str("    tls_auth_level: certificate_validation\n");
            y.push_str("    max_message_size: 35MB\n");
        }
        y.push_str(concat!(
            "\ntransport_rules:\n",
            "  - name: Top secret must use TLS\n",
            "    priority: 0\n",
            "    mode: enforce\n",
            "    conditions:\n",
            "      subject_or_body_contains: [\"top secret\"]\n",
            "      sent_to_scope: not_in_organization\n",
            "    actions:\n",
            "      require_tls: true\n",
            "\ntransport_config:                # Exchange defaults\n",
            "  tls_send_domain_secure_list: []\n",
            "  tls_receive_domain_secure_list: []\n",
            "  message_expiration_timeout: 2d\n",
            "  delay_notification_timeout: 4h\n",
            "  transient_failure_retry_count: 6\n",
            "  transient_failure_retry_interval: 5m\n",
            "  outbound_connection_failure_retry_interval: 10m\n",
            "  queue_glitch_retry_count: 4\n",
            "  queue_glitch_retry_interval: 1m\n",
        ));
        if self.mailbox_servers() == 0 {
            y.push_str("\nmailboxes: []\n");
        } else {
            y.push_str("\nmailboxes:  # every mailbox of the domain is on the server\n");
        }
        for s in self.servers.iter().filter(|s| s.mailboxes > 0) {
            let _ = writeln!(
                y,
                "  - {{address: {}, server: {}}}   # {} mailboxes",
                q(&format!("*@{}", s.domain())),
                s.name,
                s.mailboxes
            );
        }
        y.push_str("\nexternal_domains:\n");
        for d in &self.domains {
            let _ = writeln!(y, "  - domain: {}", d.name);
            y.push_str("    mx:\n");
            for (host, preference, behaviour) in &d.mx {
                mx_yaml(&mut y, host, *preference, *behaviour);
            }
        }
        y.push_str("  - domain: \"*\"  # every other domain\n    mx:\n");
        mx_yaml(&mut y, "mx.internet.example", 10, Behaviour::Trusted);
        y
    }

    /// Every Mailbox server of a site, comma separated.
    fn source_servers(&self, site: usize) -> String {
        self.sites[site]
            .servers
            .iter()
            .map(|&i| self.servers[i].name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn scenario_yaml(&self, o: &GenerateOptions) -> String {
        let mut rng = stream(o.seed, 2);
        let mut y = String::with_capacity(600 * self.sites.len() + 64 * o.faults + 4096);
        let _ = writeln!(
            y,
            "# {SCENARIO_FILE}: synthetic traffic written by `tlsflow generate` (tlsflow {}).",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(y, "# Generated with: {}", o.command_line());
        let _ = writeln!(y, "# The same options give the same bytes.");
        let _ = writeln!(y, "#");
        let _ = writeln!(
            y,
            "# One workload per site with mailboxes; 70 % of the mail to external domains, 30 % internal;"
        );
        let _ = writeln!(
            y,
            "# about 2 % of the subjects match the rule \"Top secret must use TLS\". {} outages.",
            o.faults
        );
        y.push_str("format: 1\n");
        let _ = writeln!(
            y,
            "name: {}",
            q(&format!(
                "Generated: {} sites, {} mailboxes, seed {}",
                self.sites.len(),
                o.mailboxes,
                o.seed
            ))
        );
        let _ = writeln!(y, "topology: {TOPOLOGY_FILE}");
        let _ = writeln!(y, "seed: {}", o.seed);
        let _ = writeln!(y, "start: {START}");
        let _ = writeln!(y, "duration: {}", o.duration);
        let subjects = SUBJECTS
            .iter()
            .map(|(s, w)| format!("{}: {}", q(s), decimal(*w)))
            .collect::<Vec<_>>()
            .join(", ");
        let external: u32 = self.domains.iter().map(|d| d.weight).sum::<u32>()
            + self.unlisted.iter().map(|_| UNLISTED_WEIGHT).sum::<u32>();
        // Servers holding mailboxes, in site order: each site's are one contiguous run.
        let holders: Vec<usize> = (0..self.servers.len())
            .filter(|&i| self.servers[i].mailboxes > 0)
            .collect();
        let with_mail: Vec<usize> = (0..self.sites.len())
            .filter(|&s| self.site_mailboxes(s) > 0)
            .collect();
        y.push_str("workload:");
        y.push_str(if with_mail.is_empty() { " []\n" } else { "\n" });
        let total_rate = o.total_rate_per_hour();
        for &site in &with_mail {
            let mailboxes = self.site_mailboxes(site);
            #[expect(
                clippy::cast_precision_loss,
                reason = "counts up to 10^7, exact in f64"
            )]
            let rate = total_rate * mailboxes as f64 / o.mailboxes as f64;
            let _ = writeln!(y, "  - site: {}", self.sites[site].name);
            let _ = writeln!(y, "    rate: {}/h  # {mailboxes} mailboxes", decimal(rate));
            let mut to: Vec<(String, u32)> = self
                .domains
                .iter()
                .map(|d| (d.name.clone(), d.weight))
                .chain(self.unlisted.iter().map(|d| (d.clone(), UNLISTED_WEIGHT)))
                .collect();
            // 30 % internal: two thirds to a server of the site, a third to one of another site.
            let first = holders.partition_point(|&i| self.servers[i].site < site);
            let end = holders.partition_point(|&i| self.servers[i].site <= site);
            let local = holders[first + index(&mut rng, end - first)];
            let internal = (external * 3).div_ceil(7);
            let others = holders.len() - (end - first);
            if others == 0 {
                to.push((self.servers[local].domain(), internal));
            } else {
                let mut r = index(&mut rng, others);
                if r >= first {
                    r += end - first;
                }
                to.push((self.servers[local].domain(), internal - internal / 3));
                to.push((self.servers[holders[r]].domain(), internal / 3));
            }
            let to = to
                .iter()
                .map(|(d, w)| format!("{d}: {w}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(y, "    to: {{{to}}}");
            let _ = writeln!(y, "    subject: {{{subjects}}}");
            y.push_str("    size: {min: 5KB, max: 2MB}\n");
        }
        self.events_yaml(o, &mut y);
        y
    }

    fn site_mailboxes(&self, site: usize) -> u64 {
        self.sites[site]
            .servers
            .iter()
            .map(|&i| self.servers[i].mailboxes)
            .sum()
    }

    /// The fault timeline: `down` and `up` pairs, sorted by time (stable).
    fn events_yaml(&self, o: &GenerateOptions, y: &mut String) {
        let mut rng = stream(o.seed, 3);
        let mut components: Vec<Vec<String>> = vec![
            self.servers
                .iter()
                .map(|s| format!("server:{}", s.name))
                .collect(),
            self.links
                .iter()
                .map(|l| format!("link:{}", link_name(&self.sites, l)))
                .collect(),
            self.connector_sites
                .iter()
                .map(|&c| format!("connector:Internet {}", self.sites[c].name))
                .collect(),
        ];
        if o.partner {
            components[2].push(format!("connector:Partner {}", self.domains[1].name));
        }
        components.retain(|c| !c.is_empty());
        let mut windows: Vec<(u64, u64, String)> = Vec::new();
        for _ in 0..o.faults {
            let mut chosen = None;
            // A few tries for a component that is not already down at that time.
            for _ in 0..16 {
                let kind = &components[index(&mut rng, components.len())];
                let name = kind[index(&mut rng, kind.len())].clone();
                let at = rng.random_range(0..o.duration.0) / 1000 * 1000;
                let up = at
                    .saturating_add(pick(&mut rng, &OUTAGES).0)
                    .min(o.duration.0);
                let overlaps = windows
                    .iter()
                    .any(|(a, b, n)| *n == name && at <= *b && *a <= up);
                chosen = Some((at, up, name));
                if !overlaps {
                    break;
                }
            }
            if let Some(w) = chosen {
                windows.push(w);
            }
        }
        let mut events: Vec<(u64, &str, &str)> = Vec::with_capacity(2 * windows.len());
        for (at, up, name) in &windows {
            events.push((*at, "down", name));
            events.push((*up, "up", name));
        }
        events.sort_by_key(|e| e.0);
        y.push_str("events:");
        y.push_str(if events.is_empty() { " []\n" } else { "\n" });
        for (at, action, name) in events {
            let _ = writeln!(y, "  - {{at: {}, {action}: {}}}", Millis(at), q(name));
        }
    }
}

/// The weight of each unlisted domain in the workloads (listed ones weigh 1 to 8).
const UNLISTED_WEIGHT: u32 = 5;

fn site_list(o: &GenerateOptions, rng: &mut ChaCha8Rng) -> Vec<Site> {
    let width = digits(o.sites).max(2);
    let hubs: BTreeSet<usize> = choose(rng, o.sites, o.hub_sites).into_iter().collect();
    (0..o.sites)
        .map(|i| Site {
            name: format!("Site{:0width$}", i + 1),
            hub: hubs.contains(&i),
            servers: Vec::new(),
        })
        .collect()
}

/// `S01-MBX1` …, the mailboxes spread evenly.
fn server_list(o: &GenerateOptions, sites: &mut [Site]) -> Vec<Server> {
    let site_width = digits(o.sites).max(2);
    let server_width = digits(o.servers_per_site);
    let count = (o.sites * o.servers_per_site) as u64;
    let mut servers = Vec::with_capacity(o.sites * o.servers_per_site);
    for (i, site) in sites.iter_mut().enumerate() {
        for j in 0..o.servers_per_site {
            // Evenly, also when there are fewer mailboxes than servers: server n holds the
            // mailboxes floor(n * N / M) up to floor((n + 1) * N / M).
            let n = servers.len() as u128;
            let share = |k: u128| k * u128::from(o.mailboxes) / u128::from(count);
            let mailboxes = u64::try_from(share(n + 1) - share(n)).expect("at most N");
            site.servers.push(servers.len());
            servers.push(Server {
                name: format!("S{:0site_width$}-MBX{:0server_width$}", i + 1, j + 1),
                site: i,
                frontend: j == 0,
                mailboxes,
            });
        }
    }
    servers
}

/// A random spanning tree (each site joins an earlier one), then extra links between random
/// pairs not yet linked.
fn link_list(o: &GenerateOptions, rng: &mut ChaCha8Rng) -> Vec<Link> {
    let n = o.sites;
    let mut linked: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut links = Vec::new();
    let mut add =
        |rng: &mut ChaCha8Rng, linked: &mut BTreeSet<(usize, usize)>, a: usize, b: usize| {
            let (a, b) = (a.min(b), a.max(b));
            linked.insert((a, b));
            links.push(Link {
                a,
                b,
                cost: pick(rng, &LINK_COSTS),
                exchange_cost: rng.random_bool(0.15).then(|| pick(rng, &EXCHANGE_COSTS)),
            });
        };
    for i in 1..n {
        let j = index(rng, i);
        add(rng, &mut linked, j, i);
    }
    let pairs = (n as u128) * (n as u128 - 1) / 2;
    let room = usize::try_from(pairs - (n as u128 - 1)).unwrap_or(usize::MAX);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "density <= 10 and sites <= 10^4: a small non-negative number"
    )]
    let extra = ((o.link_density * (n - 1) as f64).round() as usize).min(room);
    if extra == 0 {
        return links;
    }
    if room <= extra.saturating_mul(4) {
        // Dense: draw from the list of free pairs (small organisations only).
        let free: Vec<(usize, usize)> = (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .filter(|p| !linked.contains(p))
            .collect();
        for i in choose(rng, free.len(), extra) {
            let (a, b) = free[i];
            add(rng, &mut linked, a, b);
        }
    } else {
        // Sparse: rejection sampling; at most a quarter of the free pairs are taken, so each
        // draw succeeds with probability >= 3/4. The bound is never reached in practice.
        let mut drawn = 0;
        let mut tries = 0u64;
        while drawn < extra {
            tries += 1;
            assert!(tries < 1_000_000_000, "link sampling did not converge");
            let (a, b) = (index(rng, n), index(rng, n));
            if a == b || linked.contains(&(a.min(b), a.max(b))) {
                continue;
            }
            add(rng, &mut linked, a, b);
            drawn += 1;
        }
    }
    links
}

fn link_name(sites: &[Site], l: &Link) -> String {
    let code = |s: &Site| s.name.replacen("Site", "S", 1);
    format!("{}-{}", code(&sites[l.a]), code(&sites[l.b]))
}

/// The `i`-th external domain name.
fn domain_name(i: usize) -> String {
    match DOMAIN_NAMES.get(i) {
        Some(name) => (*name).to_owned(),
        None => format!("domain{:04}.example", i + 1 - DOMAIN_NAMES.len()),
    }
}

fn domain_list(o: &GenerateOptions, rng: &mut ChaCha8Rng) -> Vec<Domain> {
    const FIRST: [Behaviour; 4] = [
        Behaviour::NotOffered,
        Behaviour::Trusted,
        Behaviour::HandshakeFails,
        Behaviour::Untrusted,
    ];
    (0..o.domains)
        .map(|i| {
            let name = domain_name(i);
            let behaviour = FIRST
                .get(i)
                .copied()
                .unwrap_or_else(|| Behaviour::draw(rng));
            let mut mx = vec![(format!("mx1.{name}"), 10, behaviour)];
            // The partner's MX stays trusted; others sometimes have a backup MX.
            if !(o.partner && i == 1) && rng.random_bool(0.25) {
                mx.push((format!("mx2.{name}"), 20, Behaviour::draw(rng)));
            }
            Domain {
                name,
                mx,
                weight: pick(rng, &[1, 2, 3, 5, 8]),
            }
        })
        .collect()
}

fn mx_yaml(y: &mut String, host: &str, preference: u32, behaviour: Behaviour) {
    let _ = writeln!(y, "      - host: {host}  # {}", behaviour.label());
    let _ = writeln!(y, "        preference: {preference}");
    match behaviour {
        Behaviour::NotOffered => y.push_str("        starttls: not_offered\n"),
        Behaviour::HandshakeFails => y.push_str("        starttls: handshake_fails\n"),
        Behaviour::Trusted | Behaviour::Untrusted => {
            y.push_str("        starttls: offered\n");
            let _ = writeln!(
                y,
                "        certificate: {{subject: {host}, san: [{host}], trusted: {}, not_before: 2025-01-01, not_after: 2028-01-01}}",
                behaviour == Behaviour::Trusted
            );
        }
    }
    y.push_str("        available: true\n");
}
