//! What `vektor label` shows on stderr while and after it runs.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use vektor::batch::{Counts, Progress};

/// Moves the bar to the bytes read and shows the paragraph rate.
pub fn show_progress(bar: &ProgressBar, started: Instant, p: Progress) {
    if !bar.is_hidden() {
        let seconds = started.elapsed().as_secs_f64().max(1e-3);
        bar.set_position(p.bytes_read);
        bar.set_message(format!(
            "{} paragraphs, {:.0} paragraphs/s",
            p.rows,
            p.rows as f64 / seconds
        ));
    }
}

/// The end-of-run line on stderr: counts, time, rate and where the output went.
pub fn report(output: Option<&Path>, counts: Counts, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    let skipped = match counts.skipped {
        0 => String::new(),
        n => format!(", skipped {n} bad rows"),
    };
    let destination = output.map_or("stdout".to_string(), |p| p.display().to_string());
    eprintln!(
        "vektor: labelled {} paragraphs{skipped} in {seconds:.2} s ({:.0} paragraphs/s) → {destination}",
        counts.labelled,
        (counts.labelled + counts.skipped) as f64 / seconds.max(1e-6),
    );
}

/// A progress bar on stderr when it is a terminal and the input size is known
/// (files, not stdin); hidden otherwise, so pipes and logs stay clean.
pub fn progress_bar(inputs: &[PathBuf], quiet: bool) -> ProgressBar {
    let from_stdin = inputs.iter().any(|p| p.as_os_str() == "-");
    if quiet || from_stdin || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let total: u64 = inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg} eta {eta}",
        )
        .expect("the progress template is valid"),
    );
    bar
}
