//! The `tlsflow` binary: parse the command line, run the library, map the outcome to an exit
//! code (SPEC §2). Everything else lives in the library.

use std::process::ExitCode;

use tlsflow::error::Exit;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        tlsflow::cli::write_stderr(&format!(
            "tlsflow: internal error (a bug, please report it with the input that caused it): {info}\n"
        ));
        std::process::exit(Exit::Internal as i32);
    }));
    tlsflow::cli::remove_temporaries_on_interrupt();
    match tlsflow::cli::run(std::env::args_os()) {
        Ok(exit) => exit.into(),
        Err(e) => {
            // Each line through `printable`: an error quoting a value from an input (a shard
            // of `merge`, an export) shows an escape sequence in it, never obeys it.
            let mut text = String::new();
            for line in e.to_string().lines() {
                text.push_str(&tlsflow::model::printable(line));
                text.push('\n');
            }
            tlsflow::cli::write_stderr(&text);
            Exit::BadInput.into()
        }
    }
}
