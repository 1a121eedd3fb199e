//! The `vektor` command: parses arguments and hands each subcommand to the library.
//!
//! Exit codes: 0 success, 1 finished but some input rows were skipped,
//! 2 error, 128 + the signal number when interrupted (130 for Ctrl-C, 143
//! for SIGTERM). A closed output pipe (`vektor label … | head`) ends quietly with 0.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    clean_up_on_signal();
    match cli::run(args) {
        Ok(status) => ExitCode::from(status),
        Err(err) if cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vektor: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// On SIGINT, SIGTERM or SIGHUP, removes the temporary files of outputs
/// being written and exits with 128 + the signal: exiting from a signal
/// runs no destructors, so they would otherwise stay behind.
fn clean_up_on_signal() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // Without the handler a signal still ends the run, only less tidily.
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            vektor::files::remove_partial_files();
            std::process::exit(128 + signal);
        }
    });
}
