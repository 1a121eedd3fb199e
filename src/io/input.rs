//! Paragraphs to label, read as a stream from files, directories or stdin.
//!
//! Plain text is cut into paragraphs per line or per blank-line block; JSON
//! Lines and CSV/TSV give one paragraph per row, from a named text field,
//! and every other field can be passed through to the output so that users
//! can join results back to their data. Nothing is read before it is needed,
//! so memory stays bounded whatever the input size (one line, or one
//! blank-line block, is held whole).
//!
//! A row that cannot be used (malformed JSON, missing or empty text, invalid
//! UTF-8) is reported as an [`Error::Parse`] naming the source and line, and
//! reading can go on past it; an I/O error ends reading of that source.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::text::{ParagraphMode, ParagraphSplitter};

/// The UTF-8 byte-order mark some Windows tools put at the start of a file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Format of a labelling input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Plain text, cut into paragraphs.
    Text,
    /// JSON Lines, one object per line with a text field.
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
}

impl InputFormat {
    /// The format a file name implies: `.jsonl`/`.ndjson`/`.json`, `.csv`, `.tsv`,
    /// and plain text for anything else (`.txt`, no extension, stdin).
    pub fn from_path(path: &Path) -> InputFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson" | "json") => InputFormat::Jsonl,
            Some("csv") => InputFormat::Csv,
            Some("tsv" | "tab") => InputFormat::Tsv,
            _ => InputFormat::Text,
        }
    }
}

impl std::str::FromStr for InputFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "text" | "txt" => Ok(InputFormat::Text),
            "jsonl" | "ndjson" => Ok(InputFormat::Jsonl),
            "csv" => Ok(InputFormat::Csv),
            "tsv" => Ok(InputFormat::Tsv),
            _ => Err(format!(
                "unknown input format `{s}` (expected text, jsonl, csv or tsv)"
            )),
        }
    }
}

/// How inputs are read.
#[derive(Debug, Clone)]
pub struct InputOptions {
    /// Force a format instead of guessing from each file's extension.
    pub format: Option<InputFormat>,
    /// How plain text is cut into paragraphs.
    pub paragraphs: ParagraphMode,
    /// The field (JSON Lines) or column (CSV/TSV) holding the text.
    pub text_field: String,
    /// Fields to pass through; `None` passes every field but the text.
    pub keep_fields: Option<Vec<String>>,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            format: None,
            paragraphs: ParagraphMode::Line,
            text_field: "text".into(),
            keep_fields: None,
        }
    }
}

/// One paragraph to label, with where it came from.
#[derive(Debug, Clone)]
pub struct InputRecord {
    /// The file it came from (`-` for standard input).
    pub source: Arc<str>,
    /// 1-based number of the paragraph within its source.
    pub paragraph: u64,
    /// 1-based line where it starts (for CSV: the record's line).
    pub line: u64,
    /// The paragraph's text.
    pub text: String,
    /// Fields passed through from the input row, in input order, as JSON
    /// text exactly as read (CSV cells become JSON strings).
    pub fields: Fields,
}

/// Passed-through fields: name and raw JSON value. Kept as raw text so that
/// passing a field through costs a copy, not a parse and a re-serialisation.
pub type Fields = Vec<(String, Box<RawValue>)>;

/// A JSON object read as its fields in order, values left unparsed.
struct RawObject(Fields);

impl<'de> serde::Deserialize<'de> for RawObject {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RawObject, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    fields.push((key, value));
                }
                Ok(RawObject(fields))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// A string as a raw JSON value.
pub fn raw_string(value: &str) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("a string always serialises")
}

/// Expands directories into the `*.txt` files under them (sorted, so runs
/// are repeatable); other paths, and `-` for stdin, are kept as they are.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() != "-" && path.is_dir() {
            let mut found = Vec::new();
            collect_txt(path, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn collect_txt(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        // `file_type` does not follow symlinks, so a link back up the tree
        // cannot send the walk round in circles.
        if entry.file_type().map_err(|e| Error::io(&path, e))?.is_dir() {
            collect_txt(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads paragraphs from a list of sources, one after another.
///
/// ```
/// use vektor::io::input::{InputOptions, Records};
/// let data = "Oil output rose.\n\nTalks in Astana.\n";
/// let records: Vec<_> = Records::from_reader("-", Box::new(data.as_bytes()), &InputOptions::default())
///     .collect::<Result<_, _>>().unwrap();
/// assert_eq!(records.len(), 2);
/// assert_eq!((records[1].paragraph, records[1].line), (2, 3));
/// ```
pub struct Records {
    pending: std::vec::IntoIter<PathBuf>,
    options: InputOptions,
    current: Option<SourceReader>,
    bytes_read: Arc<AtomicU64>,
}

/// Counts the bytes that pass through it, for progress reports.
struct CountingReader {
    inner: Box<dyn Read + Send>,
    count: Arc<AtomicU64>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Records {
    /// Reads the given paths in order (`-` is standard input).
    pub fn open(paths: Vec<PathBuf>, options: &InputOptions) -> Records {
        Records {
            pending: paths.into_iter(),
            options: options.clone(),
            current: None,
            bytes_read: Arc::default(),
        }
    }

    /// Reads one already-open source named `name`.
    pub fn from_reader(
        name: &str,
        reader: Box<dyn Read + Send>,
        options: &InputOptions,
    ) -> Records {
        let mut records = Records::open(Vec::new(), options);
        let format = options
            .format
            .unwrap_or_else(|| InputFormat::from_path(Path::new(name)));
        let reader = records.counted(reader);
        records.current = Some(SourceReader::new(Arc::from(name), reader, format, options));
        records
    }

    /// Bytes read from the sources so far (slightly ahead of the records
    /// returned, because reading is buffered).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    fn counted(&self, inner: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        Box::new(CountingReader {
            inner,
            count: Arc::clone(&self.bytes_read),
        })
    }

    fn open_next(&mut self) -> Option<Result<()>> {
        let path = self.pending.next()?;
        let name: Arc<str> = Arc::from(path.display().to_string());
        let reader: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            match File::open(&path) {
                Ok(file) => Box::new(file),
                Err(e) => return Some(Err(Error::io(&path, e))),
            }
        };
        let format = self
            .options
            .format
            .unwrap_or_else(|| InputFormat::from_path(&path));
        let reader = self.counted(reader);
        self.current = Some(SourceReader::new(name, reader, format, &self.options));
        Some(Ok(()))
    }
}

impl Iterator for Records {
    type Item = Result<InputRecord>;

    fn next(&mut self) -> Option<Result<InputRecord>> {
        loop {
            if let Some(reader) = &mut self.current {
                match reader.next_record() {
                    Some(item) => return Some(item),
                    None => self.current = None,
                }
            }
            if let Err(e) = self.open_next()? {
                return Some(Err(e));
            }
        }
    }
}

enum Kind {
    Text(ParagraphSplitter),
    Jsonl,
    Delimited {
        reader: Box<csv::Reader<Box<dyn Read + Send>>>,
        text_column: Option<usize>,
        header: Vec<String>,
    },
}

struct SourceReader {
    name: Arc<str>,
    lines: Option<BufReader<Box<dyn Read + Send>>>,
    kind: Kind,
    text_field: String,
    keep_fields: Option<Vec<String>>,
    line: u64,
    paragraph: u64,
    buf: Vec<u8>,
    failed: bool,
}

impl SourceReader {
    fn new(
        name: Arc<str>,
        reader: Box<dyn Read + Send>,
        format: InputFormat,
        options: &InputOptions,
    ) -> Self {
        let (lines, kind) = match format {
            InputFormat::Text => (
                Some(BufReader::with_capacity(1 << 16, reader)),
                Kind::Text(ParagraphSplitter::new(options.paragraphs)),
            ),
            InputFormat::Jsonl => (Some(BufReader::with_capacity(1 << 16, reader)), Kind::Jsonl),
            InputFormat::Csv | InputFormat::Tsv => {
                let delimiter = if format == InputFormat::Csv {
                    b','
                } else {
                    b'\t'
                };
                let reader = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(false)
                    .from_reader(reader);
                (
                    None,
                    Kind::Delimited {
                        reader: Box::new(reader),
                        text_column: None,
                        header: Vec::new(),
                    },
                )
            }
        };
        SourceReader {
            name,
            lines,
            kind,
            text_field: options.text_field.clone(),
            keep_fields: options.keep_fields.clone(),
            line: 0,
            paragraph: 0,
            buf: Vec::new(),
            failed: false,
        }
    }

    fn row_error(&self, line: u64, message: impl Into<String>) -> Error {
        Error::parse(self.name.as_ref(), line, message)
    }

    /// Reads one raw line into `buf` without its line ending; false at the end.
    fn read_line(&mut self) -> Result<bool> {
        self.buf.clear();
        let reader = self
            .lines
            .as_mut()
            .expect("line-based formats have a line reader");
        let n = reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::io(self.name.as_ref(), e))?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        if self.line == 1 && self.buf.starts_with(BOM) {
            self.buf.drain(..BOM.len());
        }
        Ok(true)
    }

    fn line_text(&self) -> std::result::Result<&str, Error> {
        std::str::from_utf8(&self.buf).map_err(|e| {
            self.row_error(
                self.line,
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        })
    }

    fn record(&mut self, line: u64, text: String, fields: Fields) -> InputRecord {
        self.paragraph += 1;
        InputRecord {
            source: self.name.clone(),
            paragraph: self.paragraph,
            line,
            text,
            fields,
        }
    }

    fn next_record(&mut self) -> Option<Result<InputRecord>> {
        if self.failed {
            return None;
        }
        let item = match self.kind {
            Kind::Text(_) => self.next_paragraph(),
            Kind::Jsonl => self.next_json(),
            Kind::Delimited { .. } => self.next_delimited(),
        };
        if let Some(Err(Error::Io { .. })) = &item {
            self.failed = true;
        }
        item
    }

    /// The next paragraph of plain text. The splitter (and the block it is
    /// building) lives in `self`, so a bad line inside a block is reported
    /// and skipped without losing the lines around it.
    fn next_paragraph(&mut self) -> Option<Result<InputRecord>> {
        loop {
            match self.read_line() {
                Err(e) => return Some(Err(e)),
                Ok(true) => {}
                Ok(false) => {
                    let Kind::Text(splitter) = &mut self.kind else {
                        unreachable!("called only for text sources")
                    };
                    let paragraph = splitter.finish()?;
                    return Some(Ok(self.record(
                        paragraph.line,
                        paragraph.text,
                        Fields::new(),
                    )));
                }
            }
            let line = match std::str::from_utf8(&self.buf) {
                Ok(line) => line,
                Err(e) => {
                    let message = format!("invalid UTF-8 at byte {}", e.valid_up_to());
                    return Some(Err(self.row_error(self.line, message)));
                }
            };
            let Kind::Text(splitter) = &mut self.kind else {
                unreachable!("called only for text sources")
            };
            if let Some(paragraph) = splitter.push_line(self.line, line) {
                return Some(Ok(self.record(
                    paragraph.line,
                    paragraph.text,
                    Fields::new(),
                )));
            }
        }
    }

    fn next_json(&mut self) -> Option<Result<InputRecord>> {
        loop {
            match self.read_line() {
                Err(e) => return Some(Err(e)),
                Ok(false) => return None,
                Ok(true) => {}
            }
            let line = self.line;
            let raw = match self.line_text() {
                Err(e) => return Some(Err(e)),
                Ok(raw) if raw.trim().is_empty() => continue,
                Ok(raw) => raw,
            };
            let object = match serde_json::from_str::<RawObject>(raw) {
                Ok(RawObject(fields)) => fields,
                Err(e) if e.is_data() => {
                    return Some(Err(self.row_error(line, "expected a JSON object")))
                }
                Err(e) => return Some(Err(self.row_error(line, format!("malformed JSON: {e}")))),
            };
            return Some(self.json_record(line, object));
        }
    }

    fn json_record(&mut self, line: u64, mut fields: Fields) -> Result<InputRecord> {
        let Some(at) = fields.iter().position(|(k, _)| *k == self.text_field) else {
            return Err(self.row_error(line, format!("missing text field `{}`", self.text_field)));
        };
        let (_, raw) = fields.remove(at);
        let text = match serde_json::from_str::<Option<String>>(raw.get()) {
            Ok(Some(text)) => text,
            Ok(None) => {
                return Err(
                    self.row_error(line, format!("missing text field `{}`", self.text_field))
                )
            }
            Err(_) => {
                return Err(self.row_error(
                    line,
                    format!(
                        "text field `{}` must be a string, got {}",
                        self.text_field,
                        raw.get()
                    ),
                ))
            }
        };
        if text.trim().is_empty() {
            return Err(self.row_error(line, "empty text"));
        }
        if let Some(keep) = &self.keep_fields {
            fields.retain(|(k, _)| keep.contains(k));
        }
        Ok(self.record(line, text, fields))
    }

    fn next_delimited(&mut self) -> Option<Result<InputRecord>> {
        let Kind::Delimited {
            reader,
            text_column,
            header,
        } = &mut self.kind
        else {
            unreachable!("called only for delimited sources")
        };
        if text_column.is_none() {
            let names = match reader.byte_headers() {
                Ok(h) => h
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).trim().to_string())
                    .collect::<Vec<_>>(),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(Error::parse(
                        self.name.as_ref(),
                        1,
                        format!("malformed header: {e}"),
                    )));
                }
            };
            match names.iter().position(|n| *n == self.text_field) {
                Some(c) => *text_column = Some(c),
                None => {
                    self.failed = true;
                    return Some(Err(Error::parse(
                        self.name.as_ref(),
                        1,
                        format!(
                            "header has no text column `{}` (columns: {})",
                            self.text_field,
                            names.join(", ")
                        ),
                    )));
                }
            }
            *header = names;
        }
        let column = text_column.expect("set above");
        let mut record = csv::ByteRecord::new();
        let result = reader.read_byte_record(&mut record);
        let line = record.position().map_or(self.line + 1, |p| p.line());
        match result {
            Ok(false) => return None,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                // The csv reader cannot resynchronise after a broken quote.
                self.failed = !matches!(
                    e.kind(),
                    csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                );
                return Some(Err(self.row_error(line, format!("malformed CSV: {e}"))));
            }
        }
        self.line = line;
        let mut fields = Fields::new();
        let mut text = None;
        for (c, raw) in record.iter().enumerate() {
            let value = match std::str::from_utf8(raw) {
                Ok(v) => v,
                Err(e) => {
                    return Some(Err(self.row_error(
                        line,
                        format!(
                            "invalid UTF-8 in column {} at byte {}",
                            c + 1,
                            e.valid_up_to()
                        ),
                    )))
                }
            };
            if c == column {
                text = Some(value.to_string());
            } else if self
                .keep_fields
                .as_ref()
                .is_none_or(|keep| keep.contains(&header[c]))
            {
                fields.push((header[c].clone(), raw_string(value)));
            }
        }
        match text {
            Some(text) if !text.trim().is_empty() => Some(Ok(self.record(line, text, fields))),
            _ => Some(Err(self.row_error(line, "empty text"))),
        }
    }
}
