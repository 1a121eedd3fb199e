//! `vektor label`: arguments for the batch engine ([`vektor::batch`]).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use vektor::batch::{label_records, BatchOptions, Counts, OnError as OnBadRow, Progress};
use vektor::files::{expand_paths, AtomicFile};
use vektor::io::input::{InputFormat, InputOptions, Records};
use vektor::io::output::{OutputFormat, RowWriter};
use vektor::text::ParagraphMode;

use super::{parse_threshold, thresholds_for, ModelArg};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Paragraphs {
    /// Every non-blank line is a paragraph.
    Line,
    /// Blocks separated by blank lines (hard-wrapped text).
    Blank,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
enum OnError {
    /// Stop at the first bad row with its file and line (exit 2).
    Stop,
    /// Record the bad row's location and reason and go on (exit 1 at the end).
    Skip,
}

#[derive(Debug, Args)]
pub struct LabelCmd {
    /// Files or directories (*.txt, recursively) to label; `-` or nothing for stdin.
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    model: ModelArg,
    /// How plain text is cut into paragraphs.
    #[arg(long, value_enum, default_value = "line")]
    paragraphs: Paragraphs,
    /// Input format [default: from each file's extension; text for stdin].
    #[arg(long, value_parser = clap::value_parser!(InputFormat))]
    input_format: Option<InputFormat>,
    /// Field (JSON Lines) or column (CSV/TSV) holding the text.
    #[arg(long, alias = "text-column", default_value = "text")]
    text_field: String,
    /// Input fields to pass through [default: all].
    #[arg(long, value_delimiter = ',')]
    keep_fields: Option<Vec<String>>,
    /// Output format.
    #[arg(long, short = 'f', default_value = "jsonl", value_parser = clap::value_parser!(OutputFormat))]
    format: OutputFormat,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Add the K terms that pushed each head's label most.
    #[arg(long, value_name = "K")]
    explain: Option<usize>,
    /// Label `uncertain` below this confidence, per head: `stance=0.6,theme=0.5`.
    #[arg(long, value_delimiter = ',', value_parser = parse_threshold)]
    min_confidence: Vec<(String, f32)>,
    /// Add one record per document with its confidence-weighted class shares.
    #[arg(long)]
    rollup: bool,
    /// What to do with a row that cannot be read.
    #[arg(long, value_enum, default_value = "stop")]
    on_error: OnError,
    /// No progress or summary on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub fn run(cmd: LabelCmd) -> Result<u8> {
    let model = cmd.model.load()?;
    let options = BatchOptions {
        threads: cmd.threads.unwrap_or(0),
        explain: cmd.explain,
        thresholds: thresholds_for(&model, &cmd.min_confidence)?,
        rollup: cmd.rollup,
        on_error: match cmd.on_error {
            OnError::Stop => OnBadRow::Stop,
            OnError::Skip => OnBadRow::Skip,
        },
    };
    let inputs = if cmd.inputs.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        expand_paths(&cmd.inputs)?
    };
    let input = InputOptions {
        format: cmd.input_format,
        paragraphs: match cmd.paragraphs {
            Paragraphs::Line => ParagraphMode::Line,
            Paragraphs::Blank => ParagraphMode::Blank,
        },
        text_field: cmd.text_field.clone(),
        keep_fields: cmd.keep_fields.clone(),
    };
    let bar = progress_bar(&inputs, cmd.quiet);
    let started = std::time::Instant::now();
    let progress = |p: Progress| {
        if !bar.is_hidden() {
            let seconds = started.elapsed().as_secs_f64().max(1e-3);
            bar.set_position(p.bytes_read);
            bar.set_message(format!(
                "{} paragraphs, {:.0} paragraphs/s",
                p.rows,
                p.rows as f64 / seconds
            ));
        }
    };
    let records = Records::open(inputs, &input);
    let counts = match &cmd.output {
        Some(path) => {
            let mut file = AtomicFile::create(path)?;
            let sink = RowWriter::new(&mut file, cmd.format);
            let counts = label_records(&model, records, sink, &options, progress)?;
            file.commit()?;
            counts
        }
        None => {
            let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
            let sink = RowWriter::new(out, cmd.format);
            label_records(&model, records, sink, &options, progress)?
        }
    };
    bar.finish_and_clear();
    report(&cmd, counts);
    Ok(if counts.skipped > 0 { 1 } else { 0 })
}

/// The end-of-run line on stderr.
fn report(cmd: &LabelCmd, counts: Counts) {
    if cmd.quiet {
        return;
    }
    if counts.skipped > 0 {
        eprintln!(
            "vektor: labelled {} paragraphs, skipped {} bad rows",
            counts.labelled, counts.skipped
        );
    } else if cmd.output.is_some() {
        eprintln!("vektor: labelled {} paragraphs", counts.labelled);
    }
}

/// A progress bar on stderr when it is a terminal and the input size is known
/// (files, not stdin); hidden otherwise, so pipes and logs stay clean.
fn progress_bar(inputs: &[PathBuf], quiet: bool) -> ProgressBar {
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
