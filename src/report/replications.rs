//! `tlsflow simulate --replications N`: every count with its mean and 95 % confidence interval,
//! and the per-seed values (so that shards can be merged exactly).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::sim::replications::mean_ci95;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReplicationReport {
    pub format_version: u32,
    pub scenario: String,
    /// The total number of replications of the analysis.
    pub replications: usize,
    /// The seeds this report ran, in order.
    pub seeds: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub runs: Vec<ReplicationRun>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReplicationRun {
    pub variant: String,
    pub metrics: Vec<MetricReport>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MetricReport {
    pub name: String,
    pub mean: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    pub min: f64,
    pub max: f64,
    /// One value per seed, in the order of `seeds`.
    pub values: Vec<f64>,
}

/// Builds a run's metrics from per-seed metric lists (each in the same metric order).
pub fn replication_run(variant: &str, per_seed: &[Vec<(String, f64)>]) -> ReplicationRun {
    let names: Vec<String> = per_seed
        .first()
        .map(|m| m.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let metrics = names
        .iter()
        .enumerate()
        .map(|(i, name)| metric(name, per_seed.iter().map(|m| m[i].1).collect()))
        .collect();
    ReplicationRun {
        variant: variant.to_owned(),
        metrics,
    }
}

fn metric(name: &str, values: Vec<f64>) -> MetricReport {
    let (mean, half) = mean_ci95(&values);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    MetricReport {
        name: name.to_owned(),
        mean,
        ci95_low: mean - half,
        ci95_high: mean + half,
        min,
        max,
        values,
    }
}

/// Why replication shards cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplicationMergeError {
    #[error("{0} is not a shard of the same replications as the first file")]
    Mismatch(String),
    #[error("the shards do not cover the {expected} replications (they hold {got} seeds)")]
    Incomplete { expected: usize, got: usize },
}

/// Joins replication shards into the report one run gives: the per-seed values in seed order,
/// and the statistics recomputed from them.
pub fn merge(
    reports: &[(String, ReplicationReport)],
) -> Result<ReplicationReport, ReplicationMergeError> {
    let Some((_, first)) = reports.first() else {
        return Err(ReplicationMergeError::Incomplete {
            expected: 0,
            got: 0,
        });
    };
    // variant -> metric -> seed -> value
    let mut values: BTreeMap<String, BTreeMap<String, BTreeMap<u64, f64>>> = BTreeMap::new();
    let mut metric_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut variant_order: Vec<String> = Vec::new();
    let mut seeds = Vec::new();
    for (name, r) in reports {
        if r.scenario != first.scenario || r.replications != first.replications {
            return Err(ReplicationMergeError::Mismatch(name.clone()));
        }
        seeds.extend(r.seeds.iter().copied());
        for run in &r.runs {
            if !variant_order.contains(&run.variant) {
                variant_order.push(run.variant.clone());
            }
            let order = metric_order.entry(run.variant.clone()).or_default();
            for m in &run.metrics {
                if !order.contains(&m.name) {
                    order.push(m.name.clone());
                }
                let per_seed = values
                    .entry(run.variant.clone())
                    .or_default()
                    .entry(m.name.clone())
                    .or_default();
                for (seed, v) in r.seeds.iter().zip(&m.values) {
                    per_seed.insert(*seed, *v);
                }
            }
        }
    }
    seeds.sort_unstable();
    seeds.dedup();
    if seeds.len() != first.replications {
        return Err(ReplicationMergeError::Incomplete {
            expected: first.replications,
            got: seeds.len(),
        });
    }
    let runs = variant_order
        .iter()
        .map(|variant| ReplicationRun {
            variant: variant.clone(),
            metrics: metric_order[variant]
                .iter()
                .map(|name| metric(name, values[variant][name].values().copied().collect()))
                .collect(),
        })
        .collect();
    Ok(ReplicationReport {
        format_version: 1,
        scenario: first.scenario.clone(),
        replications: first.replications,
        seeds,
        shard: None,
        runs,
    })
}

impl ReplicationReport {
    /// The worst severity a seed of any run reached: a finding code counted at least once in
    /// one seed counts, as it would in that seed's own `simulate` (`--fail-on`, issue 16).
    pub fn max_severity(&self) -> Option<crate::model::Severity> {
        self.runs
            .iter()
            .flat_map(|r| &r.metrics)
            .filter(|m| m.max > 0.0)
            .filter_map(|m| {
                crate::model::Code::ALL
                    .iter()
                    .find(|c| c.as_str() == m.name)
                    .map(|c| c.severity())
            })
            .max()
    }
}

impl ReplicationReport {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "replications  {}", self.scenario);
        let first = self.seeds.first().copied().unwrap_or(0);
        let last = self.seeds.last().copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "              {} seeds ({first}..={last}){}; mean and 95% confidence interval",
            self.seeds.len(),
            self.shard.as_ref().map_or_else(String::new, |s| format!(
                ", shard {s} of {} replications",
                self.replications
            ))
        );
        for run in &self.runs {
            out.push('\n');
            let _ = writeln!(out, "=== {} ===", run.variant);
            let _ = writeln!(out, "{:<34}{:>12}  {:>25}", "count", "mean", "95% CI");
            for m in &run.metrics {
                let (mean, low, high) = if m.name.ends_with("_share") {
                    (
                        format!("{:.2}%", m.mean * 100.0),
                        format!("{:.2}%", m.ci95_low * 100.0),
                        format!("{:.2}%", m.ci95_high * 100.0),
                    )
                } else {
                    (
                        format!("{:.2}", m.mean),
                        format!("{:.2}", m.ci95_low),
                        format!("{:.2}", m.ci95_high),
                    )
                };
                let _ = writeln!(
                    out,
                    "{:<34}{mean:>12}  {:>25}",
                    m.name,
                    format!("[{low}, {high}]")
                );
            }
        }
        out
    }
}
