//! Writers of labelled records: JSON Lines, CSV, TSV and a terminal table.
//!
//! A JSON Lines record looks like this (fields passed through from the input
//! come first; `scores` holds every class's probability):
//!
//! ```text
//! {"source":"a.txt","paragraph":1,"line":1,"text":"…","lang":"en","theme":"energy","theme_confidence":0.91,
//!  "stance":"aligned","stance_confidence":0.77,"scores":{"theme":{…},"stance":{…}}}
//! ```
//!
//! A row that could not be read is written as `{"source","line","error"}`.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::io::input::InputRecord;
use crate::labels::{Contribution, Labels};

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
    fn from_str(s: &str) -> std::result::Result<Self, String> {
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

impl OutputFormat {
    /// The format an output file's name tells: `.csv`, `.tsv`/`.tab`,
    /// `.jsonl`/`.ndjson`/`.json`; `None` for any other name.
    pub fn from_path(path: &std::path::Path) -> Option<OutputFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson" | "json") => Some(OutputFormat::Jsonl),
            Some("csv") => Some(OutputFormat::Csv),
            Some("tsv" | "tab") => Some(OutputFormat::Tsv),
            _ => None,
        }
    }
}

/// A paragraph's outcome: its labels (and explanation), or why it was skipped.
#[derive(Debug)]
pub enum Outcome<'m> {
    /// Labelled, with per-head explanations when asked for.
    Labelled(Labels<'m>, Option<Vec<Vec<Contribution>>>),
    /// Could not be read; the message names the problem.
    Skipped(String),
}

/// A labelled (or skipped) paragraph ready to be written.
#[derive(Debug)]
pub struct Row<'m, 'a> {
    /// The input, or for skipped rows a record with only source and line.
    pub input: InputRecord<'a>,
    /// What happened to it.
    pub outcome: Outcome<'m>,
}

/// A confidence-weighted share of each class per head over one document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup<'m> {
    /// Number of paragraphs labelled.
    pub paragraphs: u64,
    /// Head → class → summed probability (divide by `paragraphs` for shares).
    pub mass: BTreeMap<&'m str, BTreeMap<&'m str, f64>>,
}

impl<'m> Rollup<'m> {
    /// Adds one paragraph's class probabilities.
    pub fn add(&mut self, labels: &Labels<'m>) {
        self.paragraphs += 1;
        for head in &labels.heads {
            let classes = self.mass.entry(head.head).or_default();
            for &(class, p) in &head.scores {
                *classes.entry(class).or_insert(0.0) += f64::from(p);
            }
        }
    }

    /// Share per class per head: probabilities summed over paragraphs and
    /// divided by the paragraph count, so each head's shares sum to 1.
    pub fn shares(&self) -> BTreeMap<&'m str, BTreeMap<&'m str, f64>> {
        let n = self.paragraphs.max(1) as f64;
        self.mass
            .iter()
            .map(|(head, classes)| (*head, classes.iter().map(|(c, m)| (*c, m / n)).collect()))
            .collect()
    }
}

/// Writes rows in one format; call [`RowWriter::finish`] at the end.
pub struct RowWriter<W: Write> {
    out: W,
    format: OutputFormat,
    /// Columns of CSV/TSV output, fixed by the first labelled row.
    columns: Option<Columns>,
    /// Skipped rows (source, line, reason) that came before the first
    /// labelled row, held back so that the header is written first.
    held_errors: Vec<(String, u64, String)>,
    /// Fields that get a CSV/TSV column even if the first row lacks them.
    expected_fields: Vec<String>,
    /// The source of the last table row, to name each new one.
    table_source: Option<String>,
    line: Vec<u8>,
}

#[derive(Debug)]
struct Columns {
    /// Passed-through input fields, and the names they get in the output.
    fields: Vec<String>,
    names: Vec<String>,
    heads: Vec<(String, Vec<String>)>,
    /// One `HEAD_explain` column per head (with `--explain`).
    explain: bool,
}

/// Appends one JSON Lines record to `line`, rendered by hand: this is the
/// hot path of `vektor label`, and building a `serde_json::Value` per row
/// would cost more than labelling the paragraph. It needs no writer state,
/// so rows can be rendered in parallel.
pub fn render_jsonl(row: &Row, line: &mut Vec<u8>) {
    line.extend_from_slice(b"{\"source\":");
    json_string(line, &row.input.source);
    match &row.outcome {
        Outcome::Skipped(message) => {
            line.extend_from_slice(b",\"line\":");
            json_integer(line, row.input.line);
            line.extend_from_slice(b",\"error\":");
            json_string(line, message);
        }
        Outcome::Labelled(labels, explanation) => {
            line.extend_from_slice(b",\"paragraph\":");
            json_integer(line, row.input.paragraph);
            line.extend_from_slice(b",\"line\":");
            json_integer(line, row.input.line);
            for (key, value) in &row.input.fields {
                line.push(b',');
                json_string(line, &output_key(key, labels));
                line.push(b':');
                line.extend_from_slice(value.get().as_bytes());
            }
            line.extend_from_slice(b",\"text\":");
            json_string(line, &row.input.text);
            line.extend_from_slice(b",\"lang\":\"");
            line.extend_from_slice(labels.lang.as_str().as_bytes());
            line.push(b'"');
            if let Some(reason) = labels.unreadable {
                line.extend_from_slice(b",\"uncertain_reason\":");
                json_string(line, reason);
            }
            for head in &labels.heads {
                line.push(b',');
                json_string(line, head.head);
                line.push(b':');
                json_string(line, head.label);
                line.push(b',');
                // `"theme"` → `"theme_confidence"` without a temporary string.
                json_string(line, head.head);
                line.pop();
                line.extend_from_slice(b"_confidence\":");
                json_probability(line, head.confidence);
            }
            line.extend_from_slice(b",\"scores\":{");
            for (h, head) in labels.heads.iter().enumerate() {
                if h > 0 {
                    line.push(b',');
                }
                json_string(line, head.head);
                line.extend_from_slice(b":{");
                for (c, (class, p)) in head.scores.iter().enumerate() {
                    if c > 0 {
                        line.push(b',');
                    }
                    json_string(line, class);
                    line.push(b':');
                    json_probability(line, *p);
                }
                line.push(b'}');
            }
            line.push(b'}');
            if let Some(explanation) = explanation {
                line.extend_from_slice(b",\"explain\":");
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
                serde_json::to_writer(&mut *line, &explain).expect("writing to a Vec cannot fail");
            }
        }
    }
    line.extend_from_slice(b"}\n");
}

/// The output name of a passed-through field: its own, or `input_<name>`
/// when vektor writes a field of that name itself (`text`, `theme`,
/// `theme_confidence` …), so that no record has a key twice.
pub fn output_key<'k>(key: &'k str, labels: &Labels) -> std::borrow::Cow<'k, str> {
    let reserved = [
        "source",
        "paragraph",
        "line",
        "text",
        "lang",
        "uncertain_reason",
        "scores",
        "explain",
        "error",
    ]
    .contains(&key)
        || labels.heads.iter().any(|h| {
            key.strip_prefix(h.head)
                .is_some_and(|rest| rest.is_empty() || rest == "_confidence")
        });
    if reserved {
        std::borrow::Cow::Owned(format!("input_{key}"))
    } else {
        std::borrow::Cow::Borrowed(key)
    }
}

/// Appends `s` as a JSON string, quoted and escaped as `serde_json` does,
/// in one pass: runs of plain bytes are copied whole.
#[inline]
fn json_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Names of heads and classes: short and plain, copied without a scan loop.
    if bytes.len() <= 16 && bytes.iter().all(|&b| ESCAPE[usize::from(b)] == 0) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    json_string_escaped(out, bytes);
}

/// [`json_string`] for any string: runs of plain bytes are copied whole.
fn json_string_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        out.extend_from_slice(&bytes[start..i]);
        let b = bytes[i];
        match ESCAPE[usize::from(b)] {
            b'u' => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xF)],
            ]),
            letter => out.extend_from_slice(&[b'\\', letter]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Per byte: 0 = copied as is, else the letter of its JSON escape (`u` for
/// the `\u00XX` form).
const ESCAPE: [u8; 256] = {
    let mut escape = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        escape[b] = b'u';
        b += 1;
    }
    escape[0x08] = b'b';
    escape[0x09] = b't';
    escape[0x0A] = b'n';
    escape[0x0C] = b'f';
    escape[0x0D] = b'r';
    escape[b'"' as usize] = b'"';
    escape[b'\\' as usize] = b'\\';
    escape
};

/// Index of the first byte at or after `from` that needs escaping. Text
/// rarely has one, so eight bytes are tested at a time (for a byte below
/// 0x20, a `"` or a `\\`) before the table finds the exact one.
#[inline]
fn next_escape(bytes: &[u8], mut from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = ONES * 0x80;
    // Exact as a yes/no answer: some byte of `v` is below `n` (n <= 0x80).
    let any_below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v & HIGHS != 0;
    while let Some(chunk) = bytes.get(from..from + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("an 8-byte chunk"));
        if any_below(x, 0x20)
            || any_below(x ^ (ONES * u64::from(b'"')), 1)
            || any_below(x ^ (ONES * u64::from(b'\\')), 1)
        {
            break;
        }
        from += 8;
    }
    bytes[from..]
        .iter()
        .position(|&b| ESCAPE[usize::from(b)] != 0)
        .map(|at| from + at)
}

/// Appends a probability rounded to four decimals, without trailing zeros.
fn json_probability(out: &mut Vec<u8>, p: f32) {
    // Rounds half away from zero, as `f64::round` does for these
    // non-negative values, without a call into libm.
    let n = ((f64::from(p) * 10_000.0 + 0.5) as u32).min(10_000);
    match n {
        0 => out.push(b'0'),
        10_000 => out.push(b'1'),
        _ => {
            let digits = [
                b'0' + (n / 1000) as u8,
                b'0' + (n / 100 % 10) as u8,
                b'0' + (n / 10 % 10) as u8,
                b'0' + (n % 10) as u8,
            ];
            let len = 4 - digits.iter().rev().take_while(|&&d| d == b'0').count();
            out.extend_from_slice(b"0.");
            out.extend_from_slice(&digits[..len]);
        }
    }
}

/// Appends `n` in decimal.
fn json_integer(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A passed-through value as a CSV cell or table text: a JSON string
/// becomes its text, `null` nothing, numbers, objects … their JSON.
fn cell_text(raw: &str) -> String {
    if raw == "null" {
        return String::new();
    }
    serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string())
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
            held_errors: Vec::new(),
            expected_fields: Vec::new(),
            table_source: None,
            line: Vec::with_capacity(1024),
        }
    }

    /// Fields that CSV/TSV output gives a column even if the first row
    /// lacks them (the fields to keep, without the text field): they follow
    /// the first row's fields. A later row with a field that has no column
    /// is refused ([`Error::Unwritable`]), never written without it.
    pub fn expect_fields(mut self, fields: &[String]) -> Self {
        self.expected_fields = fields.to_vec();
        self
    }

    /// The format this writer writes.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// Writes one row. In CSV/TSV, a row with a field that has no column
    /// (the columns are fixed by the header) is an [`Error::Unwritable`].
    pub fn write(&mut self, row: &Row) -> Result<()> {
        match self.format {
            OutputFormat::Jsonl => self.write_json(row).map_err(Error::Output),
            OutputFormat::Csv => self.write_delimited(row, b','),
            OutputFormat::Tsv => self.write_delimited(row, b'\t'),
            OutputFormat::Table => self.write_table(row).map_err(Error::Output),
        }
    }

    /// Writes a document roll-up record. JSON Lines and table only: CSV/TSV
    /// rows have a fixed shape (the CLI refuses `--rollup` with them).
    pub fn write_rollup(&mut self, source: &str, rollup: &Rollup) -> std::io::Result<()> {
        self.write_rollup_of(source, None, rollup)
    }

    /// Writes the roll-up of the rows of `source` whose `field` has `value`
    /// (JSON text, as read; `--rollup-by`): the record also carries the
    /// field and its value.
    pub fn write_rollup_by(
        &mut self,
        source: &str,
        field: &str,
        value: &str,
        rollup: &Rollup,
    ) -> std::io::Result<()> {
        self.write_rollup_of(source, Some((field, value)), rollup)
    }

    fn write_rollup_of(
        &mut self,
        source: &str,
        group: Option<(&str, &str)>,
        rollup: &Rollup,
    ) -> std::io::Result<()> {
        let shares = rollup.shares();
        match self.format {
            OutputFormat::Table => {
                let group = group.map_or(String::new(), |(field, value)| {
                    format!(" {field}={}", cell_text(value))
                });
                writeln!(
                    self.out,
                    "== {source}{group}: {} paragraphs",
                    rollup.paragraphs
                )?;
                for (head, classes) in &shares {
                    let parts: Vec<String> = classes
                        .iter()
                        .map(|(c, s)| format!("{c} {:.0}%", s * 100.0))
                        .collect();
                    writeln!(self.out, "   {head}: {}", parts.join(", "))?;
                }
                Ok(())
            }
            OutputFormat::Jsonl => {
                let shares: Map<String, Value> = shares
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
                let mut record = Map::new();
                record.insert("source".into(), Value::from(source));
                if let Some((field, value)) = group {
                    let key = if ["source", "rollup", "paragraphs", "shares"].contains(&field) {
                        format!("input_{field}")
                    } else {
                        field.to_string()
                    };
                    let value = serde_json::from_str(value).unwrap_or(Value::Null);
                    record.insert(key, value);
                }
                record.insert("rollup".into(), Value::Bool(true));
                record.insert("paragraphs".into(), Value::from(rollup.paragraphs));
                record.insert("shares".into(), Value::Object(shares));
                serde_json::to_writer(&mut self.out, &record)?;
                self.out.write_all(b"\n")
            }
            OutputFormat::Csv | OutputFormat::Tsv => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "document roll-ups are written only as JSON Lines or a table",
            )),
        }
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        if !self.held_errors.is_empty() {
            // Nothing was labelled, so the header has only the error columns.
            let delimiter = if self.format == OutputFormat::Tsv {
                b'\t'
            } else {
                b','
            };
            self.write_cells(&["source", "paragraph", "line", "error"], delimiter)?;
            for (source, line, message) in std::mem::take(&mut self.held_errors) {
                self.write_error_cells(&source, line, &message, delimiter)?;
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn write_json(&mut self, row: &Row) -> std::io::Result<()> {
        self.line.clear();
        render_jsonl(row, &mut self.line);
        self.out.write_all(&self.line)
    }

    /// Writes JSON Lines rows already rendered by [`render_jsonl`].
    pub fn write_rendered(&mut self, rendered: &[u8]) -> std::io::Result<()> {
        debug_assert_eq!(self.format, OutputFormat::Jsonl);
        self.out.write_all(rendered)
    }

    fn write_delimited(&mut self, row: &Row, delimiter: u8) -> Result<()> {
        if self.columns.is_none() {
            self.write_header(row, delimiter).map_err(Error::Output)?;
        }
        let Some(columns) = &self.columns else {
            // Held back until the first labelled row fixes the columns.
            return Ok(());
        };
        if let Some((field, _)) = row
            .input
            .fields
            .iter()
            .find(|(k, _)| !columns.fields.iter().any(|f| f == k))
        {
            return Err(Error::Unwritable {
                path: row.input.source.to_string().into(),
                line: row.input.line,
                message: format!(
                    "field `{field}` has no column: CSV/TSV columns are fixed by the first \
                     row, which had {}; name every field with --keep-fields, or write JSON Lines (-f jsonl)",
                    if columns.fields.is_empty() {
                        "no fields besides the text".to_string()
                    } else {
                        columns.fields.join(", ")
                    }
                ),
            });
        }
        self.write_delimited_row(row, delimiter)
            .map_err(Error::Output)
    }

    /// Fixes the columns from the first labelled row and writes the header,
    /// then the skipped rows held back; holds back a skipped row that comes first.
    fn write_header(&mut self, row: &Row, delimiter: u8) -> std::io::Result<()> {
        {
            let Outcome::Labelled(labels, explanation) = &row.outcome else {
                if let Outcome::Skipped(message) = &row.outcome {
                    self.held_errors.push((
                        row.input.source.to_string(),
                        row.input.line,
                        message.clone(),
                    ));
                }
                return Ok(());
            };
            let mut fields: Vec<String> = row
                .input
                .fields
                .iter()
                .map(|(k, _)| k.to_string())
                .collect();
            for expected in &self.expected_fields {
                if !fields.contains(expected) {
                    fields.push(expected.clone());
                }
            }
            let explain = explanation.is_some();
            let columns = Columns {
                names: fields
                    .iter()
                    .map(|k| {
                        let name = output_key(k, labels);
                        let clashes = explain
                            && labels
                                .heads
                                .iter()
                                .any(|h| k.strip_prefix(h.head) == Some("_explain"));
                        if clashes {
                            format!("input_{k}")
                        } else {
                            name.into_owned()
                        }
                    })
                    .collect(),
                fields,
                explain,
                heads: labels
                    .heads
                    .iter()
                    .map(|h| {
                        (
                            h.head.to_string(),
                            h.scores.iter().map(|(c, _)| c.to_string()).collect(),
                        )
                    })
                    .collect(),
            };
            let mut header: Vec<String> = vec!["source".into(), "paragraph".into(), "line".into()];
            header.extend(columns.names.iter().cloned());
            header.push("text".into());
            header.push("lang".into());
            header.push("uncertain_reason".into());
            for (head, classes) in &columns.heads {
                header.push(head.to_string());
                header.push(format!("{head}_confidence"));
                header.extend(classes.iter().map(|c| format!("{head}:{c}")));
            }
            if columns.explain {
                header.extend(columns.heads.iter().map(|(h, _)| format!("{h}_explain")));
            }
            header.push("error".into());
            self.columns = Some(columns);
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            self.write_cells(&header, delimiter)?;
            for (source, line, message) in std::mem::take(&mut self.held_errors) {
                self.write_error_cells(&source, line, &message, delimiter)?;
            }
        }
        Ok(())
    }

    fn write_delimited_row(&mut self, row: &Row, delimiter: u8) -> std::io::Result<()> {
        match &row.outcome {
            Outcome::Skipped(_) => self.write_error_line(row, delimiter),
            Outcome::Labelled(labels, explanation) => {
                let columns = self.columns.as_ref().expect("set above");
                let mut cells: Vec<String> = vec![
                    row.input.source.to_string(),
                    row.input.paragraph.to_string(),
                    row.input.line.to_string(),
                ];
                for field in &columns.fields {
                    let raw = row
                        .input
                        .fields
                        .iter()
                        .find(|(k, _)| k == field)
                        .map(|(_, v)| v.get());
                    cells.push(raw.map_or(String::new(), cell_text));
                }
                cells.push(row.input.text.to_string());
                cells.push(labels.lang.as_str().to_string());
                cells.push(labels.unreadable.unwrap_or_default().to_string());
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
                if columns.explain {
                    for (h, _) in &columns.heads {
                        let terms = labels
                            .heads
                            .iter()
                            .position(|head| head.head == h)
                            .and_then(|at| explanation.as_ref()?.get(at));
                        let parts: Vec<String> = terms
                            .into_iter()
                            .flatten()
                            .map(ToString::to_string)
                            .collect();
                        cells.push(parts.join("; "));
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
        self.write_error_cells(&row.input.source, row.input.line, message, delimiter)
    }

    fn write_error_cells(
        &mut self,
        source: &str,
        line: u64,
        message: &str,
        delimiter: u8,
    ) -> std::io::Result<()> {
        let width = self.columns.as_ref().map_or(0, |c| {
            let explain = if c.explain { c.heads.len() } else { 0 };
            4 + c.fields.len() + c.heads.iter().map(|(_, cl)| 2 + cl.len()).sum::<usize>() + explain
        });
        let mut cells = vec![source.to_string(), String::new(), line.to_string()];
        cells.resize(width.max(3), String::new());
        cells.push(message.to_string());
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
        if self.table_source.as_deref() != Some(&*row.input.source) {
            // Each source gets its name (stdin needs none) and the column
            // header, so that rows numbered from 1 again are told apart.
            if self.table_source.is_some() {
                writeln!(self.out)?;
            }
            if row.input.source != "-" {
                writeln!(self.out, "{}", row.input.source)?;
            }
            if let Outcome::Labelled(labels, _) = &row.outcome {
                let mut header = format!("{:>5}  ", "#");
                for head in &labels.heads {
                    header += &format!("{:<16}  ", head.head);
                }
                writeln!(self.out, "{header}text")?;
            }
            self.table_source = Some(row.input.source.to_string());
        }
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
                        head.label,
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
                        let parts: Vec<String> = terms.iter().map(ToString::to_string).collect();
                        writeln!(self.out, "       {}: {}", head.head, parts.join(", "))?;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_serde_json_would_round_them() {
        for p in [
            0.0f32, 1.0, 0.5, 0.12345, 0.99996, 0.00004, 0.07, 0.9139, 1e-9,
        ] {
            let mut out = Vec::new();
            json_probability(&mut out, p);
            let expected = serde_json::json!(round4(p)).to_string();
            let expected = expected.trim_end_matches(".0");
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{p}");
        }
        for n in [0u64, 7, 10, 4096, u64::MAX] {
            let mut out = Vec::new();
            json_integer(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let nasty =
            "plain \"quoted\" back\\slash\ttab\nnew\r\u{8}\u{c}\u{1}\u{1f} é “typographic” \u{7f}";
        let mut out = Vec::new();
        json_string(&mut out, nasty);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(nasty).unwrap()
        );
    }

    proptest::proptest! {
        #[test]
        fn ascii_with_quotes_and_controls_is_escaped_as_serde_json_escapes_it(s in "[\\x00-\\x7f\"\\\\]{0,40}") {
            let mut out = Vec::new();
            json_string(&mut out, &s);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(s in proptest::prelude::any::<String>()) {
            let mut out = Vec::new();
            json_string(&mut out, &s);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }
}
