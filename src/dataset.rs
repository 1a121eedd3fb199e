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
//!     vec![Example { text: "Oil output rose".into(), labels: vec!["energy".into()], doc: None }],
//! ).unwrap();
//! assert_eq!(set.class_counts(0)["energy"], 1);
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::io::input::{doc_key, json_text, InputFormat, InputOptions, InputRecord, Records};

/// One labelled paragraph: its text and one label per head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The paragraph.
    pub text: String,
    /// Labels, in the order of [`TrainingSet::heads`].
    pub labels: Vec<String>,
    /// The document the paragraph belongs to (the `doc` field), if any; a
    /// document's paragraphs come one after another, headline first.
    pub doc: Option<String>,
}

/// A labelled set of paragraphs with the heads (label fields) it carries.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    heads: Vec<String>,
    examples: Vec<Example>,
    source: String,
    sha256: String,
}

/// The field that names a paragraph's document in a labelled file.
pub const DOC_FIELD: &str = "doc";

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
        let format = match InputFormat::from_path(path) {
            InputFormat::Text => {
                return Err(Error::UnknownFormat {
                    path: path.to_path_buf(),
                    expected: ".jsonl, .ndjson, .json, .csv or .tsv",
                })
            }
            format => format,
        };
        // Read once: the bytes give the hash the model card records, and
        // the same readers as `vektor label` parse them, with its messages.
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let sha256 = hex(&Sha256::digest(&bytes));
        let options = InputOptions {
            format: Some(format),
            ..InputOptions::default()
        };
        let name = path.display().to_string();
        let records: Vec<InputRecord> =
            Records::from_reader(&name, Box::new(std::io::Cursor::new(bytes)), &options)
                .collect::<Result<_>>()?;
        let (heads, seen_at) = carried_heads(&records, heads, wanted);
        let examples = records
            .iter()
            .map(|record| example_from_record(path, record, &heads, &seen_at))
            .collect::<Result<Vec<_>>>()?;
        if examples.is_empty() {
            return Err(Error::Data(format!("{name}: no labelled paragraphs")));
        }
        Ok(TrainingSet {
            heads,
            examples,
            source: name,
            sha256,
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

    /// Each row's document id (`None` for a paragraph that stands alone).
    pub fn docs(&self) -> Vec<Option<&str>> {
        self.examples.iter().map(|e| e.doc.as_deref()).collect()
    }

    /// The rows at `indices`, in that order (used for folds and subsamples).
    /// A row's document context then comes from the subset's rows alone.
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

/// The heads to read, each with a line known to carry it: all of `heads`
/// (training), or those some row carries (scoring), so that a row without
/// one can be reported as a half-labelled file rather than as a plain
/// missing field.
fn carried_heads(
    records: &[InputRecord],
    heads: &[String],
    wanted: Wanted,
) -> (Vec<String>, Vec<Option<u64>>) {
    let first_line_with = |head: &str| {
        records
            .iter()
            .find(|r| r.fields.iter().any(|(k, v)| k == head && v.get() != "null"))
            .map(|r| r.line)
    };
    heads
        .iter()
        .map(|head| (head.clone(), first_line_with(head)))
        .filter(|(_, seen)| wanted == Wanted::All || seen.is_some())
        .unzip()
}

/// A record's labels, one per head, checked.
fn example_from_record(
    path: &Path,
    record: &InputRecord,
    heads: &[String],
    seen_at: &[Option<u64>],
) -> Result<Example> {
    let labels = heads
        .iter()
        .zip(seen_at)
        .map(|(head, &seen)| {
            let raw = record
                .fields
                .iter()
                .find(|(k, _)| k == head)
                .map(|(_, v)| v);
            let value = match raw.map(|v| json_text(v)) {
                Some(Ok(Some(value))) => value,
                None | Some(Ok(None)) => {
                    let message = match seen {
                        Some(other) if other != record.line => format!(
                            "missing field `{head}`, which line {other} has; label every row for `{head}` or none"
                        ),
                        _ => format!("missing field `{head}`"),
                    };
                    return Err(Error::parse(path, record.line, message));
                }
                Some(Err(())) => {
                    let got = raw.map_or("", |v| v.get());
                    return Err(Error::parse(
                        path,
                        record.line,
                        format!("field `{head}` must be a string, got {got}"),
                    ));
                }
            };
            let label = value.trim();
            if label.is_empty() {
                return Err(Error::parse(
                    path,
                    record.line,
                    format!("empty label in field `{head}`"),
                ));
            }
            Ok(label.to_string())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Example {
        text: record.text.to_string(),
        labels,
        doc: doc_key(&record.fields, DOC_FIELD),
    })
}
