//! The invalid-input corpus: every file under `tests/data/invalid/` must be refused with a
//! located diagnostic (never a panic), and its rendered diagnostics are snapshotted.

use tlsflow::load;

#[test]
fn every_invalid_file_is_refused_with_a_located_diagnostic() {
    insta::glob!("../data/invalid", "*.yaml", |path| {
        let name = format!(
            "tests/data/invalid/{}",
            path.file_name().expect("a file").to_string_lossy()
        );
        let bytes = std::fs::read(path).expect("readable fixture");
        let failure = match load::source_from_bytes(
            &name,
            &bytes,
            path.parent().map(std::path::Path::to_path_buf),
        ) {
            Ok(source) => match load::topology_from_source(source) {
                Ok(_) => panic!("{name} loaded, but it is in the invalid corpus"),
                Err(failure) => failure,
            },
            Err(failure) => failure,
        };
        assert!(
            failure.diagnostics.iter().any(load::Diagnostic::is_error),
            "{name}: no error"
        );
        insta::assert_snapshot!(failure.render());
    });
}

/// What Exchange accepts, tlsflow accepts (issue 13): every file under `tests/data/accepted/`
/// loads with no error, reports exactly the warning its `# expect:` line names (or none for
/// `expect: nothing`), and its rendered diagnostics are snapshotted.
#[test]
fn every_accepted_file_loads_with_only_its_expected_warning() {
    insta::glob!("../data/accepted", "*.yaml", |path| {
        let name = format!(
            "tests/data/accepted/{}",
            path.file_name().expect("a file").to_string_lossy()
        );
        let text = std::fs::read_to_string(path).expect("readable fixture");
        let expected = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .and_then(|l| l.split_whitespace().next())
            .expect("an `# expect:` first line");
        let loaded = load::topology_from_source(load::SourceFile {
            name: name.clone(),
            text: text.clone(),
            base_dir: None,
        })
        .unwrap_or_else(|f| panic!("{name} is refused:\n{}", f.render()));
        let mut diagnostics = loaded.warnings.clone();
        diagnostics.extend(tlsflow::lint::lint(&loaded.topology, &name));
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.as_str()).collect();
        if expected == "nothing" {
            assert!(codes.is_empty(), "{name}: {codes:?}");
        } else {
            assert_eq!(codes, [expected], "{name}");
        }
        let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(&text)).collect();
        insta::assert_snapshot!(rendered.join("\n"));
    });
}
