//! TLS levels: what a recipient requires and what a hop achieved (SPEC §5.2).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A required TLS level, ordered from weakest to strongest. Exchange's names:
/// `TlsAuthLevel` = `EncryptionOnly | CertificateValidation | DomainValidation`, with "none"
/// standing for the opportunistic default (reference §2.2, §3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsLevel {
    None,
    EncryptionOnly,
    CertificateValidation,
    DomainValidation,
}

impl TlsLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsLevel::None => "none",
            TlsLevel::EncryptionOnly => "encryption_only",
            TlsLevel::CertificateValidation => "certificate_validation",
            TlsLevel::DomainValidation => "domain_validation",
        }
    }

    /// Exchange's spelling in message tracking (`RequiredTlsAuthLevel`, reference §3.6).
    pub fn exchange_name(self) -> &'static str {
        match self {
            TlsLevel::None => "Opportunistic",
            TlsLevel::EncryptionOnly => "EncryptionOnly",
            TlsLevel::CertificateValidation => "CertificateValidation",
            TlsLevel::DomainValidation => "DomainValidation",
        }
    }
}

impl fmt::Display for TlsLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an external hop achieved, ordered from weakest to strongest (SPEC §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsAchieved {
    None,
    Encrypted,
    CertificateValidated,
    DomainValidated,
}

impl TlsAchieved {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsAchieved::None => "none",
            TlsAchieved::Encrypted => "encrypted",
            TlsAchieved::CertificateValidated => "certificate_validated",
            TlsAchieved::DomainValidated => "domain_validated",
        }
    }

    /// Whether this achievement satisfies a required level.
    pub fn satisfies(self, required: TlsLevel) -> bool {
        let needed = match required {
            TlsLevel::None => TlsAchieved::None,
            TlsLevel::EncryptionOnly => TlsAchieved::Encrypted,
            TlsLevel::CertificateValidation => TlsAchieved::CertificateValidated,
            TlsLevel::DomainValidation => TlsAchieved::DomainValidated,
        };
        self >= needed
    }
}

impl fmt::Display for TlsAchieved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
