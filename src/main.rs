//! The `vektor` command: parses arguments and hands each subcommand to the library.
//!
//! Exit codes: 0 success, 1 finished but some input rows were skipped,
//! 2 error. A closed output pipe (`vektor label … | head`) ends quietly with 0.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(status) => ExitCode::from(status),
        Err(err) if cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vektor: {err:#}");
            ExitCode::from(2)
        }
    }
}
