//! `cargo bench`: the real code paths, measured with criterion (BENCHMARKS.md has the figures
//! and how to read them).
//!
//! - `hold/*`: the bare limit. The classic hold model on the engine's own `EventQueue` (a radix
//!   heap on the time, FIFO among equal times; its lanes are not used) and, for comparison, on
//!   the `radix-heap` crate keyed by (time, sequence) (the engine's queue before issue 18,
//!   against which issue 7 set the engine's target) and on `std::collections::BinaryHeap`: N
//!   events pending, each pop
//!   schedules one event a random time later. No simulation work at all.
//! - `engine/*`: `tlsflow::sim::run` on a two-site organisation whose Branch site has no
//!   Internet connector (the defect's shape): every message is submitted in Branch, relayed
//!   cross-site to HQ (the hop takes one simulated hour, so that N messages are in flight at a
//!   rate of N per hour) and sent out by HQ's connector. Throughput is in events; the engine's
//!   events/s divided by `hold/radix` (or `hold/radix-crate`) at the same N is its share of the
//!   physical limit.
//! - `engine-long/hours/*`: the same organisation with 100,000 in flight for 5 and for 100
//!   simulated hours: a long run must keep the events/s of a short one.
//!
//! The generated-organisation benchmarks (routing, check, loading) are in `benches/scale.rs`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use tlsflow::load::{self, SourceFile};
use tlsflow::model::scenario::{HopLatency, Scenario, SenderPattern, Variant, Workload};
use tlsflow::model::{Bytes, Millis, Origin};
use tlsflow::sim::{self, EventQueue, NullSink, RunOptions};

/// Pending counts (and messages in flight) the issue asks for.
const SIZES: [u64; 3] = [1_000, 100_000, 1_000_000];
/// Pops per hold-loop iteration.
const HOLD_OPS: u64 = 1_000_000;

/// Exponential increments with a mean of 1,000 ms, drawn once: the loop measures the queue.
fn increments() -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    (0..4096)
        .map(|_| {
            let u: f64 = 1.0 - rng.random::<f64>();
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "finite, positive, small"
            )]
            let ms = (-u.ln() * 1000.0) as u64;
            ms
        })
        .collect()
}

/// The radix heap (the engine's queue) with `pending` events, ready for the hold loop.
fn filled_radix(pending: u64, inc: &[u64]) -> EventQueue<u64> {
    let mut q = EventQueue::default();
    for i in 0..pending {
        q.push(inc[(i % 4096) as usize] * 2, i);
    }
    q
}

fn hold_radix(mut q: EventQueue<u64>, inc: &[u64]) -> u64 {
    let mut checksum = 0;
    for k in 0..HOLD_OPS {
        let (t, e) = q.pop().expect("pending events");
        checksum ^= e;
        q.push(t + inc[(k % 4096) as usize], e);
    }
    checksum
}

type Crate = (radix_heap::RadixHeapMap<Reverse<(u64, u64)>, u64>, u64);

/// The `radix-heap` crate keyed by (time, sequence), with `pending` events: the engine's queue
/// before issue 18.
fn filled_crate(pending: u64, inc: &[u64]) -> Crate {
    let mut q = radix_heap::RadixHeapMap::new();
    for i in 0..pending {
        q.push(Reverse((inc[(i % 4096) as usize] * 2, i)), i);
    }
    (q, pending)
}

fn hold_crate((mut q, mut seq): Crate, inc: &[u64]) -> u64 {
    let mut checksum = 0;
    for k in 0..HOLD_OPS {
        let (Reverse((t, _)), e) = q.pop().expect("pending events");
        checksum ^= e;
        q.push(Reverse((t + inc[(k % 4096) as usize], seq)), e);
        seq += 1;
    }
    checksum
}

type Binary = (BinaryHeap<Reverse<(u64, u64, u64)>>, u64);

/// `std::collections::BinaryHeap` ordered by (time, sequence), with `pending` events.
fn filled_binary(pending: u64, inc: &[u64]) -> Binary {
    let mut q = BinaryHeap::new();
    for i in 0..pending {
        q.push(Reverse((inc[(i % 4096) as usize] * 2, i, i)));
    }
    (q, pending)
}

fn hold_binary((mut q, mut seq): Binary, inc: &[u64]) -> u64 {
    let mut checksum = 0;
    for k in 0..HOLD_OPS {
        let Reverse((t, _, e)) = q.pop().expect("pending events");
        checksum ^= e;
        q.push(Reverse((t + inc[(k % 4096) as usize], seq, e)));
        seq += 1;
    }
    checksum
}

fn hold(c: &mut Criterion) {
    let inc = increments();
    let mut group = c.benchmark_group("hold");
    group.sample_size(10);
    group.throughput(Throughput::Elements(HOLD_OPS));
    for n in SIZES {
        // Filling the queue is set-up, not measured: the loop runs with n events pending.
        group.bench_with_input(BenchmarkId::new("radix", n), &n, |b, &n| {
            b.iter_batched(
                || filled_radix(n, &inc),
                |q| black_box(hold_radix(q, &inc)),
                BatchSize::LargeInput,
            );
        });
        group.bench_with_input(BenchmarkId::new("radix-crate", n), &n, |b, &n| {
            b.iter_batched(
                || filled_crate(n, &inc),
                |q| black_box(hold_crate(q, &inc)),
                BatchSize::LargeInput,
            );
        });
        group.bench_with_input(BenchmarkId::new("binary", n), &n, |b, &n| {
            b.iter_batched(
                || filled_binary(n, &inc),
                |q| black_box(hold_binary(q, &inc)),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

const TWO_SITES: &str = "format: 1
organization: Bench
profile: exchange2019
accepted_domains: [contoso.com]
sites: [{name: Branch}, {name: HQ}]
site_links: [{name: Branch-HQ, sites: [Branch, HQ], cost: 10}]
servers:
  - {name: BR-MBX1, site: Branch, roles: [mailbox]}
  - {name: HQ-MBX1, site: HQ, roles: [mailbox]}
send_connectors:
  - {name: Internet, address_spaces: [\"SMTP:*;1\"], source_servers: [HQ-MBX1]}
transport_rules:
  - {name: Secret, conditions: {subject_or_body_contains: [secret]}, actions: {require_tls: true}}
mailboxes:
  - {address: \"*@contoso.com\", server: BR-MBX1}
external_domains:
  - {domain: \"*\", mx: [{host: mx.example, starttls: offered}]}
";

/// N messages in flight: N per hour, each spending one hour on the cross-site hop, for `hours`
/// hours (the first fills the pipe).
fn in_flight_scenario(n: u64, hours: u64) -> Scenario {
    let topology = load::topology_from_source(SourceFile {
        name: "bench.yaml".to_owned(),
        text: TWO_SITES.to_owned(),
        base_dir: None,
    })
    .expect("the bench topology loads")
    .topology;
    #[expect(clippy::cast_precision_loss, reason = "n is at most 10^6")]
    let rate_per_hour = n as f64;
    Scenario {
        name: format!("in-flight-{n}-for-{hours}h"),
        topology_file: "bench.yaml".to_owned(),
        seed: 1,
        start: load::values::instant("2026-06-01T00:00:00Z").expect("instant"),
        duration: Millis::HOUR.times(hours),
        latency: HopLatency {
            same_site: Millis(5),
            cross_site: Millis::HOUR,
        },
        messages: Vec::new(),
        workload: vec![Workload {
            from: SenderPattern::Site("Branch".to_owned()),
            to: vec![
                ("fabrikam.com".to_owned(), 0.7),
                ("example.org".to_owned(), 0.3),
            ],
            cc: Vec::new(),
            rate_per_hour,
            subjects: vec![("Top secret".to_owned(), 0.02), ("Hello".to_owned(), 0.98)],
            size_min: Bytes(5_000),
            size_max: Bytes(50_000),
            origin: Origin::default(),
        }],
        events: Vec::new(),
        runs: vec![Variant {
            name: "baseline".to_owned(),
            topology,
        }],
        expect: std::collections::BTreeMap::new(),
    }
}

/// Runs `scenario` once to print its size and set the group's throughput in events, then
/// measures it.
fn bench_run(group: &mut BenchmarkGroup<'_, WallTime>, id: BenchmarkId, scenario: &Scenario) {
    let options = RunOptions {
        seed: 1,
        record_recipients: false,
    };
    let probe = sim::run(scenario, 0, &options, &mut NullSink);
    eprintln!(
        "{}: {} events, {} messages, peak {} in flight, peak queue {}",
        scenario.name,
        probe.stats.events,
        probe.summary.messages,
        probe.stats.peak_in_flight,
        probe.stats.peak_queue_len
    );
    group.throughput(Throughput::Elements(probe.stats.events));
    group.bench_with_input(id, scenario, |b, s| {
        b.iter(|| black_box(sim::run(s, 0, &options, &mut NullSink).stats.events));
    });
}

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    for n in SIZES {
        bench_run(
            &mut group,
            BenchmarkId::new("events", n),
            &in_flight_scenario(n, 2),
        );
    }
    group.finish();
}

/// A long run keeps its speed (issue 18): 100,000 in flight for 5 and for 100 simulated
/// hours, events/s compared. Arena slots freed and reused over hours must not scatter the
/// engine's memory accesses.
fn engine_long(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine-long");
    group.sample_size(10);
    for hours in [5, 100] {
        bench_run(
            &mut group,
            BenchmarkId::new("hours", hours),
            &in_flight_scenario(100_000, hours),
        );
    }
    group.finish();
}

criterion_group!(benches, hold, engine, engine_long);
criterion_main!(benches);
