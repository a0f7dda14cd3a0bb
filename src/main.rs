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
            let mut text = e.to_string();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            tlsflow::cli::write_stderr(&text);
            Exit::BadInput.into()
        }
    }
}
