//! Where in the input files a finding points: file, line, column, YAML path, and the JSON
//! pointer of the object (for SARIF's logical locations).

use serde::{Deserialize, Serialize};

use crate::model::Origin;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    pub file: String,
    /// 1-based.
    pub line: u64,
    pub column: u64,
    /// `send_connectors[2]`.
    pub yaml_path: String,
}

impl SourceLocation {
    pub fn of(file: &str, origin: &Origin) -> SourceLocation {
        SourceLocation {
            file: file.to_owned(),
            line: origin.line,
            column: origin.column,
            yaml_path: origin.yaml_path.clone(),
        }
    }

    /// `send_connectors[2].source_servers[0]` -> `/send_connectors/2/source_servers/0` (RFC 6901).
    pub fn json_pointer(&self) -> String {
        yaml_path_to_pointer(&self.yaml_path)
    }
}

/// Converts a YAML path to an RFC 6901 JSON pointer.
pub fn yaml_path_to_pointer(path: &str) -> String {
    let mut out = String::new();
    let mut token = String::new();
    let flush = |out: &mut String, token: &mut String| {
        if !token.is_empty() {
            out.push('/');
            out.push_str(&token.replace('~', "~0").replace('/', "~1"));
            token.clear();
        }
    };
    for c in path.chars() {
        match c {
            '.' | '[' | ']' => flush(&mut out, &mut token),
            c => token.push(c),
        }
    }
    flush(&mut out, &mut token);
    out
}
