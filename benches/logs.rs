//! `cargo bench --bench logs`: `tlsflow logs` reading what a simulation wrote (issue 19).
//!
//! A generated organisation (20 sites × 2 Mailbox servers, 20,000 mailboxes, 50 messages per
//! mailbox per day, 2 % of them matching the require-TLS rule) is simulated for 6 hours with
//! its message tracking log and its SmtpSend protocol logs (about 750 MB, 250,000 messages);
//! the benchmark is `logs::analyse` over those files: all three streaming passes, one core,
//! throughput in bytes of log. BENCHMARKS.md has the figures, and the 10 GB run.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use tlsflow::generate::{GenerateOptions, generate};
use tlsflow::model::Millis;
use tlsflow::report::protocol_log::{LogSinks, ProtocolLog};
use tlsflow::report::tracking::TrackingCsv;
use tlsflow::sim::{RunOptions, run};

fn logs(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = generate(&GenerateOptions {
        sites: 20,
        servers_per_site: 2,
        mailboxes: 20_000,
        duration: Millis::HOUR.times(6),
        seed: 1,
        ..GenerateOptions::default()
    })
    .expect("generates");
    std::fs::write(dir.path().join("topology.yaml"), &generated.topology).expect("write");
    std::fs::write(dir.path().join("scenario.yaml"), &generated.scenario).expect("write");
    let scenario = tlsflow::load::scenario::load_scenario(&dir.path().join("scenario.yaml"))
        .expect("loads")
        .scenario;
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("tracking")).expect("mkdir");
    let file = std::fs::File::create(logs.join("tracking/MSGTRK.LOG")).expect("create");
    let mut tracking = TrackingCsv::new(std::io::BufWriter::new(file), scenario.start);
    let mut protocol = ProtocolLog::new(&logs.join("protocol"), scenario.start);
    let options = RunOptions {
        seed: scenario.seed,
        record_recipients: false,
    };
    let result = run(
        &scenario,
        0,
        &options,
        &mut LogSinks {
            tracking: &mut tracking,
            protocol: Some(&mut protocol),
        },
    );
    tracking.finish().expect("tracking log written");
    protocol.finish().expect("protocol logs written");
    let files = tlsflow::logs::collect(std::slice::from_ref(&logs)).expect("files");
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).expect("size").len())
        .sum();
    println!(
        "logs: {} messages simulated, {} files, {} MB",
        result.summary.messages,
        files.len(),
        bytes / 1_000_000
    );
    let mut group = c.benchmark_group("logs");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("analyse/6h-20000-mailboxes", |b| {
        b.iter(|| {
            let r = tlsflow::logs::analyse(
                &files,
                &|p| p.display().to_string(),
                &tlsflow::logs::Options::default(),
                &|_, _| {},
            );
            black_box(r.counts.left_in_clear_text)
        });
    });
    group.finish();
}

criterion_group!(benches, logs);
criterion_main!(benches);
