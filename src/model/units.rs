//! Units with their suffix in the type: milliseconds of simulated or wall time, bytes, instants.

use std::fmt;

/// A duration in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    pub const SECOND: Millis = Millis(1_000);
    pub const MINUTE: Millis = Millis(60_000);
    pub const HOUR: Millis = Millis(3_600_000);
    pub const DAY: Millis = Millis(86_400_000);

    pub fn times(self, n: u64) -> Millis {
        Millis(self.0.saturating_mul(n))
    }
}

impl fmt::Display for Millis {
    /// The shortest exact form among `2d`, `4h`, `5m`, `30s`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        for (unit, suffix) in [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ] {
            if ms != 0 && ms.is_multiple_of(unit) {
                return write!(f, "{}{suffix}", ms / unit);
            }
        }
        write!(f, "{ms}ms")
    }
}

/// A size in bytes; `None` inside an `Option<Bytes>` means unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (unit, suffix) in [(1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")] {
            if b != 0 && b.is_multiple_of(unit) {
                return write!(f, "{}{suffix}", b / unit);
            }
        }
        write!(f, "{b}B")
    }
}

/// A wall-clock instant: milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(ts) => write!(f, "{}", ts.strftime("%Y-%m-%dT%H:%M:%SZ")),
            Err(_) => write!(f, "@{}ms", self.0),
        }
    }
}
