//! Replications (issue 4): the same scenario run with N seeds, in parallel, and every count
//! reported with its mean and 95 % confidence interval (Student's t). What varies between seeds
//! is the generated traffic and Exchange's own choices (the first Transport service), so e.g.
//! the share of required mail sent in clear has a spread worth knowing.

use rayon::prelude::*;

use crate::model::Code;
use crate::model::scenario::Scenario;

use super::engine::{RunOptions, RunResult, run};
use super::tracking::NullSink;

/// One named count, measured once per seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub name: String,
    pub values: Vec<f64>,
}

/// The metrics of one run (one seed).
#[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
pub fn metrics(r: &RunResult) -> Vec<(String, f64)> {
    let s = &r.summary;
    let count = |code: Code| r.finding_counts.get(&code).copied().unwrap_or(0) as f64;
    let tls001 = count(Code::Tls001);
    let mut out = vec![
        ("messages".to_owned(), s.messages as f64),
        ("recipients".to_owned(), s.recipients as f64),
        ("delivered_none".to_owned(), s.delivered.none as f64),
        (
            "delivered_encrypted".to_owned(),
            s.delivered.encrypted as f64,
        ),
        (
            "delivered_certificate_validated".to_owned(),
            s.delivered.certificate_validated as f64,
        ),
        (
            "delivered_domain_validated".to_owned(),
            s.delivered.domain_validated as f64,
        ),
        ("ndr".to_owned(), s.ndr as f64),
        ("queued".to_owned(), s.queued as f64),
        ("required_tls".to_owned(), s.required_tls as f64),
        (
            "required_sent_in_clear_share".to_owned(),
            if s.required_tls == 0 {
                0.0
            } else {
                tls001 / s.required_tls as f64
            },
        ),
    ];
    for code in super::FINDING_CODES {
        out.push((code.as_str().to_owned(), count(code)));
    }
    out
}

/// Runs `variant` with each of `seeds` (in parallel) and returns the metrics per seed, in seed
/// order.
///
/// `Err` says why a run stopped before its end (`RunResult::stopped`): a mean over incomplete
/// runs would be wrong.
pub fn replicate(
    scenario: &Scenario,
    variant: usize,
    seeds: &[u64],
) -> Result<Vec<Vec<(String, f64)>>, String> {
    seeds
        .par_iter()
        .map(|&seed| {
            let result = run(
                scenario,
                variant,
                &RunOptions {
                    seed,
                    record_recipients: false,
                },
                &mut NullSink,
            );
            match result.stopped {
                Some(why) => Err(format!("seed {seed}: {why}")),
                None => Ok(metrics(&result)),
            }
        })
        .collect()
}

/// Mean and the half-width of the 95 % confidence interval of the mean (Student's t with n - 1
/// degrees of freedom; 0 for fewer than two values).
pub fn mean_ci95(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    #[expect(clippy::cast_precision_loss, reason = "replication counts are small")]
    let nf = n as f64;
    let mean = values.iter().sum::<f64>() / nf;
    if n < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (nf - 1.0);
    (mean, t975(n - 1) * (var / nf).sqrt())
}

/// The 0.975 quantile of Student's t distribution.
fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}
