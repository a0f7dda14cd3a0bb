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
