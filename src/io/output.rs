//! Writers of labelled records: JSON Lines, CSV, TSV and a terminal table.
//!
//! A JSON Lines record looks like this (fields passed through from the input
//! come first; `scores` holds every class's probability):
//!
//! ```text
//! {"source":"a.txt","paragraph":1,"line":1,"text":"…","theme":"energy","theme_confidence":0.91,
//!  "stance":"aligned","stance_confidence":0.77,"scores":{"theme":{…},"stance":{…}}}
//! ```
//!
//! A row that could not be read is written as `{"source","line","error"}`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::io::input::InputRecord;
use crate::model::{Contribution, Labels};

/// Format of labelling output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// JSON Lines, one object per paragraph.
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// Aligned columns for a terminal.
    Table,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jsonl" | "ndjson" => Ok(OutputFormat::Jsonl),
            "csv" => Ok(OutputFormat::Csv),
            "tsv" => Ok(OutputFormat::Tsv),
            "table" => Ok(OutputFormat::Table),
            _ => Err(format!(
                "unknown output format `{s}` (expected jsonl, csv, tsv or table)"
            )),
        }
    }
}

/// A paragraph's outcome: its labels (and explanation), or why it was skipped.
#[derive(Debug)]
pub enum Outcome {
    /// Labelled, with per-head explanations when asked for.
    Labelled(Labels, Option<Vec<Vec<Contribution>>>),
    /// Could not be read; the message names the problem.
    Skipped(String),
}

/// A labelled (or skipped) paragraph ready to be written.
#[derive(Debug)]
pub struct Row {
    /// The input, or for skipped rows a record with only source and line.
    pub input: InputRecord,
    /// What happened to it.
    pub outcome: Outcome,
}

/// A confidence-weighted share of each class per head over one document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    /// Number of paragraphs labelled.
    pub paragraphs: u64,
    /// Head → class → summed probability (divide by `paragraphs` for shares).
    pub mass: BTreeMap<Arc<str>, BTreeMap<Arc<str>, f64>>,
}

impl Rollup {
    /// Adds one paragraph's class probabilities.
    pub fn add(&mut self, labels: &Labels) {
        self.paragraphs += 1;
        for head in &labels.heads {
            let classes = self.mass.entry(head.head.clone()).or_default();
            for (class, p) in &head.scores {
                *classes.entry(class.clone()).or_insert(0.0) += f64::from(*p);
            }
        }
    }

    /// Share per class per head: probabilities summed over paragraphs and
    /// divided by the paragraph count, so each head's shares sum to 1.
    pub fn shares(&self) -> BTreeMap<Arc<str>, BTreeMap<Arc<str>, f64>> {
        let n = self.paragraphs.max(1) as f64;
        self.mass
            .iter()
            .map(|(head, classes)| {
                (
                    head.clone(),
                    classes.iter().map(|(c, m)| (c.clone(), m / n)).collect(),
                )
            })
            .collect()
    }
}

/// Writes rows in one format; call [`RowWriter::finish`] at the end.
pub struct RowWriter<W: Write> {
    out: W,
    format: OutputFormat,
    /// Columns of CSV/TSV output, fixed by the first row written.
    columns: Option<Columns>,
    line: Vec<u8>,
}

#[derive(Debug)]
struct Columns {
    fields: Vec<String>,
    heads: Vec<(Arc<str>, Vec<Arc<str>>)>,
}

fn round4(v: f32) -> f64 {
    (f64::from(v) * 10_000.0).round() / 10_000.0
}

impl<W: Write> RowWriter<W> {
    /// A writer of `format` into `out`.
    pub fn new(out: W, format: OutputFormat) -> Self {
        RowWriter {
            out,
            format,
            columns: None,
            line: Vec::with_capacity(1024),
        }
    }

    /// Writes one row.
    pub fn write(&mut self, row: &Row) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Jsonl => self.write_json(row),
            OutputFormat::Csv => self.write_delimited(row, b','),
            OutputFormat::Tsv => self.write_delimited(row, b'\t'),
            OutputFormat::Table => self.write_table(row),
        }
    }

    /// Writes a document roll-up record (JSON Lines and table only; CSV/TSV
    /// rows have a fixed shape, so roll-ups go to a separate JSON file there).
    pub fn write_rollup(&mut self, source: &str, rollup: &Rollup) -> std::io::Result<()> {
        let shares: Map<String, Value> = rollup
            .shares()
            .into_iter()
            .map(|(head, classes)| {
                let classes: Map<String, Value> = classes
                    .into_iter()
                    .map(|(c, s)| {
                        (
                            c.to_string(),
                            Value::from((s * 10_000.0).round() / 10_000.0),
                        )
                    })
                    .collect();
                (head.to_string(), Value::Object(classes))
            })
            .collect();
        match self.format {
            OutputFormat::Table => {
                writeln!(self.out, "== {source}: {} paragraphs", rollup.paragraphs)?;
                for (head, classes) in &shares {
                    let parts: Vec<String> = classes
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(c, s)| format!("{c} {:.0}%", s.as_f64().unwrap_or(0.0) * 100.0))
                        .collect();
                    writeln!(self.out, "   {head}: {}", parts.join(", "))?;
                }
                Ok(())
            }
            _ => {
                let record = serde_json::json!({"source": source, "rollup": true, "paragraphs": rollup.paragraphs, "shares": shares});
                serde_json::to_writer(&mut self.out, &record)?;
                self.out.write_all(b"\n")
            }
        }
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn write_json(&mut self, row: &Row) -> std::io::Result<()> {
        let mut record = Map::new();
        record.insert("source".into(), Value::from(row.input.source.as_ref()));
        match &row.outcome {
            Outcome::Skipped(message) => {
                record.insert("line".into(), Value::from(row.input.line));
                record.insert("error".into(), Value::from(message.as_str()));
            }
            Outcome::Labelled(labels, explanation) => {
                record.insert("paragraph".into(), Value::from(row.input.paragraph));
                record.insert("line".into(), Value::from(row.input.line));
                for (k, v) in &row.input.fields {
                    record.insert(k.clone(), v.clone());
                }
                record.insert("text".into(), Value::from(row.input.text.as_str()));
                let mut scores = Map::new();
                for head in &labels.heads {
                    record.insert(head.head.to_string(), Value::from(head.label.as_ref()));
                    record.insert(
                        format!("{}_confidence", head.head),
                        Value::from(round4(head.confidence)),
                    );
                    let classes: Map<String, Value> = head
                        .scores
                        .iter()
                        .map(|(c, p)| (c.to_string(), Value::from(round4(*p))))
                        .collect();
                    scores.insert(head.head.to_string(), Value::Object(classes));
                }
                record.insert("scores".into(), Value::Object(scores));
                if let Some(explanation) = explanation {
                    let explain: Map<String, Value> = labels
                        .heads
                        .iter()
                        .zip(explanation)
                        .map(|(head, terms)| {
                            let terms: Vec<Value> = terms
                                .iter()
                                .map(|c| serde_json::json!({"text": c.text, "feature": c.feature, "weight": round4(c.weight)}))
                                .collect();
                            (head.head.to_string(), Value::Array(terms))
                        })
                        .collect();
                    record.insert("explain".into(), Value::Object(explain));
                }
            }
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, &Value::Object(record))?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    fn write_delimited(&mut self, row: &Row, delimiter: u8) -> std::io::Result<()> {
        if self.columns.is_none() {
            let Outcome::Labelled(labels, _) = &row.outcome else {
                // Columns come from the first labelled row; a skipped row
                // before it is still written, as source/line/error.
                return self.write_error_line(row, delimiter);
            };
            let columns = Columns {
                fields: row.input.fields.keys().cloned().collect(),
                heads: labels
                    .heads
                    .iter()
                    .map(|h| {
                        (
                            h.head.clone(),
                            h.scores.iter().map(|(c, _)| c.clone()).collect(),
                        )
                    })
                    .collect(),
            };
            let mut header: Vec<String> = vec!["source".into(), "paragraph".into(), "line".into()];
            header.extend(columns.fields.iter().cloned());
            header.push("text".into());
            for (head, classes) in &columns.heads {
                header.push(head.to_string());
                header.push(format!("{head}_confidence"));
                header.extend(classes.iter().map(|c| format!("{head}:{c}")));
            }
            header.push("error".into());
            self.columns = Some(columns);
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            self.write_cells(&header, delimiter)?;
        }
        match &row.outcome {
            Outcome::Skipped(_) => self.write_error_line(row, delimiter),
            Outcome::Labelled(labels, _) => {
                let columns = self.columns.as_ref().expect("set above");
                let mut cells: Vec<String> = vec![
                    row.input.source.to_string(),
                    row.input.paragraph.to_string(),
                    row.input.line.to_string(),
                ];
                for field in &columns.fields {
                    cells.push(match row.input.fields.get(field) {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                    });
                }
                cells.push(row.input.text.clone());
                for (head, classes) in &columns.heads {
                    let answer = labels.get(head);
                    cells.push(answer.map_or(String::new(), |a| a.label.to_string()));
                    cells.push(answer.map_or(String::new(), |a| round4(a.confidence).to_string()));
                    for class in classes {
                        let p = answer
                            .and_then(|a| a.scores.iter().find(|(c, _)| c == class))
                            .map(|(_, p)| *p);
                        cells.push(p.map_or(String::new(), |p| round4(p).to_string()));
                    }
                }
                cells.push(String::new());
                let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
                self.write_cells(&cells, delimiter)
            }
        }
    }

    fn write_error_line(&mut self, row: &Row, delimiter: u8) -> std::io::Result<()> {
        let Outcome::Skipped(message) = &row.outcome else {
            return Ok(());
        };
        let width = self.columns.as_ref().map_or(0, |c| {
            4 + c.fields.len() + c.heads.iter().map(|(_, cl)| 2 + cl.len()).sum::<usize>()
        });
        let mut cells = vec![
            row.input.source.to_string(),
            String::new(),
            row.input.line.to_string(),
        ];
        cells.resize(width.max(3), String::new());
        cells.push(message.clone());
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        self.write_cells(&cells, delimiter)
    }

    fn write_cells(&mut self, cells: &[&str], delimiter: u8) -> std::io::Result<()> {
        self.line.clear();
        {
            let mut writer = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .has_headers(false)
                .from_writer(&mut self.line);
            writer.write_record(cells).map_err(std::io::Error::other)?;
            writer.flush()?;
        }
        self.out.write_all(&self.line)
    }

    fn write_table(&mut self, row: &Row) -> std::io::Result<()> {
        match &row.outcome {
            Outcome::Skipped(message) => writeln!(
                self.out,
                "{}:{}: skipped: {message}",
                row.input.source, row.input.line
            ),
            Outcome::Labelled(labels, explanation) => {
                let mut cells = Vec::new();
                for head in &labels.heads {
                    cells.push(format!(
                        "{:<11} {:>3.0}%",
                        head.label.as_ref(),
                        head.confidence * 100.0
                    ));
                }
                let text: String = row.input.text.chars().take(72).collect();
                let ellipsis = if row.input.text.chars().count() > 72 {
                    "…"
                } else {
                    ""
                };
                writeln!(
                    self.out,
                    "{:>5}  {}  {text}{ellipsis}",
                    row.input.paragraph,
                    cells.join("  ")
                )?;
                if let Some(explanation) = explanation {
                    for (head, terms) in labels.heads.iter().zip(explanation) {
                        let parts: Vec<String> = terms
                            .iter()
                            .map(|c| {
                                format!(
                                    "{} ({:+.2})",
                                    if c.text.is_empty() {
                                        &c.feature
                                    } else {
                                        &c.text
                                    },
                                    c.weight
                                )
                            })
                            .collect();
                        writeln!(self.out, "       {}: {}", head.head, parts.join(", "))?;
                    }
                }
                Ok(())
            }
        }
    }
}
