//! The batch engine: labels a stream of records on all cores and writes them
//! in input order, with memory flat whatever the input size.
//!
//! [`label_records`] takes a record source ([`Records`]) and a row sink
//! ([`RowWriter`]); `vektor label` is argument parsing plus one call to it.
//!
//! ```
//! use vektor::batch::{label_records, BatchOptions};
//! use vektor::io::input::{InputOptions, Records};
//! use vektor::io::output::{OutputFormat, RowWriter};
//!
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("crawl.jsonl");
//! # std::fs::write(&path, concat!(
//! #     r#"{"id":"a1","text":"Gazprom will raise gas supplies to Kazakhstan under a new deal."}"#, "\n",
//! #     r#"{"id":"a2","text":"Photo: press service"}"#, "\n"))?;
//! let model = vektor::shipped_model()?;
//! let records = Records::open(vec![path], &InputOptions::default());
//! let mut out = Vec::new();
//! let sink = RowWriter::new(&mut out, OutputFormat::Jsonl);
//! // All cores (threads: 0), rows written in input order.
//! let counts = label_records(&model, records, sink, &BatchOptions::default(), |_| {})?;
//! assert_eq!(counts.labelled, 2);
//! let text = String::from_utf8(out)?;
//! let ids: Vec<&str> = text.lines().map(|l| &l[l.find(r#""id":""#).unwrap() + 6..][..2]).collect();
//! assert_eq!(ids, ["a1", "a2"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::io::Write;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::{DocTracker, Mentions};
use crate::io::input::{doc_key, Batch, InputRecord, Records};
use crate::io::output::{render_jsonl, Outcome, OutputFormat, Rollup, Row, RowWriter};
use crate::labels::Labels;
use crate::model::{Labeler, LabelerPool, Model};
use crate::text::Lang;

/// What to do with a row that cannot be read (malformed JSON or CSV, missing
/// or empty text, invalid UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop at the first bad row, with its file and line.
    #[default]
    Stop,
    /// Write the bad row's location and reason as an error row and go on.
    Skip,
}

/// How [`label_records`] labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOptions {
    /// Worker threads; 0 means all cores.
    pub threads: usize,
    /// Add, per head, the K terms that pushed the label most.
    pub explain: Option<usize>,
    /// Head → confidence below which the label becomes `uncertain`.
    pub thresholds: BTreeMap<String, f32>,
    /// After each document, write its confidence-weighted class shares.
    pub rollup: bool,
    /// Roll up runs of rows of a source with the same value of this field
    /// (an article id or URL in a crawl) instead of whole sources; implies
    /// `rollup`. A document's rows must come one after another.
    pub rollup_by: Option<String>,
    /// What to do with a row that cannot be read.
    pub on_error: OnError,
    /// The language of every paragraph; `None` detects it per paragraph.
    pub lang: Option<Lang>,
    /// Rows of a source that share this field's value, one after another,
    /// form a document (an article id or URL in a crawl): with a model
    /// trained with document context, a paragraph sees the actors named
    /// earlier in its document. A plain-text source is one document without
    /// it; records without it stand alone.
    pub doc_field: Option<String>,
}

impl BatchOptions {
    /// Whether documents are rolled up (`rollup`, or `rollup_by` a field).
    pub fn rolls_up(&self) -> bool {
        self.rollup || self.rollup_by.is_some()
    }
}

/// How many rows [`label_records`] labelled and skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Paragraphs labelled.
    pub labelled: u64,
    /// Bad rows written as error rows (with [`OnError::Skip`]).
    pub skipped: u64,
}

/// Where a run is, reported after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of input read so far.
    pub bytes_read: u64,
    /// Rows labelled or skipped so far.
    pub rows: u64,
}

/// Labels `records` into `sink` on `options.threads` workers, in input order,
/// calling `progress` after each batch; returns the counts.
///
/// A fatal error (a bad row with [`OnError::Stop`], an unreadable file, a
/// failed write) ends the run after every row before it has been written.
pub fn label_records<W: Write + Send>(
    model: &Model,
    records: Records,
    sink: RowWriter<W>,
    options: &BatchOptions,
    progress: impl FnMut(Progress) + Send,
) -> Result<Counts> {
    if options.rolls_up() && matches!(sink.format(), OutputFormat::Csv | OutputFormat::Tsv) {
        return Err(Error::Option(
            "roll-ups need JSON Lines or table output: CSV and TSV rows have one fixed shape"
                .into(),
        ));
    }
    if let Some(head) = options
        .thresholds
        .keys()
        .find(|head| !model.heads().iter().any(|h| &h.name == *head))
    {
        let names: Vec<&str> = model.heads().iter().map(|h| h.name.as_str()).collect();
        return Err(Error::Option(format!(
            "a confidence threshold names head `{head}`, but the model has {}",
            names.join(", ")
        )));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(|e| Error::Option(format!("cannot start worker threads: {e}")))?;
    pool.install(|| Engine::new(model, options, sink).run(records, progress))
}

/// Rows labelled one after another on one worker: about a hundred, so that a
/// batch splits into enough pieces to keep every thread busy.
const PIECE: usize = 128;

/// Consecutive rows labelled on one worker, with their JSON Lines rendering
/// back to back in one buffer: no allocation and no separate write per row.
struct Piece<'m, 'a> {
    rows: Vec<Result<Done<'m, 'a>>>,
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
        /// The `rollup_by` field's value (with `rollup_by` only).
        group: Option<String>,
    },
}

impl<'m> Done<'m, '_> {
    fn rendered(row: Row<'m, '_>, options: &BatchOptions) -> Self {
        let group = options
            .rollup_by
            .as_deref()
            .map(|field| group_of(&row, field).to_string());
        match row.outcome {
            Outcome::Labelled(labels, _) => Done::Rendered {
                skipped: false,
                labels: options.rolls_up().then_some(labels),
                group,
            },
            Outcome::Skipped(_) => Done::Rendered {
                skipped: true,
                labels: None,
                group,
            },
        }
    }

    /// Whether the row was skipped, and its labels if it has them here.
    fn outcome(&self) -> (bool, Option<&Labels<'m>>) {
        match self {
            Done::Rendered {
                skipped, labels, ..
            } => (*skipped, labels.as_ref()),
            Done::Row(row) => match &row.outcome {
                Outcome::Labelled(labels, _) => (false, Some(labels)),
                Outcome::Skipped(_) => (true, None),
            },
        }
    }

    /// The row's value of the `rollup_by` field, as JSON text.
    fn group(&self, field: &str) -> &str {
        match self {
            Done::Rendered { group, .. } => group.as_deref().unwrap_or("null"),
            Done::Row(row) => group_of(row, field),
        }
    }
}

/// What the workers share: the options, one labeler per thread and the
/// rendering buffers.
struct Workers<'m, 'o> {
    options: &'o BatchOptions,
    labelers: LabelerPool<'m>,
    buffers: Buffers,
    /// JSON Lines rows are rendered on the workers, not by the writer.
    render: bool,
    /// The model was trained with document context.
    doc_context: bool,
}

/// One run's state: the workers, the sink, the counts and the document
/// being rolled up.
struct Engine<'m, 'o, W: Write> {
    workers: Workers<'m, 'o>,
    writer: RowWriter<W>,
    counts: Counts,
    /// The document being rolled up: where it is and its sums so far.
    rollup: Option<(Document, Rollup<'m>)>,
    /// The document being read, for document context.
    doc: DocTracker<(String, String)>,
}

/// A document rolled up: a source, or with `rollup_by` a run of its rows
/// with one value of the field.
struct Document {
    source: String,
    /// The field's value as JSON text, as read.
    group: Option<String>,
}

/// The value of `field` in a row as JSON text, `null` if it has none.
fn group_of<'r>(row: &'r Row, field: &str) -> &'r str {
    row.input
        .fields
        .iter()
        .find(|(k, _)| k == field)
        .map_or("null", |(_, v)| v.get())
}

impl<'m> Workers<'m, '_> {
    /// Parses, labels and (for JSON Lines) renders `batch` in pieces on the
    /// current rayon pool. A fatal row is kept in its place, for the writer
    /// to stop at.
    fn label_pieces<'a>(
        &self,
        batch: &'a mut Batch,
        doc: &mut DocTracker<(String, String)>,
    ) -> Vec<Piece<'m, 'a>> {
        let in_docs = self.doc_context && (batch.is_text() || self.options.doc_field.is_some());
        if !in_docs {
            return self.label_in_context(batch.par_records().map(|item| (item, Mentions::NONE)));
        }
        // A paragraph's context depends on the paragraphs before it: find
        // what each names in parallel, then the contexts in order, then
        // label in parallel (each paragraph is read twice, for the speed
        // of all cores).
        let source = batch.source().to_string();
        let source_is_one_doc = batch.is_text();
        let items: Vec<(Result<InputRecord<'a>>, Mentions)> = batch
            .par_records()
            .map(|item| {
                let named = match &item {
                    Ok(record) => self.labelers.with(|labeler| labeler.mentions(&record.text)),
                    Err(_) => Mentions::NONE,
                };
                (item, named)
            })
            .collect();
        let contexts: Vec<Mentions> = items
            .iter()
            .map(|(item, named)| {
                // A row that cannot be read is no paragraph of the document.
                let Ok(record) = item else {
                    return Mentions::NONE;
                };
                let key = match &self.options.doc_field {
                    _ if source_is_one_doc => Some(String::new()),
                    Some(field) => doc_key(&record.fields, field),
                    None => None,
                };
                doc.next(key.map(|k| (source.clone(), k)), *named)
            })
            .collect();
        self.label_in_context(
            items
                .into_par_iter()
                .zip(contexts)
                .map(|((item, _), context)| (item, context)),
        )
    }

    /// Labels rows, each with its document context, in pieces.
    fn label_in_context<'a>(
        &self,
        items: impl IndexedParallelIterator<Item = (Result<InputRecord<'a>>, Mentions)>,
    ) -> Vec<Piece<'m, 'a>> {
        items
            .chunks(PIECE)
            .map(|items| {
                let mut piece = Piece {
                    rows: Vec::with_capacity(items.len()),
                    rendered: self.buffers.take(),
                    ends: Vec::new(),
                };
                self.labelers.with(|labeler| {
                    for (item, context) in items {
                        let done = match to_row(labeler, item, context, self.options) {
                            Ok(row) if self.render => {
                                render_jsonl(&row, &mut piece.rendered);
                                piece.ends.push(piece.rendered.len());
                                Ok(Done::rendered(row, self.options))
                            }
                            Ok(row) => Ok(Done::Row(row)),
                            Err(e) => {
                                if self.render {
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
}

impl<'m, 'o, W: Write + Send> Engine<'m, 'o, W> {
    fn new(model: &'m Model, options: &'o BatchOptions, writer: RowWriter<W>) -> Self {
        Engine {
            workers: Workers {
                options,
                labelers: LabelerPool::new(model),
                buffers: Buffers::default(),
                render: writer.format() == OutputFormat::Jsonl,
                doc_context: model.vectorizer().options().doc_context,
            },
            writer,
            counts: Counts::default(),
            rollup: None,
            doc: DocTracker::default(),
        }
    }

    /// Reads, labels and writes `records` batch by batch, in input order.
    ///
    /// The workers parse, label and render a batch in pieces while one of
    /// them also reads the next batch (a task like the others, so no thread
    /// waits on a reader); then the pieces are written in order. With one
    /// thread the same steps run one after another on it, so `threads = 1`
    /// measures one core.
    fn run(mut self, mut records: Records, mut progress: impl FnMut(Progress)) -> Result<Counts> {
        let read = |records: &mut Records| {
            let batch = records.next_batch()?;
            Some((batch, records.bytes_read()))
        };
        let mut next = read(&mut records);
        while let Some((batch, bytes_read)) = next {
            let mut batch = batch?;
            let source = batch.source().to_string();
            let (workers, doc) = (&self.workers, &mut self.doc);
            let (following, pieces) = rayon::join(
                || read(&mut records),
                || workers.label_pieces(&mut batch, doc),
            );
            next = following;
            for piece in pieces {
                self.write_piece(piece, &source)?;
            }
            progress(Progress {
                bytes_read,
                rows: self.counts.labelled + self.counts.skipped,
            });
            records.recycle(batch);
        }
        if let Some((document, doc)) = self.rollup.take() {
            self.write_rollup(&document, &doc)?;
        }
        self.writer.finish().map_err(Error::Output)?;
        Ok(self.counts)
    }

    /// Writes one labelled piece in order, with the roll-ups of documents
    /// that end inside it; stops at a fatal row after writing the rows before it.
    fn write_piece(&mut self, piece: Piece<'m, '_>, source: &str) -> Result<()> {
        // Rendered rows not yet written, so that a piece is written in as
        // few calls as possible.
        let mut unwritten = 0;
        for (i, done) in piece.rows.into_iter().enumerate() {
            let done = match done {
                Ok(done) => done,
                Err(e) => {
                    // Rows before a fatal one are written first, so the
                    // output holds everything up to the line the error names.
                    if self.workers.render {
                        self.write_rendered(&piece.rendered[unwritten..piece.ends[i]])?;
                    }
                    return Err(e);
                }
            };
            let (skipped, labels) = done.outcome();
            if skipped {
                self.counts.skipped += 1;
            } else {
                self.counts.labelled += 1;
            }
            if let (true, Some(labels)) = (self.workers.options.rolls_up(), labels) {
                let group = self
                    .workers
                    .options
                    .rollup_by
                    .as_deref()
                    .map(|field| done.group(field));
                let same_doc = matches!(&self.rollup, Some((document, _))
                    if document.source == source && document.group.as_deref() == group);
                if !same_doc {
                    let group = group.map(str::to_string);
                    if let Some((document, doc)) = self.rollup.take() {
                        if self.workers.render {
                            let row_start = if i == 0 { 0 } else { piece.ends[i - 1] };
                            self.write_rendered(&piece.rendered[unwritten..row_start])?;
                            unwritten = row_start;
                        }
                        self.write_rollup(&document, &doc)?;
                    }
                    let document = Document {
                        source: source.to_string(),
                        group,
                    };
                    self.rollup = Some((document, Rollup::default()));
                }
                if let Some((_, doc)) = &mut self.rollup {
                    doc.add(labels);
                }
            }
            if let Done::Row(row) = &done {
                self.writer.write(row)?;
            }
        }
        if self.workers.render {
            self.write_rendered(&piece.rendered[unwritten..])?;
        }
        self.workers.buffers.give(piece.rendered);
        Ok(())
    }

    fn write_rollup(&mut self, document: &Document, doc: &Rollup) -> Result<()> {
        let written = match (&document.group, &self.workers.options.rollup_by) {
            (Some(value), Some(field)) => {
                self.writer
                    .write_rollup_by(&document.source, field, value, doc)
            }
            _ => self.writer.write_rollup(&document.source, doc),
        };
        written.map_err(Error::Output)
    }

    fn write_rendered(&mut self, rendered: &[u8]) -> Result<()> {
        self.writer.write_rendered(rendered).map_err(Error::Output)
    }
}

/// Labels one input item, or turns a bad row into a skipped row (with
/// [`OnError::Skip`]) or an error that stops the run.
fn to_row<'m, 'a>(
    labeler: &mut Labeler<'m>,
    item: Result<InputRecord<'a>>,
    context: Mentions,
    options: &BatchOptions,
) -> Result<Row<'m, 'a>> {
    let input = match item {
        Ok(input) => input,
        Err(Error::Parse {
            path,
            line,
            message,
        }) if options.on_error == OnError::Skip => {
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
    labeler.set_lang(options.lang);
    let (mut labels, explanation) = match options.explain {
        Some(k) => {
            let (labels, explanation) = labeler.explain_in_doc(&input.text, context, k);
            (labels, Some(explanation))
        }
        None => (labeler.label_in_doc(&input.text, context).0, None),
    };
    labels.abstain(&options.thresholds);
    Ok(Row {
        input,
        outcome: Outcome::Labelled(labels, explanation),
    })
}
