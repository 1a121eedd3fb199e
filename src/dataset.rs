//! Labelled paragraphs: the training and evaluation sets, and their readers.
//!
//! A set is read from JSON Lines (`.jsonl`, `.ndjson`) or from CSV/TSV with a
//! header (`.csv`, `.tsv`). Every row needs a non-empty `text` and one string
//! per head (`theme`, `stance` by default); other fields (`id`, `country`,
//! `style` …) are ignored. For scoring, [`TrainingSet::load_present`] also
//! accepts a file that leaves out some heads altogether (a theme-only file).
//!
//! ```
//! use vektor::dataset::{Example, TrainingSet};
//! let set = TrainingSet::from_examples(
//!     vec!["theme".into()],
//!     vec![Example { text: "Oil output rose".into(), labels: vec!["energy".into()] }],
//! ).unwrap();
//! assert_eq!(set.class_counts(0)["energy"], 1);
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::io::input::{InputFormat, BOM};

/// One labelled paragraph: its text and one label per head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The paragraph.
    pub text: String,
    /// Labels, in the order of [`TrainingSet::heads`].
    pub labels: Vec<String>,
}

/// A labelled set of paragraphs with the heads (label fields) it carries.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    heads: Vec<String>,
    examples: Vec<Example>,
    source: String,
    sha256: String,
}

/// The default heads of vektor's label scheme.
pub fn default_heads() -> Vec<String> {
    vec!["theme".to_string(), "stance".to_string()]
}

impl TrainingSet {
    /// Builds a set from examples in memory; the source is `<memory>`.
    pub fn from_examples(heads: Vec<String>, examples: Vec<Example>) -> Result<TrainingSet> {
        if heads.is_empty() {
            return Err(Error::Data("at least one label field is needed".into()));
        }
        if let Some((i, e)) = examples
            .iter()
            .enumerate()
            .find(|(_, e)| e.labels.len() != heads.len())
        {
            return Err(Error::Data(format!(
                "example {} has {} labels for {} heads",
                i + 1,
                e.labels.len(),
                heads.len()
            )));
        }
        let mut hasher = Sha256::new();
        for e in &examples {
            hasher.update(e.text.as_bytes());
            for label in &e.labels {
                hasher.update([0]);
                hasher.update(label.as_bytes());
            }
            hasher.update([b'\n']);
        }
        Ok(TrainingSet {
            heads,
            examples,
            source: "<memory>".into(),
            sha256: hex(&hasher.finalize()),
        })
    }

    /// Reads a labelled file, choosing the format by extension; every row
    /// must carry every head of `heads`.
    pub fn load(path: &Path, heads: &[String]) -> Result<TrainingSet> {
        TrainingSet::read(path, heads, Wanted::All)
    }

    /// Reads a labelled file for scoring, keeping those of `heads` that the
    /// file carries, in the order of `heads`; [`TrainingSet::heads`] tells
    /// which. A JSON Lines file carries a head when any row has the field
    /// (not `null`), a CSV/TSV file when its header has the column.
    ///
    /// A head carried by some rows but missing on others is an error naming
    /// the file and line, since a half-labelled file is a labelling mistake;
    /// so is a file that carries none of `heads`.
    pub fn load_present(path: &Path, heads: &[String]) -> Result<TrainingSet> {
        let set = TrainingSet::read(path, heads, Wanted::Present)?;
        if set.heads.is_empty() {
            return Err(Error::Data(format!(
                "{}: has none of the label fields expected ({})",
                path.display(),
                heads.join(", ")
            )));
        }
        Ok(set)
    }

    fn read(path: &Path, heads: &[String], wanted: Wanted) -> Result<TrainingSet> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let (heads, examples) = match InputFormat::from_path(path) {
            InputFormat::Jsonl => read_jsonl(path, &bytes, heads, wanted)?,
            InputFormat::Csv => read_delimited(path, &bytes, heads, wanted, b',')?,
            InputFormat::Tsv => read_delimited(path, &bytes, heads, wanted, b'\t')?,
            InputFormat::Text => {
                return Err(Error::UnknownFormat {
                    path: path.to_path_buf(),
                    expected: ".jsonl, .ndjson, .json, .csv or .tsv",
                })
            }
        };
        if examples.is_empty() {
            return Err(Error::Data(format!(
                "{}: no labelled paragraphs",
                path.display()
            )));
        }
        Ok(TrainingSet {
            heads,
            examples,
            source: path.display().to_string(),
            sha256: hex(&Sha256::digest(&bytes)),
        })
    }

    /// The label fields, in order.
    pub fn heads(&self) -> &[String] {
        &self.heads
    }

    /// The labelled paragraphs.
    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    /// Number of paragraphs.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// True if the set has no paragraphs.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// The file the set was read from, as given, or `<memory>`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// SHA-256 of the file's bytes (of a canonical form for in-memory sets).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Texts, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.examples.iter().map(|e| e.text.as_str()).collect()
    }

    /// Labels of head `head`, in order.
    pub fn labels(&self, head: usize) -> Vec<&str> {
        self.examples
            .iter()
            .map(|e| e.labels[head].as_str())
            .collect()
    }

    /// How many paragraphs carry each class of head `head`.
    pub fn class_counts(&self, head: usize) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for e in &self.examples {
            *counts.entry(e.labels[head].clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Errors unless each of the heads at `heads` has at least two classes.
    pub fn check_trainable(&self, heads: &[usize]) -> Result<()> {
        for &h in heads {
            let head = &self.heads[h];
            let counts = self.class_counts(h);
            if counts.len() < 2 {
                let only = counts
                    .keys()
                    .next()
                    .map_or("none".to_string(), |c| format!("`{c}`"));
                return Err(Error::Data(format!(
                    "{}: head `{head}` needs at least two classes to train, found only {only}",
                    self.source
                )));
            }
        }
        Ok(())
    }

    /// The rows at `indices`, in that order (used for folds and subsamples).
    pub fn subset(&self, indices: &[usize]) -> TrainingSet {
        TrainingSet {
            heads: self.heads.clone(),
            examples: indices.iter().map(|&i| self.examples[i].clone()).collect(),
            source: format!("{} (subset of {} rows)", self.source, indices.len()),
            sha256: self.sha256.clone(),
        }
    }
}

/// Which of the requested heads a file must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// Every head, on every row (training).
    All,
    /// The heads the file has, each on every row (scoring).
    Present,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a row's text and labels; `field` looks a value up by name.
///
/// `seen_at` holds, per head, a line known to carry it, so that a row
/// without it can be reported as a half-labelled file rather than as a
/// plain missing field.
fn example_from_row<'a>(
    path: &Path,
    line: u64,
    heads: &[String],
    seen_at: &[Option<u64>],
    field: impl Fn(&str) -> std::result::Result<Option<&'a str>, String>,
) -> Result<Example> {
    let get = |name: &str, seen: Option<u64>| -> Result<&'a str> {
        match field(name) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(Error::parse(
                path,
                line,
                match seen {
                    Some(other) => format!(
                        "missing field `{name}`, which line {other} has; label every row for `{name}` or none"
                    ),
                    None => format!("missing field `{name}`"),
                },
            )),
            Err(message) => Err(Error::parse(path, line, message)),
        }
    };
    let text = get("text", None)?;
    if text.trim().is_empty() {
        return Err(Error::parse(path, line, "empty text"));
    }
    let labels = heads
        .iter()
        .zip(seen_at)
        .map(|(head, &seen)| {
            let label = get(head, seen)?.trim();
            if label.is_empty() {
                return Err(Error::parse(
                    path,
                    line,
                    format!("empty label in field `{head}`"),
                ));
            }
            Ok(label.to_string())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Example {
        text: text.to_string(),
        labels,
    })
}

type JsonObject = serde_json::Map<String, serde_json::Value>;

/// The non-blank lines of a JSON Lines file as objects, with their 1-based
/// line numbers.
fn jsonl_objects<'b>(
    path: &'b Path,
    bytes: &'b [u8],
) -> impl Iterator<Item = Result<(u64, JsonObject)>> + 'b {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter_map(move |(index, raw)| {
            let raw = if index == 0 {
                raw.strip_prefix(BOM).unwrap_or(raw)
            } else {
                raw
            };
            jsonl_object(path, index as u64 + 1, raw).transpose()
        })
}

/// One line of a JSON Lines file as an object; `None` for a blank line.
fn jsonl_object(path: &Path, line: u64, raw: &[u8]) -> Result<Option<(u64, JsonObject)>> {
    let raw = std::str::from_utf8(raw).map_err(|e| {
        Error::parse(
            path,
            line,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| Error::parse(path, line, format!("malformed JSON: {e}")))?;
    match value {
        serde_json::Value::Object(object) => Ok(Some((line, object))),
        _ => Err(Error::parse(path, line, "expected a JSON object")),
    }
}

/// Per head, the first line whose object has the field (not `null`).
/// Lines that do not parse are skipped here: the reading pass reports them,
/// in file order with the other errors.
fn first_lines_with(path: &Path, bytes: &[u8], heads: &[String]) -> Vec<Option<u64>> {
    let mut first = vec![None; heads.len()];
    for (line, object) in jsonl_objects(path, bytes).filter_map(Result::ok) {
        for (slot, head) in first.iter_mut().zip(heads) {
            if slot.is_none() && object.get(head).is_some_and(|v| !v.is_null()) {
                *slot = Some(line);
            }
        }
        if first.iter().all(Option::is_some) {
            break;
        }
    }
    first
}

fn read_jsonl(
    path: &Path,
    bytes: &[u8],
    heads: &[String],
    wanted: Wanted,
) -> Result<(Vec<String>, Vec<Example>)> {
    let (heads, seen_at): (Vec<String>, Vec<Option<u64>>) = match wanted {
        Wanted::All => (heads.to_vec(), vec![None; heads.len()]),
        // Whether a head is in the file at all is only known after the
        // last row, so a first pass finds out before rows are checked.
        Wanted::Present => heads
            .iter()
            .zip(first_lines_with(path, bytes, heads))
            .filter_map(|(head, line)| line.map(|l| (head.clone(), Some(l))))
            .unzip(),
    };
    let mut examples = Vec::new();
    for row in jsonl_objects(path, bytes) {
        let (line, object) = row?;
        examples.push(example_from_row(
            path,
            line,
            &heads,
            &seen_at,
            |name| match object.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(other) => Err(format!("field `{name}` must be a string, got {other}")),
            },
        )?);
    }
    Ok((heads, examples))
}

fn read_delimited(
    path: &Path,
    bytes: &[u8],
    heads: &[String],
    wanted: Wanted,
    delimiter: u8,
) -> Result<(Vec<String>, Vec<Example>)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| Error::parse(path, 1, format!("malformed header: {e}")))?
        .clone();
    let in_header = |name: &str| header.iter().position(|h| h.trim() == name);
    // The header names every field of every row, so it alone tells which
    // heads the file carries; an empty cell under one is an empty label.
    let heads: Vec<String> = match wanted {
        Wanted::All => heads.to_vec(),
        Wanted::Present => heads
            .iter()
            .filter(|h| in_header(h).is_some())
            .cloned()
            .collect(),
    };
    // Column of `text` and of each head, found once for the whole file.
    let columns: Vec<(&str, usize)> = std::iter::once("text")
        .chain(heads.iter().map(String::as_str))
        .map(|name| match in_header(name) {
            Some(c) => Ok((name, c)),
            None => Err(Error::parse(
                path,
                1,
                format!("header has no column `{name}`"),
            )),
        })
        .collect::<Result<_>>()?;
    let column = |name: &str| columns.iter().find(|(n, _)| *n == name).map(|&(_, c)| c);
    let seen_at = vec![None; heads.len()];
    let mut examples = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Error::parse(path, line, format!("malformed CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |name: &str| -> std::result::Result<Option<&str>, String> {
            Ok(column(name).and_then(|c| record.get(c)))
        };
        // `record` lives only in this iteration, so the example copies its strings.
        let example = example_from_row(path, line, &heads, &seen_at, field)?;
        examples.push(example);
    }
    Ok((heads, examples))
}
