//! `cargo bench --bench scale`: the static analyses on generated organisations (`tlsflow
//! generate`'s own code, the same seed every time). BENCHMARKS.md has the figures.
//!
//! - `load/10000-servers`: reading and validating a 10,000-server topology (1,000 sites × 10
//!   Mailbox servers, about 1 MB of YAML), as `validate`, `route`, `check` and `simulate` do
//!   before anything else; `lint/10000-servers` is the configuration lint `validate` adds.
//! - `route/200x5`: `route::route` from every Mailbox server to every external domain class of a
//!   200-site, 1,000-server organisation (the per-message routing decision, uncached).
//! - `check/200x5/k1`, `k2`: `check --failures 1` and `2` on that organisation (rayon, every
//!   core), without the fixes (each fix is one more check of a modified copy).
//! - `check-1000/1000xS/kK`: `check --failures K` (1 and 2), without fixes, on the 1,000-site
//!   organisations of issue 18, with 1 and 5 Mailbox servers per site (`tlsflow generate
//!   --sites 1000 --servers-per-site S --mailboxes 10000 --seed 1`; target: under 30 s each).
//!   About ten minutes in all: run it alone with `-- check-1000`.
//! - `import/100000-mailboxes`: `import::exchange` of the SoloORG export
//!   (`tests/data/import/solo-lab-names`) with 100,000 mailboxes, the export script's maximum:
//!   parsing, mapping, rendering and validating the topology it writes (issue 14: under 2 s).

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

use tlsflow::check::{CheckOptions, check};
use tlsflow::generate::{GenerateOptions, generate};
use tlsflow::load::{self, SourceFile};
use tlsflow::model::{Bytes, Faults, Timestamp, Topology};
use tlsflow::route::{Target, route};

fn topology_text(sites: usize, servers_per_site: usize) -> String {
    generate(&GenerateOptions {
        sites,
        servers_per_site,
        ..GenerateOptions::default()
    })
    .expect("the generator accepts these sizes")
    .topology
}

/// `check --failures k --no-fixes` at `at`: the number of exposures.
fn check_without_fixes(topology: &Topology, k: usize, at: Timestamp) -> usize {
    let options = CheckOptions {
        failures_max: k,
        at,
        shard: None,
        no_pruning: false,
    };
    check(topology, &options, &|_| {}).exposures.len()
}

/// The 1,000-site organisations of issue 18, as the README's command generates them.
fn thousand_sites(servers_per_site: usize) -> Topology {
    let text = generate(&GenerateOptions {
        sites: 1000,
        servers_per_site,
        mailboxes: 10_000,
        seed: 1,
        ..GenerateOptions::default()
    })
    .expect("the generator accepts these sizes")
    .topology;
    load_text(&text)
}

fn check_1000(c: &mut Criterion) {
    let at = load::values::instant("2026-06-01T00:00:00Z").expect("instant");
    let mut group = c.benchmark_group("check-1000");
    group.sample_size(10);
    for servers in [1, 5] {
        let topology = thousand_sites(servers);
        for k in [1, 2] {
            group.bench_function(format!("1000x{servers}/k{k}"), |b| {
                b.iter(|| black_box(check_without_fixes(&topology, k, at)));
            });
        }
    }
    group.finish();
}

fn load_text(text: &str) -> Topology {
    load::topology_from_source(SourceFile {
        name: "generated.yaml".to_owned(),
        text: text.to_owned(),
        base_dir: None,
    })
    .expect("a generated topology loads")
    .topology
}

fn loading(c: &mut Criterion) {
    let text = topology_text(1_000, 10);
    let topology = load_text(&text);
    assert_eq!(topology.servers.len(), 10_000);
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.bench_function("10000-servers", |b| b.iter(|| black_box(load_text(&text))));
    group.finish();
    let mut group = c.benchmark_group("lint");
    group.sample_size(10);
    group.bench_function("10000-servers", |b| {
        b.iter(|| black_box(tlsflow::lint::lint(&topology, "generated.yaml").len()));
    });
    group.finish();
}

fn routing_and_check(c: &mut Criterion) {
    let topology = load_text(&topology_text(200, 5));
    let origins: Vec<_> = topology
        .servers_sorted_by_name()
        .filter(|&s| topology.server(s).is_transport())
        .collect();
    let domains: Vec<String> = topology
        .external_domains
        .iter()
        .map(|d| {
            if d.domain == "*" {
                "unlisted.example".to_owned()
            } else {
                d.domain.clone()
            }
        })
        .collect();
    let faults = Faults::none();
    let mut group = c.benchmark_group("route");
    group.sample_size(10);
    group.throughput(criterion::Throughput::Elements(
        (origins.len() * domains.len()) as u64,
    ));
    group.bench_function("200x5", |b| {
        b.iter(|| {
            let mut hops = 0;
            for &origin in &origins {
                for d in &domains {
                    let target = Target::External(d.clone());
                    hops += route(&topology, origin, &target, Bytes(10_000), &faults)
                        .hops
                        .len();
                }
            }
            black_box(hops)
        });
    });
    group.finish();
    let at = load::values::instant("2026-06-01T00:00:00Z").expect("instant");
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    for k in [1, 2] {
        group.bench_function(format!("200x5/k{k}"), |b| {
            b.iter(|| black_box(check_without_fixes(&topology, k, at)));
        });
    }
    group.finish();
}

fn importing(c: &mut Criterion) {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/import/solo-lab-names");
    let mut files = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("the fixture") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a name")
            .to_owned();
        if name != "manifest.json" {
            files.insert(name, std::fs::read(&path).expect("readable"));
        }
    }
    let mut json = String::from("[");
    for i in 0..100_000 {
        let db = ["DB19", "DB16", "DB15"][i % 3];
        let _ = write!(
            json,
            "{{\"PrimarySmtpAddress\":\"firstname.lastname{i:06}@Solo.com\",\"Database\":\"{db}\"}},"
        );
    }
    json.pop();
    json.push(']');
    files.insert("Get-Mailbox.json".to_owned(), json.into_bytes());
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.bench_function("100000-mailboxes", |b| {
        b.iter(|| {
            black_box(
                tlsflow::import::exchange("export", &files)
                    .expect("imports")
                    .yaml
                    .len(),
            )
        });
    });
    group.finish();
}

/// `check` with and without its fix re-checks, side by side in one run (issue 17): the ratio
/// of the two is the cost of re-checking every candidate fix of every exposure. A generated
/// 40-site organisation, where 36 sites relay their Internet mail (about 70 candidates).
fn check_with_fixes(c: &mut Criterion) {
    let topology = load_text(&topology_text(40, 5));
    let at = load::values::instant("2026-06-01T00:00:00Z").expect("instant");
    let mut group = c.benchmark_group("check-fixes");
    group.sample_size(10);
    for k in [1, 2] {
        let options = CheckOptions {
            failures_max: k,
            at,
            shard: None,
            no_pruning: false,
        };
        group.bench_function(format!("40x5/k{k}/no-fixes"), |b| {
            b.iter(|| {
                black_box(
                    tlsflow::check::analyse(&topology, &options, &|_| {})
                        .result
                        .exposures
                        .len(),
                )
            });
        });
        group.bench_function(format!("40x5/k{k}/fixes"), |b| {
            b.iter(|| {
                let analysis = tlsflow::check::analyse(&topology, &options, &|_| {});
                black_box(
                    tlsflow::check::verified_fixes(&topology, &analysis)
                        .by_exposure
                        .len(),
                )
            });
        });
        // Each candidate a whole check, as before issue 17 (the reference the incremental
        // re-check is tested against).
        group.bench_function(format!("40x5/k{k}/fixes-whole-rechecks"), |b| {
            b.iter(|| {
                let analysis = tlsflow::check::analyse(&topology, &options, &|_| {});
                let how = tlsflow::check::Recheck::Full;
                black_box(
                    tlsflow::check::verified_fixes_by(&topology, &analysis, &|_, _| {}, how)
                        .by_exposure
                        .len(),
                )
            });
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    loading,
    routing_and_check,
    check_with_fixes,
    importing,
    check_1000
);
criterion_main!(benches);
