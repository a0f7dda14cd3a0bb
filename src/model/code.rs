//! Finding and diagnostic codes (SPEC §5.4): stable identifiers, their severity and a one-line
//! title. Codes are never renumbered; a retired code stays reserved.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($($variant:ident = $text:literal, $severity:ident, $title:literal;)*) => {
        /// Every code tlsflow can emit.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

codes! {
    Tls001 = "TLS001", Error, "a recipient with a TLS requirement was delivered in clear text";
    Tls002 = "TLS002", Warning, "delivered with TLS, but weaker than required";
    Tls003 = "TLS003", Warning, "the requirement was lost on the way; the remote offered TLS anyway (safe by luck)";
    Tls004 = "TLS004", Warning, "Domain Secure expected for a partner domain but broken by a proxy on the path";
    Tls005 = "TLS005", Info, "required mail handed to a smart host: the guarantee ends there";
    Dlv001 = "DLV001", Info, "a TLS-required message expired undelivered";
    Dlv002 = "DLV002", Warning, "no Send connector matches the recipient domain (Unreachable queue)";
    Obs001 = "OBS001", Error, "observed in the logs: required mail left the organisation in clear text";
    Obs002 = "OBS002", Warning, "observed in the logs: the requirement was dropped on the way; the message left over TLS only because the remote offered it";
    Obs003 = "OBS003", Warning, "observed in the logs: whether required mail left over TLS cannot be told (a log is missing)";
    Obs004 = "OBS004", Error, "observed in the logs: an incident the model did not predict (the model is wrong somewhere)";
    Exp001 = "EXP001", Error, "an expectation of the scenario does not hold";
    Cfg001 = "CFG001", Error, "the file cannot be read as YAML";
    Cfg002 = "CFG002", Error, "unknown key, missing key or wrong type";
    Cfg003 = "CFG003", Error, "unsupported file format version";
    Cfg004 = "CFG004", Error, "duplicate name (names compare case-insensitively, as in Active Directory)";
    Cfg005 = "CFG005", Error, "reference to an unknown site, server, connector or profile";
    Cfg006 = "CFG006", Error, "a site link must join at least two distinct sites";
    Cfg007 = "CFG007", Error, "value out of range";
    Cfg008 = "CFG008", Error, "sites are not all connected through site links";
    Cfg009 = "CFG009", Error, "invalid address space";
    Cfg010 = "CFG010", Error, "a Send connector needs source servers";
    Cfg011 = "CFG011", Error, "DNS routing and smart hosts disagree";
    Cfg012 = "CFG012", Error, "tls_auth_level requires require_tls";
    Cfg013 = "CFG013", Error, "retired: domain_secure on a wildcard address space (Exchange accepts it)";
    Cfg014 = "CFG014", Error, "retired: domain_secure with ignore_starttls (now the warning CFG108)";
    Cfg015 = "CFG015", Error, "retired: tls_domain without domain_validation (now the warning CFG109)";
    Cfg016 = "CFG016", Error, "invalid Edge server";
    Cfg017 = "CFG017", Error, "rule action not available under this profile";
    Cfg018 = "CFG018", Error, "invalid value";
    Cfg019 = "CFG019", Error, "require_tls cannot be used with ignore_starttls";
    Cfg020 = "CFG020", Error, "retired: domain_secure with smart hosts or tls_auth_level (now the warning CFG108, or accepted)";
    Cfg021 = "CFG021", Error, "server lacks the role this use needs";
    Cfg022 = "CFG022", Error, "a hub site needs a Mailbox server";
    Cfg023 = "CFG023", Error, "frontend_proxy is not available under this profile";
    Cfg024 = "CFG024", Error, "invalid database availability group";
    Cfg025 = "CFG025", Error, "domain_validation on a smart-host connector needs tls_domain";
    Cfg026 = "CFG026", Error, "a Send connector's source servers mix Mailbox servers and Edge subscriptions";
    Cfg101 = "CFG101", Warning, "a require-TLS rule covers mail that is relayed before it leaves, and the profile drops the requirement there";
    Cfg102 = "CFG102", Warning, "a Domain Secure partner is reached through a Front End proxy connector";
    Cfg103 = "CFG103", Warning, "a Send connector that no site ever selects";
    Cfg104 = "CFG104", Warning, "retry and notification timers out of order";
    Cfg105 = "CFG105", Warning, "an Edge server without an Edge subscription";
    Cfg106 = "CFG106", Warning, "a Front End proxy connector whose source servers' sites have no Front End service";
    Cfg107 = "CFG107", Warning, "a Domain Secure partner with no Domain Secure connector";
    Cfg108 = "CFG108", Warning, "Domain Secure that cannot work: smart-host routing or ignore_starttls";
    Cfg109 = "CFG109", Warning, "tls_domain is ignored without tls_auth_level domain_validation";
    Cfg110 = "CFG110", Warning, "part of the scenario sends nothing";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown finding code `{text}`")))
    }
}
