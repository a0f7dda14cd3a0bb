//! `scripts/Export-TlsflowInventory.ps1` (issue 14): it parses under a PowerShell grammar
//! (tree-sitter-powershell), uses no syntax Windows PowerShell 5.1 lacks, exports exactly the
//! files the importer reads, and keeps the promises its help makes (a manifest, errors that stop,
//! every rule, 2010 databases, DAGs).

use tlsflow::import;

use crate::support::repo;

const SCRIPT: &str = "scripts/Export-TlsflowInventory.ps1";

fn script() -> String {
    std::fs::read_to_string(repo(SCRIPT)).expect("the export script")
}

/// Every syntax error of a PowerShell text, as `line:column: kind`; and every PowerShell 7-only
/// construct (pipeline chains `&&`/`||`, `??`, `?.`), which Windows PowerShell 5.1 refuses.
fn problems(text: &str) -> Vec<String> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    let tree = parser.parse(text, None).expect("the parser returns a tree");
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let at = node.start_position();
        let place = format!("{}:{}", at.row + 1, at.column + 1);
        if node.is_error() {
            out.push(format!("{place}: syntax error"));
        } else if node.is_missing() {
            out.push(format!("{place}: missing `{}`", node.kind()));
        } else if matches!(node.kind(), "&&" | "||" | "??" | "?." | "??=") {
            out.push(format!(
                "{place}: `{}` is PowerShell 7 only",
                node.utf8_text(text.as_bytes()).unwrap_or(node.kind())
            ));
        }
        if matches!(
            node.kind(),
            "comment" | "string_literal" | "expandable_string_literal"
        ) {
            continue;
        }
        stack.extend(node.children(&mut cursor));
    }
    out.sort();
    out
}

#[test]
fn the_export_script_parses_as_windows_powershell_5_1() {
    let problems = problems(&script());
    assert!(problems.is_empty(), "{SCRIPT}:\n{}", problems.join("\n"));
}

/// The check bites: a missing brace, an unclosed string, a PowerShell 7 pipeline chain.
#[test]
fn the_syntax_check_finds_broken_scripts() {
    let text = script();
    let unbalanced = text.replacen("function Write-Manifest {", "function Write-Manifest ", 1);
    assert!(!problems(&unbalanced).is_empty(), "a missing brace passes");
    let unclosed = text.replacen("'Get-ADSite' 'Get-ADSite'", "'Get-ADSite 'Get-ADSite'", 1);
    assert!(!problems(&unclosed).is_empty(), "an unclosed string passes");
    let chain = format!("{text}\nGet-ADSite && Get-AdSiteLink\n");
    let found = problems(&chain);
    assert!(
        found.iter().any(|p| p.contains("PowerShell 7 only")),
        "{found:?}"
    );
}

/// The script writes each file the importer reads, and nothing else under another name.
#[test]
fn the_script_exports_exactly_the_files_the_importer_reads() {
    let text = script();
    let exported: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Export-Cmdlet '"))
        .filter_map(|l| l.split('\'').next())
        .map(|name| format!("{name}.json"))
        .collect();
    for (file, _) in import::FILES {
        let written = exported.iter().any(|e| e == file);
        assert!(written, "{file} is read by the importer but never exported");
    }
    for file in &exported {
        assert!(
            import::FILES.iter().any(|(f, _)| f == file),
            "{file} is exported but the importer does not read it"
        );
    }
    assert!(text.contains("'manifest.json'"));
    assert_eq!(import::MANIFEST, "manifest.json");
}

/// The promises of the script's help, each in the code: every rule (Get-TransportRule stops at
/// 1,000 by default), 2010 databases, a per-database mailbox sample, errors that reach the
/// implicit-remoting cmdlets, names for deserialized enums, a manifest completed at the end, a
/// non-zero exit when a cmdlet failed.
#[test]
fn the_script_keeps_the_promises_of_its_help() {
    let text = script();
    for needle in [
        "Get-TransportRule -ResultSize Unlimited -ErrorAction Stop",
        "IncludePreExchange2013",
        "Get-Mailbox -Database $database.Identity -ResultSize $size -ErrorAction Stop",
        "Get-DatabaseAvailabilityGroup -ErrorAction Stop",
        "'Deserialized.System.Enum'",
        "[object]::ReferenceEquals($Error[0], $before)",
        "$manifest.complete = $true",
        "exit 1",
        "[ValidateRange(0, 100000)]",
    ] {
        assert!(text.contains(needle), "the script lost `{needle}`");
    }
    // Every Exchange cmdlet call says -ErrorAction Stop ($ErrorActionPreference does not reach
    // the Exchange Management Shell's implicit-remoting functions).
    let code = text
        .split_once("#>")
        .map_or(text.as_str(), |(_, code)| code);
    for line in code.lines().map(str::trim) {
        let calls_exchange =
            line.starts_with("Get-") || line.contains("{ Get-") || line.contains("@(Get-");
        if calls_exchange && !line.starts_with("Get-Command") && !line.contains("Get-Command ") {
            assert!(
                line.contains("-ErrorAction Stop") || line.contains("@databaseParameters"),
                "no -ErrorAction Stop: {line}"
            );
        }
    }
}
