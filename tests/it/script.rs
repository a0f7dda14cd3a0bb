//! `scripts/Export-TlsflowInventory.ps1` (issue 14): it parses under a PowerShell grammar
//! (tree-sitter-powershell), uses no syntax Windows PowerShell 5.1 lacks, exports exactly the
//! files the importer reads, and keeps the promises its help makes (a manifest, errors that stop,
//! every rule, 2010 databases, DAGs). Its -CollectLogs (issue 19) runs only when asked, runs
//! only read-only commands, writes only into the output folder, and leaves an export that still
//! imports.

use std::collections::BTreeMap;

use tlsflow::import;

use crate::support::{repo, tlsflow};

const SCRIPT: &str = "scripts/Export-TlsflowInventory.ps1";

fn script() -> String {
    std::fs::read_to_string(repo(SCRIPT)).expect("the export script")
}

/// Every syntax error of a PowerShell text, as `line:column: kind`; and every PowerShell 7-only
/// construct (pipeline chains `&&`/`||`, `??`, `?.`), which Windows PowerShell 5.1 refuses.
fn problems(text: &str) -> Vec<String> {
    let tree = parse(text);
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

// ---- -CollectLogs (issue 19): an opt-in, read-only copy of the transport logs ----

/// A command of the script: its name as written and its arguments (the texts of its elements).
struct Command<'t> {
    name: String,
    args: Vec<String>,
    node: tree_sitter::Node<'t>,
}

fn parse(text: &str) -> tree_sitter::Tree {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    parser.parse(text, None).expect("the parser returns a tree")
}

/// Every node of the tree but comments, in document order.
fn nodes(tree: &tree_sitter::Tree) -> Vec<tree_sitter::Node<'_>> {
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "comment" {
            continue;
        }
        out.push(node);
        let mut cursor = node.walk();
        let children: Vec<_> = node.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    out
}

fn text_of<'a>(node: tree_sitter::Node<'_>, text: &'a str) -> &'a str {
    node.utf8_text(text.as_bytes()).expect("UTF-8")
}

/// Every command the script runs, with its arguments (not the separators between them).
fn commands<'t>(tree: &'t tree_sitter::Tree, text: &str) -> Vec<Command<'t>> {
    nodes(tree)
        .into_iter()
        .filter(|n| n.kind() == "command")
        .filter_map(|node| {
            let mut cursor = node.walk();
            let children: Vec<_> = node.children(&mut cursor).collect();
            let name = children.iter().find(|c| c.kind() == "command_name")?;
            let args = children
                .iter()
                .filter(|c| c.kind() == "command_elements")
                .flat_map(|elements| {
                    let mut cursor = elements.walk();
                    elements
                        .named_children(&mut cursor)
                        .filter(|a| a.kind() != "command_argument_sep")
                        .map(|a| text_of(a, text).to_owned())
                        .collect::<Vec<_>>()
                })
                .collect();
            Some(Command {
                name: text_of(*name, text).to_owned(),
                args,
                node,
            })
        })
        .collect()
}

impl Command<'_> {
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The argument after `-name`.
    fn arg(&self, name: &str) -> Option<&str> {
        let at = self
            .args
            .iter()
            .position(|a| a.eq_ignore_ascii_case(name))?;
        self.args.get(at + 1).map(String::as_str)
    }
}

/// The name of the function a node is in, if any.
fn function_of(node: tree_sitter::Node<'_>, text: &str) -> Option<String> {
    let mut at = node.parent();
    while let Some(n) = at {
        if n.kind() == "function_statement" {
            let mut cursor = n.walk();
            let name = n
                .children(&mut cursor)
                .find(|c| c.kind() == "function_name")?;
            return Some(text_of(name, text).to_lowercase());
        }
        at = n.parent();
    }
    None
}

/// Whether a node is in the body of an `if ($CollectLogs) { ... }` (not in its else branches).
fn under_collect_logs(node: tree_sitter::Node<'_>, text: &str) -> bool {
    let mut at = node;
    while let Some(parent) = at.parent() {
        if parent.kind() == "if_statement" && at.kind() == "statement_block" {
            let mut cursor = parent.walk();
            let condition = parent
                .children(&mut cursor)
                .find(|c| c.kind() == "pipeline")
                .map(|c| text_of(c, text).trim().to_owned());
            if condition.is_some_and(|c| c.eq_ignore_ascii_case("$CollectLogs")) {
                return true;
            }
        }
        at = parent;
    }
    false
}

/// The script's help (the comment before the code) and its code.
fn help_and_code(text: &str) -> (&str, &str) {
    text.split_once("#>")
        .expect("the script opens with its help")
}

/// The parameters the script declares, lowercase, with their types.
fn parameters(tree: &tree_sitter::Tree, text: &str) -> Vec<(String, String)> {
    let root = tree.root_node();
    let mut cursor = root.walk();
    let block = root
        .children(&mut cursor)
        .find(|c| c.kind() == "param_block")
        .expect("the script has a param block");
    nodes(tree)
        .into_iter()
        .filter(|n| {
            n.kind() == "script_parameter" && n.parent().and_then(|p| p.parent()) == Some(block)
        })
        .map(|p| {
            let mut cursor = p.walk();
            let children: Vec<_> = p.children(&mut cursor).collect();
            let name = children
                .iter()
                .find(|c| c.kind() == "variable")
                .map(|v| text_of(*v, text).trim_start_matches('$').to_lowercase())
                .expect("a parameter has a name");
            let types = children
                .iter()
                .find(|c| c.kind() == "attribute_list")
                .map(|a| text_of(*a, text).to_lowercase())
                .unwrap_or_default();
            (name, types)
        })
        .collect()
}

/// The switch and the window are declared, and every parameter has its help (and no help
/// names a parameter the script lacks).
#[test]
fn the_script_declares_the_log_parameters_and_documents_each_parameter() {
    let text = script();
    let tree = parse(&text);
    let declared = parameters(&tree, &text);
    for (name, kind) in [
        ("collectlogs", "[switch]"),
        ("logstart", "[datetime]"),
        ("logend", "[datetime]"),
    ] {
        assert!(
            declared.iter().any(|(n, t)| n == name && t.contains(kind)),
            "-{name} is not declared as {kind}: {declared:?}"
        );
    }
    let (help, _) = help_and_code(&text);
    let documented: Vec<String> = help
        .lines()
        .filter_map(|l| l.trim().strip_prefix(".PARAMETER "))
        .map(|n| n.trim().to_lowercase())
        .collect();
    for (name, _) in &declared {
        assert!(documented.contains(name), "-{name} has no .PARAMETER help");
    }
    for name in &documented {
        assert!(
            declared.iter().any(|(n, _)| n == name),
            ".PARAMETER {name} documents no parameter"
        );
    }
}

/// Everything that reads a server's files, or records logs in the manifest, runs only in the
/// body of `if ($CollectLogs)`: directly, or through functions only called from there. Without
/// the switch the script reads no log and the manifest has no `logs`.
#[test]
fn log_collection_runs_only_with_collect_logs() {
    let text = script();
    let tree = parse(&text);
    let commands = commands(&tree, &text);
    let reads_files = |c: &Command| {
        c.is("Copy-Item")
            || c.is("Get-ChildItem")
            || (c.is("New-Object") && c.args.first().is_some_and(|t| t.contains("FileStream")))
    };
    assert!(
        commands.iter().any(|c| c.is("Copy-Item")),
        "the script copies no log file"
    );
    // The functions that read files, or call one that does.
    let mut tainted: Vec<String> = Vec::new();
    loop {
        let more: Vec<String> = commands
            .iter()
            .filter(|c| reads_files(c) || tainted.contains(&c.name.to_lowercase()))
            .filter_map(|c| function_of(c.node, &text))
            .filter(|f| !tainted.contains(f))
            .collect();
        if more.is_empty() {
            break;
        }
        tainted.extend(more);
    }
    let manifest_logs = nodes(&tree).into_iter().filter(|n| {
        matches!(n.kind(), "element_access" | "member_access")
            && matches!(
                text_of(*n, &text).replace('"', "'").to_lowercase().as_str(),
                "$manifest['logs']" | "$manifest.logs"
            )
    });
    let sites: Vec<(String, tree_sitter::Node<'_>)> = commands
        .iter()
        .filter(|c| reads_files(c) || tainted.contains(&c.name.to_lowercase()))
        .map(|c| (c.name.clone(), c.node))
        .chain(manifest_logs.map(|n| (text_of(n, &text).to_owned(), n)))
        .filter(|(_, n)| function_of(*n, &text).is_none())
        .collect();
    assert!(
        sites.iter().any(|(name, _)| name.contains("manifest")),
        "the manifest never gets its `logs`"
    );
    assert!(
        sites.len() >= 2,
        "no log is collected from the script's body: {sites:?}",
        sites = sites.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    for (name, node) in &sites {
        assert!(
            under_collect_logs(*node, &text),
            "line {}: `{name}` runs without -CollectLogs",
            node.start_position().row + 1
        );
    }
}

/// Each variable's assignments (`$name = ...`, lowercase name), the right side as written.
fn assignments(tree: &tree_sitter::Tree, text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in nodes(tree) {
        if node.kind() != "assignment_expression" {
            continue;
        }
        let mut cursor = node.walk();
        let children: Vec<_> = node.children(&mut cursor).collect();
        if let [left, operator, right, ..] = children.as_slice()
            && text_of(*operator, text) == "="
        {
            out.entry(text_of(*left, text).trim().to_lowercase())
                .or_default()
                .push(text_of(*right, text).trim().to_owned());
        }
    }
    out
}

/// The first argument of `Join-Path BASE CHILD` (or of `(Join-Path BASE CHILD)`).
fn join_path_base(expr: &str) -> Option<&str> {
    let expr = expr.trim();
    let inner = expr
        .strip_prefix('(')
        .and_then(|e| e.strip_suffix(')'))
        .unwrap_or(expr);
    let rest = inner
        .get(..10)
        .filter(|p| p.eq_ignore_ascii_case("Join-Path "))
        .map(|_| inner[10..].trim_start())?;
    if rest.starts_with('(') {
        let mut depth = 0;
        for (i, ch) in rest.char_indices() {
            depth += match ch {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            if depth == 0 {
                return Some(&rest[..=i]);
            }
        }
        return None;
    }
    rest.split_whitespace().next()
}

/// Ok when a path expression lies in the output folder: it is `$folder` or `$OutputFolder`, or
/// a `Join-Path` onto a path that does, through every assignment of each variable on the way.
fn in_output_folder(
    expr: &str,
    assigned: &BTreeMap<String, Vec<String>>,
    depth: usize,
) -> Result<(), String> {
    let expr = expr.trim();
    if depth > 16 {
        return Err(format!("`{expr}`: too deep"));
    }
    let lower = expr.to_lowercase();
    if lower == "$folder" || lower == "$outputfolder" {
        return Ok(());
    }
    if let Some(base) = join_path_base(expr) {
        return in_output_folder(base, assigned, depth + 1);
    }
    let is_variable = expr.starts_with('$')
        && expr[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_variable {
        return Err(format!(
            "`{expr}` is not a Join-Path onto the output folder"
        ));
    }
    let rights = assigned
        .get(&lower)
        .ok_or_else(|| format!("{expr} is never assigned"))?;
    for right in rights {
        let base = join_path_base(right)
            .ok_or_else(|| format!("{expr} = {right}: not a Join-Path onto the output folder"))?;
        in_output_folder(base, assigned, depth + 1)
            .map_err(|e| format!("{expr} = {right}: {e}"))?;
    }
    Ok(())
}

/// READ-ONLY: the script runs only commands that read (Get-*, Test-Path, ...) or write into the
/// output folder. Copy-Item, New-Item (directories only) and the stream a log file is copied
/// into write under the output folder; the stream a server's file is read through is opened
/// to read; Remove-Item and Move-Item appear only in Write-Utf8, which replaces a file of the
/// export by its new version. No Set-*, Remove-*, Move-*, Clear-*, New-* or any other command.
#[test]
fn the_script_changes_nothing_and_writes_only_into_the_output_folder() {
    let text = script();
    let tree = parse(&text);
    let assigned = assignments(&tree, &text);
    assert_eq!(
        assigned.get("$folder"),
        Some(&vec!["(Resolve-Path $OutputFolder).Path".to_owned()]),
        "$folder is the output folder"
    );
    let functions: Vec<String> = nodes(&tree)
        .into_iter()
        .filter(|n| n.kind() == "function_name")
        .map(|n| text_of(n, &text).to_lowercase())
        .collect();
    let commands = commands(&tree, &text);
    for c in &commands {
        let name = c.name.to_lowercase();
        let line = c.node.start_position().row + 1;
        let in_output = |expr: Option<&str>| {
            let expr = expr.unwrap_or_else(|| panic!("line {line}: `{}` names no path", c.name));
            if let Err(e) = in_output_folder(expr, &assigned, 0) {
                panic!(
                    "line {line}: `{}` may write outside the output folder: {e}",
                    c.name
                );
            }
        };
        match name.as_str() {
            n if n.starts_with("get-") || functions.iter().any(|f| f == n) => {}
            "join-path" | "resolve-path" | "test-path" | "write-host" | "write-warning"
            | "out-null" | "where-object" | "foreach-object" | "select-object" | "sort-object"
            | "convertto-json" | "set-strictmode" => {}
            "copy-item" => in_output(c.arg("-Destination")),
            "new-item" => {
                assert_eq!(
                    c.arg("-ItemType"),
                    Some("Directory"),
                    "line {line}: New-Item makes folders only"
                );
                in_output(c.arg("-Path"));
            }
            "new-object" => match c.args.first().map(String::as_str) {
                Some("System.Text.UTF8Encoding" | "System.Collections.ArrayList") => {}
                Some("System.IO.FileStream") => {
                    let list = c.arg("-ArgumentList").expect("a FileStream's arguments");
                    let (path, rest) = list.split_once(',').expect("a path, then the mode");
                    let reads = rest.contains("([System.IO.FileMode]::Open)")
                        && rest.contains("([System.IO.FileAccess]::Read)");
                    if !reads {
                        in_output(Some(path));
                    }
                }
                other => panic!("line {line}: New-Object {other:?} is not expected"),
            },
            "remove-item" | "move-item" => assert_eq!(
                function_of(c.node, &text).as_deref(),
                Some("write-utf8"),
                "line {line}: `{}` outside Write-Utf8",
                c.name
            ),
            _ => panic!(
                "line {line}: `{}` is not among the read-only commands the script may run",
                c.name
            ),
        }
    }
    // Nor through .NET: of System.IO, only the enums a stream is opened with, and the text
    // Write-Utf8 writes.
    for node in nodes(&tree) {
        if !matches!(node.kind(), "member_access" | "invokation_expression") {
            continue;
        }
        let called = text_of(node, &text)
            .split('(')
            .next()
            .unwrap_or_default()
            .trim();
        let lower = called.to_lowercase();
        if !lower.starts_with("[system.io.") && !lower.starts_with("[io.") {
            continue;
        }
        let allowed = [
            "[System.IO.FileMode]::",
            "[System.IO.FileAccess]::",
            "[System.IO.FileShare]::",
        ]
        .iter()
        .any(|p| called.starts_with(p))
            || (called == "[System.IO.File]::WriteAllText"
                && function_of(node, &text).as_deref() == Some("write-utf8"));
        assert!(
            allowed,
            "line {}: `{called}`",
            node.start_position().row + 1
        );
    }
    // Write-Utf8 replaces files of the export only.
    for c in commands.iter().filter(|c| c.is("Write-Utf8")) {
        let path = c.args.first().expect("Write-Utf8's path");
        if let Err(e) = in_output_folder(path, &assigned, 0) {
            panic!("Write-Utf8 {path}: {e}");
        }
    }
    assert!(
        commands.iter().any(|c| c.is("Copy-Item")),
        "nothing is copied"
    );
}

/// The help no longer promises unconditionally that no log is read: it says what -CollectLogs
/// copies, that the files hold addresses and subjects, that `tlsflow logs --redact` reads them
/// without showing those, that Edge servers are not reached, and shows the example.
#[test]
fn the_help_says_what_collect_logs_copies() {
    let text = script();
    let (help, _) = help_and_code(&text);
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        !flat.contains("No message, subject, body, attachment or tracking log is read."),
        "the help still says unconditionally that no tracking log is read"
    );
    for needle in [
        "WITHOUT -CollectLogs, THIS SCRIPT EXPORTS NO MESSAGE CONTENT.",
        "Without -CollectLogs no message, subject, body, attachment, tracking log or protocol log is read.",
        "THESE LOG FILES HOLD SENDER AND RECIPIENT ADDRESSES, MESSAGE SUBJECTS",
        "`tlsflow logs --redact`",
        "Edge Transport servers are not reached",
        "ProtocolLoggingLevel is Verbose",
        "IntraOrgConnectorProtocolLoggingLevel is Verbose",
        ".\\Export-TlsflowInventory.ps1 -OutputFolder C:\\Temp\\tlsflow-export -CollectLogs -LogStart (Get-Date).AddDays(-7) tlsflow logs C:\\Temp\\tlsflow-export\\logs --topology topology.yaml",
        "logs\\SERVER\\MessageTracking\\",
        "logs\\SERVER\\SmtpSend\\",
        "logs\\SERVER\\FrontEnd-SmtpSend\\",
    ] {
        assert!(flat.contains(needle), "the help lacks `{needle}`");
    }
}

/// The promises of the help on logs, each in the code: the window refused when empty, the
/// files taken (MSGTRK, MSGTRKMS, MSGTRKMD, SEND) from the folders the services are configured
/// with, read through the administrative share, each copy stopping on its error, a failed
/// server recorded and the exit code 1, the connectors that do not log said.
#[test]
fn the_script_keeps_the_promises_of_its_help_on_logs() {
    let text = script();
    for needle in [
        "} elseif ($logStartUtc -ge $logEndUtc) {",
        "$logStartUtc = $logEndUtc.AddHours(-24)",
        "$trackingPattern = '^MSGTRK(MS|MD)?\\d{8}-\\d+\\.LOG$'",
        "$sendPattern = '^SEND\\d{8}-\\d+\\.LOG$'",
        "if ($File.LastWriteTimeUtc -lt $logStartUtc) { return $false }",
        "return ($began -le $logEndUtc)",
        "\"$($service.MessageTrackingLogPath)\"",
        "\"$($service.SendProtocolLogPath)\"",
        "$frontendOf[$serverName]",
        "$root = '\\\\{0}\\{1}$' -f $HostName, $Matches[1].ToUpperInvariant()",
        "Copy-Item -LiteralPath $file.FullName -Destination $target -ErrorAction Stop",
        "$entry.status = 'failed'",
        "$script:logFailures++",
        "if ($script:logFailures -gt 0) {",
        "ConvertTo-PlainValue $connector.ProtocolLoggingLevel",
        "ConvertTo-PlainValue $service.IntraOrgConnectorProtocolLoggingLevel",
        "[void] $logs.notVerbose.Add($name)",
    ] {
        assert!(text.contains(needle), "the script lost `{needle}`");
    }
    // A failed server ends in exit 1, as a failed cmdlet does.
    let tail = &text[text
        .find("if ($script:logFailures -gt 0) {")
        .expect("checked")..];
    let exit = tail
        .find("exit 1")
        .expect("an exit 1 after the log failures");
    assert!(
        tail[..exit].contains("$failed = $true") && !tail[..exit].contains("Write-Host \"Done."),
        "the log failures do not reach `exit 1`"
    );
}

/// An export made with -CollectLogs still imports: the importer takes a manifest with its
/// `logs` (the keys the script writes) and a `logs` folder beside the JSON files, and imports
/// the same topology as without them.
#[test]
fn an_export_with_logs_imports_as_one_without() {
    let text = script();
    let logs = serde_json::json!({
        "start": "2026-11-29T09:15:02Z",
        "end": "2026-11-30T09:15:02Z",
        "notVerbose": ["intra-organization Send connector of EX01"],
        "servers": [{
            "server": "EX01",
            "trackingFiles": 1,
            "smtpSendFiles": 0,
            "frontendSmtpSendFiles": 0,
            "bytes": 42,
            "missing": ["SmtpSend (\\\\ex01.solo.lab\\C$\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs\\Hub\\ProtocolLog\\SmtpSend)"],
            "status": "ok",
            "error": null
        }]
    });
    // The keys are the script's: a key renamed there must be renamed here.
    let mut keys: Vec<&String> = logs.as_object().expect("an object").keys().collect();
    keys.extend(logs["servers"][0].as_object().expect("an object").keys());
    for key in keys {
        let written = text
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{key} ")) && l.contains(" = "));
        assert!(
            written,
            "the script writes no `{key}` into manifest.json's logs"
        );
    }

    let source = crate::support::data("import/solo-lab-names");
    let dir = tempfile::tempdir().expect("a temp dir");
    let export = dir.path().join("export");
    std::fs::create_dir(&export).expect("created");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&source).expect("the fixture") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let mut bytes = std::fs::read(&path).expect("readable");
        if name == "manifest.json" {
            let mut manifest: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
            manifest["logs"] = logs.clone();
            bytes = serde_json::to_vec_pretty(&manifest).expect("JSON");
        }
        std::fs::write(export.join(&name), &bytes).expect("written");
        files.insert(name, std::fs::read(&path).expect("readable"));
    }
    let tracking = export.join("logs").join("EX01").join("MessageTracking");
    std::fs::create_dir_all(&tracking).expect("created");
    std::fs::write(
        tracking.join("MSGTRK20261130-1.LOG"),
        "#Software: Microsoft Exchange Server\r\n#Log-type: Message Tracking Log\r\n",
    )
    .expect("written");

    let out = dir.path().join("topology.yaml");
    tlsflow()
        .args(["import", "exchange"])
        .arg(&export)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let without = import::exchange("export", &files).expect("the fixture imports");
    assert_eq!(
        std::fs::read_to_string(&out).expect("written"),
        without.yaml
    );
}
