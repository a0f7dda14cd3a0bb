//! Behaviour profiles: the built-in ones (YAML files under `profiles/`, embedded in the binary)
//! and user-written profile files named by path.

use std::path::Path;

use crate::model::Profile;

use super::{values, yaml};

/// The built-in profiles, by canonical name.
const BUILTIN: &[(&str, &str)] = &[
    (
        "exchange2010",
        include_str!("../../profiles/exchange2010.yaml"),
    ),
    (
        "exchange2013",
        include_str!("../../profiles/exchange2013.yaml"),
    ),
    (
        "exchange-fixed",
        include_str!("../../profiles/exchange-fixed.yaml"),
    ),
    ("requiretls", include_str!("../../profiles/requiretls.yaml")),
];

/// The profile a topology gets when it names none.
pub const DEFAULT_PROFILE: &str = "exchange2013";

/// Every built-in profile, parsed.
pub fn builtins() -> Vec<Profile> {
    parsed_builtins().to_vec()
}

/// The built-in profiles, parsed once per process (a fix's what-ifs ask for them once per
/// exposure; parsing their YAML each time was a tenth of `check`'s time with fixes).
fn parsed_builtins() -> &'static [Profile] {
    static PARSED: std::sync::OnceLock<Vec<Profile>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        BUILTIN
            .iter()
            .map(|(name, text)| {
                parse(text).unwrap_or_else(|e| panic!("built-in profile {name} is invalid: {e}"))
            })
            .collect()
    })
}

/// Names and aliases a topology may use.
pub fn builtin_names() -> Vec<String> {
    parsed_builtins()
        .iter()
        .flat_map(|p| std::iter::once(p.name.clone()).chain(p.aliases.iter().cloned()))
        .collect()
}

/// A built-in profile by name or alias (case-insensitive).
pub fn builtin(name: &str) -> Option<Profile> {
    let key = name.to_lowercase();
    parsed_builtins()
        .iter()
        .find(|p| p.name == key || p.aliases.contains(&key))
        .map(|p| p.clone().declared_as(&key))
}

/// Resolves a profile given as a built-in name or a path to a profile file (relative to
/// `base_dir`). Errors are messages for a diagnostic.
pub fn resolve(spec: &str, base_dir: Option<&Path>) -> Result<Profile, String> {
    if let Some(profile) = builtin(spec) {
        return Ok(profile);
    }
    let extension = Path::new(spec)
        .extension()
        .map(std::ffi::OsStr::to_ascii_lowercase);
    let looks_like_path =
        spec.contains('/') || extension.is_some_and(|e| e == "yaml" || e == "yml");
    if !looks_like_path {
        return Err(format!(
            "unknown profile `{spec}`: built-in profiles are {}",
            builtin_names().join(", ")
        ));
    }
    let path = base_dir.map_or_else(|| Path::new(spec).to_path_buf(), |d| d.join(spec));
    let source = super::read_source(&path).map_err(|f| {
        let why = f
            .diagnostics
            .first()
            .map_or_else(String::new, |d| d.message.clone());
        format!("profile file `{}`: {why}", path.display())
    })?;
    parse(&source.text).map_err(|e| format!("profile file `{}`: {e}", path.display()))
}

fn parse(text: &str) -> Result<Profile, String> {
    let mut profile: Profile = yaml::parse(text).map_err(|e| {
        if e.pos.line > 0 {
            format!("line {}:{}: {}", e.pos.line, e.pos.column, e.message)
        } else {
            e.message
        }
    })?;
    profile.default_max_message_size = match &profile.send_connector_default_max_message_size {
        Some(text) => values::size(text)?,
        None => None,
    };
    Ok(profile)
}
