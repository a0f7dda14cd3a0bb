//! Coverage-guided fuzzing of the topology loader: any bytes either load or are refused with a
//! located diagnostic, never a panic, a hang or an unbounded allocation. Run from the
//! repository root: `cargo +nightly fuzz run load_topology` (README, "Fuzzing the loader").

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match tlsflow::load::source_from_bytes("fuzz.yaml", data, None) {
        Ok(source) => {
            if let Err(failure) = tlsflow::load::topology_from_source(source) {
                assert!(!failure.diagnostics.is_empty(), "a refusal says why");
            }
        }
        Err(failure) => assert!(!failure.diagnostics.is_empty(), "a refusal says why"),
    }
});
