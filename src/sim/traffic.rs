//! Generated traffic (SPEC §4): Poisson arrivals per workload, seeded, with weighted recipient
//! domains and subjects and uniform sizes. Traffic has its own random stream, so every variant
//! of a scenario sees the same messages.

use rand::RngExt;
use rand::rngs::ChaCha8Rng;

use crate::model::scenario::{SenderPattern, Workload};
use crate::model::{Bytes, MailboxAddress, Topology};

/// How many distinct local parts a generated recipient draws from, per domain.
const LOCAL_PARTS: u32 = 1000;

/// How many distinct addresses stand for a `*@domain` mailbox pattern.
const ADDRESSES_PER_PATTERN: u32 = 20;

/// A generated message, before submission: the sender and subject as indices into the
/// workload's sender list and subject mix, so that no string is copied per message.
#[derive(Clone, Debug)]
pub(super) struct Generated {
    pub(super) from: usize,
    /// The one recipient, `user{local}@{domain}`: the index of the workload's domain, and the
    /// local part's number (1..=`LOCAL_PARTS`).
    pub(super) domain: usize,
    pub(super) local: u32,
    pub(super) subject: usize,
    pub(super) size: Bytes,
}

/// The sender addresses a workload draws from, in topology order.
pub(super) fn senders(topology: &Topology, pattern: &SenderPattern) -> Vec<String> {
    let site = match pattern {
        SenderPattern::Site(name) => topology.site_by_name(name),
        SenderPattern::Address(_) => None,
    };
    let mut out = Vec::new();
    for m in topology.mailboxes.iter() {
        let in_site = site.is_some_and(|s| topology.server(m.server).site == Some(s));
        match (&m.address, pattern) {
            (MailboxAddress::Exact(a), SenderPattern::Address(p)) if matches_pattern(a, p) => {
                out.push(a.clone());
            }
            (MailboxAddress::Domain(d), SenderPattern::Address(p)) if p == &format!("*@{d}") => {
                out.extend((1..=ADDRESSES_PER_PATTERN).map(|k| format!("user{k}@{d}")));
            }
            (MailboxAddress::Exact(a), SenderPattern::Site(_)) if in_site => out.push(a.clone()),
            (MailboxAddress::Domain(d), SenderPattern::Site(_)) if in_site => {
                out.extend((1..=ADDRESSES_PER_PATTERN).map(|k| format!("user{k}@{d}")));
            }
            _ => {}
        }
    }
    out
}

fn matches_pattern(address: &str, pattern: &str) -> bool {
    match pattern.strip_prefix("*@") {
        Some(domain) => address.rsplit_once('@').is_some_and(|(_, d)| d == domain),
        None => address == pattern,
    }
}

/// Milliseconds to the next Poisson arrival at `rate_per_hour`, unrounded, or `None` for a zero
/// rate. The caller adds gaps exactly and rounds the arrival time: rounding each gap biased high
/// rates (a mean gap under a millisecond rounds mostly to 0: +36 % at 10^7/h, issue 15).
/// `libm::log` keeps the stream bit-identical on every platform.
pub(super) fn interarrival_ms(rng: &mut ChaCha8Rng, rate_per_hour: f64) -> Option<f64> {
    if rate_per_hour <= 0.0 {
        return None;
    }
    let u: f64 = 1.0 - rng.random::<f64>();
    let mean_ms = 3_600_000.0 / rate_per_hour;
    Some((-libm::log(u) * mean_ms).max(0.0))
}

/// An arrival time in whole milliseconds; a huge one saturates (it just ends the workload).
pub(super) fn arrival_ms(exact: f64) -> u64 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "exact is finite and >= 0; the conversion saturates"
    )]
    let ms = exact.round().max(0.0) as u64;
    ms
}

/// One message of a workload, drawn from `senders` sender addresses.
pub(super) fn generate(rng: &mut ChaCha8Rng, w: &Workload, senders: usize) -> Option<Generated> {
    if senders == 0 {
        return None;
    }
    let from = rng.random_range(0..senders);
    let domain = weighted(rng, &w.to)?;
    let local = rng.random_range(1..=LOCAL_PARTS);
    let subject = weighted(rng, &w.subjects)?;
    let size = Bytes(rng.random_range(w.size_min.0..=w.size_max.0));
    Some(Generated {
        from,
        domain,
        local,
        subject,
        size,
    })
}

/// The index of a weighted choice.
fn weighted(rng: &mut ChaCha8Rng, choices: &[(String, f64)]) -> Option<usize> {
    let total: f64 = choices.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return None;
    }
    let mut x = rng.random::<f64>() * total;
    for (i, (_, w)) in choices.iter().enumerate() {
        if x < *w {
            return Some(i);
        }
        x -= w;
    }
    choices.iter().rposition(|(_, w)| *w > 0.0)
}
