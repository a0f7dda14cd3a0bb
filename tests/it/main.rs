//! The one integration test binary (STYLE rule 11): data-driven tests of the loader, routing,
//! the TLS policy and the command line. Fixtures live under `tests/data/`.

mod check;
mod cli;
mod diagnostics;
mod diagram;
mod evidence;
mod generate;
mod hostile;
mod import;
mod logs;
mod profiles;
mod properties;
mod reports;
mod routing;
mod scenarios;
mod schema;
mod script;
mod simulate;
mod submission;
mod support;
