//! `vektor label`: stream paragraphs through the model in ordered parallel chunks.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use vektor::io::input::{expand_paths, Batch, InputFormat, InputOptions, InputRecord, Records};
use vektor::io::output::{render_jsonl, Outcome, OutputFormat, Rollup, Row, RowWriter};
use vektor::io::AtomicFile;
use vektor::text::ParagraphMode;
use vektor::{Labels, Model};

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

struct Counts {
    labelled: u64,
    skipped: u64,
}

pub fn run(cmd: LabelCmd) -> Result<u8> {
    let model = cmd.model.load()?;
    let thresholds = thresholds_for(&model, &cmd.min_confidence)?;
    if cmd.rollup && matches!(cmd.format, OutputFormat::Csv | OutputFormat::Tsv) {
        bail!("--rollup needs -f jsonl or -f table: CSV and TSV rows have one fixed shape");
    }
    let inputs = if cmd.inputs.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        expand_paths(&cmd.inputs)?
    };
    let options = InputOptions {
        format: cmd.input_format,
        paragraphs: match cmd.paragraphs {
            Paragraphs::Line => ParagraphMode::Line,
            Paragraphs::Blank => ParagraphMode::Blank,
        },
        text_field: cmd.text_field.clone(),
        keep_fields: cmd.keep_fields.clone(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cmd.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let progress = progress_bar(&inputs, cmd.quiet);
    let records = Records::open(inputs, &options);
    let counts = match &cmd.output {
        Some(path) => {
            let mut file = AtomicFile::create(path)?;
            let counts = pool.install(|| {
                label_stream(&model, records, &mut file, &cmd, &thresholds, &progress)
            })?;
            file.commit()?;
            counts
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
            pool.install(|| label_stream(&model, records, &mut out, &cmd, &thresholds, &progress))?
        }
    };
    progress.finish_and_clear();
    if !cmd.quiet {
        if counts.skipped > 0 {
            eprintln!(
                "vektor: labelled {} paragraphs, skipped {} bad rows",
                counts.labelled, counts.skipped
            );
        } else if cmd.output.is_some() {
            eprintln!("vektor: labelled {} paragraphs", counts.labelled);
        }
    }
    Ok(if counts.skipped > 0 { 1 } else { 0 })
}

/// Rows labelled one after another on one worker: about a hundred, so that a
/// batch splits into enough pieces to keep every thread busy.
const PIECE: usize = 128;

/// Consecutive rows labelled on one worker, with their JSON Lines rendering
/// back to back in one buffer: no allocation and no separate write per row.
struct Piece<'m, 'a> {
    rows: Vec<vektor::Result<Done<'m, 'a>>>,
    rendered: Vec<u8>,
    /// Where each row's rendering ends in `rendered` (JSON Lines output only).
    ends: Vec<usize>,
}

/// Rendering buffers given back by the writer, so that workers fill the
/// same memory again: fresh buffers for every batch cost page faults.
#[derive(Default)]
struct Buffers(std::sync::Mutex<Vec<Vec<u8>>>);

impl Buffers {
    fn take(&self) -> Vec<u8> {
        let mut free = self.0.lock().unwrap_or_else(|e| e.into_inner());
        free.pop().unwrap_or_default()
    }

    fn give(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(buffer);
    }
}

/// A labelled row as the writer gets it.
enum Done<'m, 'a> {
    /// To be written by the writer (CSV, TSV, table).
    Row(Row<'m, 'a>),
    /// Already rendered as JSON Lines; the rest of the row was dropped on the
    /// worker. Labels are kept only for the roll-up.
    Rendered {
        skipped: bool,
        labels: Option<Labels<'m>>,
    },
}

impl<'m> Done<'m, '_> {
    fn rendered(row: Row<'m, '_>, keep_labels: bool) -> Self {
        match row.outcome {
            Outcome::Labelled(labels, _) => Done::Rendered {
                skipped: false,
                labels: keep_labels.then_some(labels),
            },
            Outcome::Skipped(_) => Done::Rendered {
                skipped: true,
                labels: None,
            },
        }
    }

    /// Whether the row was skipped, and its labels if it has them here.
    fn outcome(&self) -> (bool, Option<&Labels<'m>>) {
        match self {
            Done::Rendered { skipped, labels } => (*skipped, labels.as_ref()),
            Done::Row(row) => match &row.outcome {
                Outcome::Labelled(labels, _) => (false, Some(labels)),
                Outcome::Skipped(_) => (true, None),
            },
        }
    }
}

/// Parses, labels and (for JSON Lines) renders `batch` in pieces on the
/// current rayon pool. A fatal row is kept in its place, for the writer to
/// stop at.
fn label_pieces<'m, 'a>(
    batch: &'a mut Batch,
    labelers: &vektor::model::LabelerPool<'m>,
    buffers: &Buffers,
    cmd: &LabelCmd,
    thresholds: &BTreeMap<String, f32>,
) -> Vec<Piece<'m, 'a>> {
    let render = cmd.format == OutputFormat::Jsonl;
    batch
        .par_records()
        .chunks(PIECE)
        .map(|items| {
            let mut piece = Piece {
                rows: Vec::with_capacity(items.len()),
                rendered: buffers.take(),
                ends: Vec::new(),
            };
            labelers.with(|labeler| {
                for item in items {
                    let done = match to_row(labeler, item, cmd, thresholds) {
                        Ok(row) if render => {
                            render_jsonl(&row, &mut piece.rendered);
                            piece.ends.push(piece.rendered.len());
                            Ok(Done::rendered(row, cmd.rollup))
                        }
                        Ok(row) => Ok(Done::Row(row)),
                        Err(e) => {
                            if render {
                                // A failed row renders nothing: it ends where it starts.
                                piece.ends.push(piece.rendered.len());
                            }
                            Err(e)
                        }
                    };
                    piece.rows.push(done);
                }
            });
            piece
        })
        .collect()
}

/// Reads, labels and writes `records` batch by batch, in input order.
///
/// The workers parse, label and render a batch in pieces while one of them
/// also reads the next batch (a task like the others, so no thread waits on
/// a reader); then the pieces are written in order. With one thread the
/// same steps run one after another on it, so `--threads 1` measures one core.
fn label_stream(
    model: &Model,
    mut records: Records,
    out: &mut dyn Write,
    cmd: &LabelCmd,
    thresholds: &BTreeMap<String, f32>,
    progress: &ProgressBar,
) -> Result<Counts> {
    let mut writer = RowWriter::new(out, cmd.format);
    let mut counts = Counts {
        labelled: 0,
        skipped: 0,
    };
    let mut rollup: Option<(String, Rollup)> = None;
    let labelers = vektor::model::LabelerPool::new(model);
    let buffers = Buffers::default();
    let render = cmd.format == OutputFormat::Jsonl;
    let started = std::time::Instant::now();
    let read = |records: &mut Records| {
        let batch = records.next_batch()?;
        Some((batch, records.bytes_read()))
    };
    let mut next = read(&mut records);
    while let Some((batch, bytes_read)) = next {
        let mut batch = batch?;
        let source = batch.source().to_string();
        let (following, pieces) = rayon::join(
            || read(&mut records),
            || label_pieces(&mut batch, &labelers, &buffers, cmd, thresholds),
        );
        next = following;
        for piece in pieces {
            // Rendered rows not yet written, so that a piece is written in
            // as few calls as possible.
            let mut unwritten = 0;
            for (i, done) in piece.rows.into_iter().enumerate() {
                let done = match done {
                    Ok(done) => done,
                    Err(e) => {
                        // Rows before a fatal one are written first, so
                        // stdout holds everything up to the line the error names.
                        if render {
                            writer.write_rendered(&piece.rendered[unwritten..piece.ends[i]])?;
                        }
                        return Err(e.into());
                    }
                };
                let (skipped, labels) = done.outcome();
                if skipped {
                    counts.skipped += 1;
                } else {
                    counts.labelled += 1;
                }
                if let (true, Some(labels)) = (cmd.rollup, labels) {
                    match &mut rollup {
                        Some((doc_source, doc)) if *doc_source == source => doc.add(labels),
                        _ => {
                            if let Some((doc_source, doc)) = rollup.take() {
                                if render {
                                    let row_start = if i == 0 { 0 } else { piece.ends[i - 1] };
                                    writer.write_rendered(&piece.rendered[unwritten..row_start])?;
                                    unwritten = row_start;
                                }
                                writer.write_rollup(&doc_source, &doc)?;
                            }
                            let mut doc = Rollup::default();
                            doc.add(labels);
                            rollup = Some((source.clone(), doc));
                        }
                    }
                }
                if let Done::Row(row) = &done {
                    writer.write(row)?;
                }
            }
            if render {
                writer.write_rendered(&piece.rendered[unwritten..])?;
            }
            buffers.give(piece.rendered);
        }
        if !progress.is_hidden() {
            let done = counts.labelled + counts.skipped;
            let seconds = started.elapsed().as_secs_f64().max(1e-3);
            progress.set_position(bytes_read);
            progress.set_message(format!(
                "{done} paragraphs, {:.0} paragraphs/s",
                done as f64 / seconds
            ));
        }
        records.recycle(batch);
    }
    if let Some((source, doc)) = rollup.take() {
        writer.write_rollup(&source, &doc)?;
    }
    writer.finish()?;
    Ok(counts)
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

/// Labels one input item, or turns a bad row into a skipped row (with
/// `--on-error skip`) or an error that stops the run.
fn to_row<'m, 'a>(
    labeler: &mut vektor::Labeler<'m>,
    item: vektor::Result<InputRecord<'a>>,
    cmd: &LabelCmd,
    thresholds: &BTreeMap<String, f32>,
) -> vektor::Result<Row<'m, 'a>> {
    let input = match item {
        Ok(input) => input,
        Err(vektor::Error::Parse {
            path,
            line,
            message,
        }) if cmd.on_error == OnError::Skip => {
            let input = InputRecord {
                source: path.display().to_string().into(),
                paragraph: 0,
                line,
                text: Default::default(),
                fields: Default::default(),
            };
            return Ok(Row {
                input,
                outcome: Outcome::Skipped(message),
            });
        }
        Err(e) => return Err(e),
    };
    let (mut labels, explanation) = match cmd.explain {
        Some(k) => {
            let (labels, explanation) = labeler.explain(&input.text, k);
            (labels, Some(explanation))
        }
        None => (labeler.label(&input.text), None),
    };
    labels.abstain(thresholds);
    Ok(Row {
        input,
        outcome: Outcome::Labelled(labels, explanation),
    })
}
