//! `vektor label`: arguments for the batch engine ([`vektor::batch`]).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use vektor::batch::{label_records, BatchOptions, OnError as OnBadRow, Progress};
use vektor::files::{expand_paths, AtomicFile};
use vektor::io::input::{InputFormat, InputOptions, Records};
use vektor::io::output::{OutputFormat, RowWriter};
use vektor::text::ParagraphMode;

use super::progress::{progress_bar, report, show_progress};
use super::values::{input_formats, output_formats, parse_lang, trimmed, LangArg};
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
    /// Files or directories to label; `-` or nothing for stdin. Directories
    /// are searched recursively for *.txt, *.jsonl, *.ndjson, *.csv and *.tsv.
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    model: ModelArg,
    /// How plain text is cut into paragraphs.
    #[arg(long, value_enum, default_value = "line")]
    paragraphs: Paragraphs,
    /// Input format [default: from each file's extension; otherwise JSON Lines
    /// if the first line is a JSON object, else text].
    #[arg(long, value_parser = input_formats())]
    input_format: Option<InputFormat>,
    /// Field (JSON Lines) or column (CSV/TSV) holding the text.
    #[arg(long, alias = "text-column", default_value = "text")]
    text_field: String,
    /// Input fields to pass through [default: all].
    #[arg(long, value_delimiter = ',', value_parser = trimmed)]
    keep_fields: Option<Vec<String>>,
    /// Output format [default: from the -o file's extension, else jsonl].
    #[arg(long, short = 'f', value_parser = output_formats())]
    format: Option<OutputFormat>,
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
    /// Add one record per document (per input file) with its confidence-weighted class shares.
    #[arg(long)]
    rollup: bool,
    /// Roll up per value of FIELD (e.g. `url`, `article_id`) instead of per
    /// file; a document's rows must come one after another.
    #[arg(long, value_name = "FIELD")]
    rollup_by: Option<String>,
    /// Rows sharing FIELD's value (one after another) are one document:
    /// with a model trained with document context, a paragraph sees the
    /// actors named earlier in it. Each text file is one document anyway.
    #[arg(long, value_name = "FIELD")]
    doc_field: Option<String>,
    /// What to do with a row that cannot be read.
    #[arg(long, value_enum, default_value = "stop")]
    on_error: OnError,
    /// Language of the paragraphs: `auto` detects it per paragraph (English,
    /// Russian, or other: labelled `uncertain`); `en` or `ru` takes every
    /// paragraph to be in that language.
    #[arg(long, default_value = "auto", value_parser = parse_lang)]
    lang: LangArg,
    /// No progress bar or end-of-run summary on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub fn run(cmd: LabelCmd) -> Result<u8> {
    let model = cmd.model.load()?;
    if let Some(keep) = &cmd.keep_fields {
        for (flag, field) in [
            ("--rollup-by", &cmd.rollup_by),
            ("--doc-field", &cmd.doc_field),
        ] {
            if let Some(field) = field.as_ref().filter(|f| !keep.contains(f)) {
                bail!("{flag} {field} needs `{field}` among --keep-fields");
            }
        }
    }
    if cmd.doc_field.is_some() && !model.vectorizer().options().doc_context {
        eprintln!(
            "vektor: warning: --doc-field changes nothing: the model was trained without \
             document context (train with --doc-context on rows with a `doc` field)"
        );
    }
    let options = BatchOptions {
        threads: cmd.threads.unwrap_or(0),
        explain: cmd.explain,
        thresholds: thresholds_for(&model, &cmd.min_confidence)?,
        rollup: cmd.rollup,
        rollup_by: cmd.rollup_by.clone(),
        on_error: match cmd.on_error {
            OnError::Stop => OnBadRow::Stop,
            OnError::Skip => OnBadRow::Skip,
        },
        lang: cmd.lang.0,
        doc_field: cmd.doc_field.clone(),
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
    let format = cmd
        .format
        .or_else(|| cmd.output.as_deref().and_then(OutputFormat::from_path))
        .unwrap_or(OutputFormat::Jsonl);
    // Fields to keep get a CSV/TSV column even when the first row lacks them.
    let expected: Vec<String> = cmd
        .keep_fields
        .iter()
        .flatten()
        .filter(|f| **f != cmd.text_field)
        .cloned()
        .collect();
    let bar = progress_bar(&inputs, cmd.quiet);
    let started = std::time::Instant::now();
    let progress = |p: Progress| show_progress(&bar, started, p);
    let notice_bar = bar.clone();
    let records = Records::open(inputs, &input).on_notice(move |notice| {
        notice_bar.suspend(|| eprintln!("vektor: note: {notice}"));
    });
    let counts = match &cmd.output {
        Some(path) => {
            let mut file = AtomicFile::create(path)?;
            let sink = RowWriter::new(&mut file, format).expect_fields(&expected);
            let counts = label_records(&model, records, sink, &options, progress)?;
            file.commit()?;
            counts
        }
        None => {
            let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
            let sink = RowWriter::new(out, format).expect_fields(&expected);
            label_records(&model, records, sink, &options, progress)?
        }
    };
    bar.finish_and_clear();
    if !cmd.quiet {
        report(cmd.output.as_deref(), counts, started.elapsed());
    }
    Ok(if counts.skipped > 0 { 1 } else { 0 })
}
