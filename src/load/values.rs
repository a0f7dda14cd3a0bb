//! Parsers for the value syntaxes of SPEC §3: durations (`30s`, `5m`, `4h`, `2d`, Exchange
//! timespans `2.00:00:00`), sizes (`35MB`, `35 MB`, `unlimited`), instants (`2025-01-01`,
//! RFC 3339), address spaces (`SMTP:*.contoso.com;10`) and domain names. Each returns a message
//! an administrator understands on failure.

use crate::model::{AddressPattern, AddressSpace, Bytes, Millis, Timestamp};

/// `30s`, `5m`, `4h`, `2d`, `250ms`, or an Exchange timespan `[d.]hh:mm:ss`.
pub fn duration(text: &str) -> Result<Millis, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "`{text}` is not a duration: write `30s`, `5m`, `4h`, `2d` or an Exchange timespan such as `2.00:00:00`"
        )
    };
    if t.contains(':') {
        let ms = timespan(t).ok_or_else(bad)?;
        return if ms <= MAX_DURATION {
            Ok(ms)
        } else {
            Err(too_long(text)())
        };
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| {
        format!("`{text}` has no unit: write `{text}s`, `{text}m`, `{text}h` or `{text}d`")
    })?;
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit_ms = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_ms)
        .map(Millis)
        .filter(|ms| *ms <= MAX_DURATION)
        .ok_or_else(too_long(text))
}

/// The longest duration tlsflow reads: ten years. Simulated time, retry timers and certificate
/// dates all stay far inside i64 milliseconds, so no sum of them can overflow (issue 15:
/// `18446744073709551615ms` ran simulated time backwards).
pub const MAX_DURATION: Millis = Millis(3_650 * 86_400_000);

fn too_long(text: &str) -> impl FnOnce() -> String + '_ {
    move || format!("`{text}` is longer than tlsflow reads: at most 3650d (ten years)")
}

fn timespan(t: &str) -> Option<Millis> {
    let (days, clock) = match t.split_once('.') {
        Some((d, rest)) if rest.contains(':') && !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, t),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let [h, m, s] = parts.as_slice() else {
        return None;
    };
    let (h, m): (u64, u64) = (h.parse().ok()?, m.parse().ok()?);
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: u64 = secs.parse().ok()?;
    if h > 23 || m > 59 || secs > 59 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let ms: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}")[..3].parse().ok()?
    };
    let total = days
        .checked_mul(86_400)?
        .checked_add(h * 3600 + m * 60 + secs)?;
    total.checked_mul(1000)?.checked_add(ms).map(Millis)
}

/// `35MB`, `35 MB`, `512KB`, `1GB`, a plain number of bytes, an Exchange display form
/// `35 MB (36,700,160 bytes)`, or `unlimited` (returned as `None`).
pub fn size(text: &str) -> Result<Option<Bytes>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    let t = t.split_once(" (").map_or(t, |(head, _)| head).trim();
    let bad = || {
        format!(
            "`{text}` is not a size: write `35MB`, `512KB`, `1GB`, a number of bytes or `unlimited`"
        )
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit_bytes: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_bytes)
        .map(|b| Some(Bytes(b)))
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A date (`2025-01-01`, midnight UTC) or an RFC 3339 instant (`2025-01-01T08:00:00Z`).
pub fn instant(text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(Timestamp(ts.as_millisecond()));
    }
    if let Ok(date) = t.parse::<jiff::civil::Date>() {
        // Days from 1970-01-01, so `9999-12-31` (a common "never expires") reads too: jiff's
        // Timestamp stops a day short of it.
        if let Ok(span) = date.since((jiff::Unit::Day, jiff::civil::date(1970, 1, 1))) {
            return Ok(Timestamp(i64::from(span.get_days()) * 86_400_000));
        }
    }
    Err(format!(
        "`{text}` is not a date: write `2025-01-01` or `2025-01-01T08:00:00Z`"
    ))
}

/// An address space: `SMTP:*;1`, `SMTP:contoso.com;10`, `*.contoso.com` (type SMTP and cost 1
/// by default). `*contoso.com` and `--` (Edge only) are refused (reference §2.1).
pub(crate) fn address_space(text: &str) -> Result<AddressSpace, String> {
    let t = text.trim();
    let body = match t.split_once(':') {
        Some((kind, rest)) if kind.eq_ignore_ascii_case("smtp") => rest,
        Some((kind, _)) => {
            return Err(format!(
                "address space type `{kind}` is not modelled: tlsflow routes SMTP address spaces only"
            ));
        }
        None => t,
    };
    let (pattern, cost) = match body.split_once(';') {
        Some((p, c)) => {
            let cost: i64 = c
                .trim()
                .parse()
                .map_err(|_| format!("address space cost `{c}` is not a number"))?;
            (p.trim(), cost)
        }
        None => (body.trim(), 1),
    };
    Ok(AddressSpace {
        pattern: address_pattern(pattern)?,
        cost: address_cost(cost)?,
    })
}

pub(crate) fn address_cost(cost: i64) -> Result<u32, String> {
    u32::try_from(cost)
        .ok()
        .filter(|c| (1..=100).contains(c))
        .ok_or_else(|| {
            format!("address space cost {cost} is out of range: Exchange accepts 1 to 100")
        })
}

pub(crate) fn address_pattern(pattern: &str) -> Result<AddressPattern, String> {
    let p = pattern.trim().to_lowercase();
    if p == "*" {
        return Ok(AddressPattern::Any);
    }
    if p == "--" {
        return Err("`--` (all accepted domains) is valid only on Edge connectors".to_owned());
    }
    if let Some(rest) = p.strip_prefix("*.") {
        domain_name(rest)?;
        return Ok(AddressPattern::WithSubdomains(rest.to_owned()));
    }
    if p.contains('*') {
        return Err(format!(
            "`{pattern}` is not a valid address space: use `*`, `domain` or `*.domain` (a `*` must stand alone or be followed by a dot)"
        ));
    }
    domain_name(&p)?;
    Ok(AddressPattern::Exact(p))
}

/// A DNS domain name (letters, digits, hyphens, dots; labels of 1 to 63 characters).
pub(crate) fn domain_name(domain: &str) -> Result<(), String> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("`{domain}` is not a valid domain name"))
    }
}

/// `alice@contoso.com` or `*@contoso.com`.
pub(crate) fn address(text: &str) -> Result<(Option<String>, String), String> {
    let t = text.trim().to_lowercase();
    // `fabrikam.com.` is the absolute form of `fabrikam.com` (DNS): one domain, not another
    // that falls to `*` (a trailing dot flipped TLS001 to TLS003, issue 15).
    let t = t.strip_suffix('.').unwrap_or(&t);
    let (local, domain) = t.rsplit_once('@').ok_or_else(|| {
        format!("`{text}` is not an e-mail address: write `alice@contoso.com` or `*@contoso.com`")
    })?;
    domain_name(domain)?;
    if local == "*" {
        return Ok((None, domain.to_owned()));
    }
    if local.is_empty() || local.contains(['*', ' ', '@']) {
        return Err(format!(
            "`{text}` is not an e-mail address: write `alice@contoso.com` or `*@contoso.com`"
        ));
    }
    Ok((Some(t.to_owned()), domain.to_owned()))
}

/// An Exchange version `major.minor`: 14.x (2010), 15.0 (2013), 15.1 (2016), 15.2 (2019).
pub(crate) fn version(text: &str) -> Result<String, String> {
    let t = text.trim();
    let mut parts = t.split('.');
    let major = parts.next().and_then(|p| p.parse::<u32>().ok());
    let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
    let rest_ok = parts.all(|p| p.parse::<u32>().is_ok());
    match (major, minor) {
        (Some(14), Some(_)) | (Some(15), Some(0..=2)) if rest_ok => Ok(t.to_owned()),
        _ => Err(format!(
            "`{text}` is not an Exchange version: write 14.x (2010), 15.0 (2013), 15.1 (2016) or 15.2 (2019)"
        )),
    }
}

/// The key a host is looked up by: lowercase, and an IP address always in brackets
/// (`10.1.1.1` and `[10.1.1.1]` are one smart host), so a smart host finds the
/// `external_domains` entry that describes it however either is written.
pub(crate) fn host_key(text: &str) -> String {
    let t = text.trim();
    let bare = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => format!("[{ip}]"),
        Err(_) => t.to_lowercase(),
    }
}

/// A smart host: an FQDN, an IP address, or an IP address in brackets (`[10.1.1.1]`).
pub(crate) fn smart_host(text: &str) -> Result<(), String> {
    let t = text.trim();
    let bare = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    if bare.parse::<std::net::IpAddr>().is_ok() || domain_name(&bare.to_lowercase()).is_ok() {
        Ok(())
    } else {
        Err(format!("`{text}` is not a host name or an IP address"))
    }
}
