//! Paragraphs to label, read as a stream from files, directories or stdin.
//!
//! Plain text is cut into paragraphs per line or per blank-line block; JSON
//! Lines and CSV/TSV give one paragraph per row, from a named text field,
//! and every other field can be passed through to the output so that users
//! can join results back to their data. Input is read in blocks of whole
//! lines (about [`BATCH_BYTES`], more when one line is longer), so memory
//! stays bounded whatever the input size, and the lines of a block can be
//! parsed on several threads ([`Batch::par_records`]).
//!
//! Each source's format comes from [`InputOptions::format`], else from its
//! name, else from its first line (a JSON object means JSON Lines, with a
//! [`Notice`]). Its first bytes are looked at whatever the format: a PDF,
//! an archive, an image or another binary file is refused with
//! [`Error::Unreadable`], which says how to make text of it.
//!
//! A row that cannot be used (malformed JSON, missing or empty text, invalid
//! UTF-8) is reported as an [`Error::Parse`] naming the source and line, and
//! reading can go on past it; an I/O error ends reading of that source.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rayon::iter::{Either, IndexedParallelIterator, IntoParallelIterator, ParallelIterator};
use rayon::prelude::*;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::text::{Paragraph, ParagraphMode, ParagraphSplitter};

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
        InputFormat::from_name(path).unwrap_or(InputFormat::Text)
    }

    /// The format a file name tells, if it tells one: `.txt` is text, and
    /// stdin (`-`), no extension or another extension tell nothing, so
    /// the content is looked at instead (see [`Records`]).
    pub fn from_name(path: &Path) -> Option<InputFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson" | "json") => Some(InputFormat::Jsonl),
            Some("csv") => Some(InputFormat::Csv),
            Some("tsv" | "tab") => Some(InputFormat::Tsv),
            Some("txt" | "text") => Some(InputFormat::Text),
            _ => None,
        }
    }
}

/// Something about an input worth telling the user that does not stop
/// reading it; [`Records::on_notice`] receives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The name did not tell the format and the first line is a JSON
    /// object, so the source is read as JSON Lines.
    ReadAsJsonl {
        /// The source (`-` for standard input).
        source: String,
    },
    /// A field to keep is not in the first row of a JSON Lines source (a
    /// later row may still have it).
    KeptFieldAbsent {
        /// The source.
        source: String,
        /// The field named.
        field: String,
        /// The fields the first row has.
        present: Vec<String>,
    },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::ReadAsJsonl { source } => write!(
                f,
                "{source}: the first line is a JSON object, so it is read as JSON Lines \
                 (--input-format text reads it as plain text)"
            ),
            Notice::KeptFieldAbsent {
                source,
                field,
                present,
            } => write!(
                f,
                "{source}: the first row has no field `{field}` to keep (it has {})",
                present.join(", ")
            ),
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
///
/// Text and fields borrow from the [`Batch`] they were read into where they
/// can, so that a paragraph costs no copy between reading and writing;
/// [`InputRecord::into_owned`] detaches one.
#[derive(Debug, Clone)]
pub struct InputRecord<'a> {
    /// The file it came from (`-` for standard input).
    pub source: Cow<'a, str>,
    /// 1-based number of the paragraph within its source. Every non-blank
    /// line (text, JSON Lines) or row (CSV, TSV) counts, also one that cannot
    /// be read, so numbers stay the same whether bad rows are skipped or fixed
    /// (with blank-line paragraphs, blocks are counted, not lines).
    pub paragraph: u64,
    /// 1-based line where it starts (for CSV: the record's line).
    pub line: u64,
    /// The paragraph's text.
    pub text: Cow<'a, str>,
    /// Fields passed through from the input row, in input order, as JSON
    /// text exactly as read (CSV cells become JSON strings).
    pub fields: Fields<'a>,
}

/// Passed-through fields: name and raw JSON value. Kept as raw text so that
/// passing a field through costs a copy, not a parse and a re-serialisation.
pub type Fields<'a> = Vec<(Cow<'a, str>, Cow<'a, RawValue>)>;

impl InputRecord<'_> {
    /// The same record, owning its text and fields.
    pub fn into_owned(self) -> InputRecord<'static> {
        InputRecord {
            source: Cow::Owned(self.source.into_owned()),
            paragraph: self.paragraph,
            line: self.line,
            text: Cow::Owned(self.text.into_owned()),
            fields: self
                .fields
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
        }
    }
}

/// A JSON object read as its fields in order, values left unparsed and
/// borrowed from the line.
struct RawObject<'a>(Fields<'a>);

/// A JSON object key, borrowed from the line unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl<'de> serde::Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RawObject<'de>, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((Key(key), value)) = map.next_entry::<Key, &RawValue>()? {
                    fields.push((key, Cow::Borrowed(value)));
                }
                Ok(RawObject(fields))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The string a raw JSON value holds: borrowed when it has no escapes,
/// `Ok(None)` for `null`, `Err(())` for any other kind of value.
pub(crate) fn json_text(raw: &RawValue) -> std::result::Result<Option<Cow<'_, str>>, ()> {
    let json = raw.get();
    if json.len() >= 2 && json.starts_with('"') && !json.contains('\\') {
        // A valid JSON string without escapes is its own content, quoted.
        return Ok(Some(Cow::Borrowed(&json[1..json.len() - 1])));
    }
    serde_json::from_str::<Option<String>>(json)
        .map(|text| text.map(Cow::Owned))
        .map_err(|_| ())
}

/// The document a record belongs to by its field `field`: the string it
/// holds, or a number's JSON text; `None` when the field is absent or null.
/// One rule for training files (`doc`) and for `label --doc-field`.
pub(crate) fn doc_key(fields: &Fields<'_>, field: &str) -> Option<String> {
    let (_, raw) = fields.iter().find(|(k, _)| k == field)?;
    match json_text(raw) {
        Ok(text) => text.map(Cow::into_owned),
        Err(()) => Some(raw.get().to_string()),
    }
}

/// A string as a raw JSON value.
pub fn raw_string(value: &str) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("a string always serialises")
}

/// Bytes of whole lines read into one [`Batch`]: about 4000 news paragraphs,
/// enough to keep every core busy between writes, small enough that memory
/// stays a few MB whatever the input size.
pub const BATCH_BYTES: usize = 1 << 20;

/// Records per [`Batch`] for the formats parsed as they are read (CSV, TSV,
/// blank-line paragraphs).
pub const BATCH_RECORDS: usize = 4096;

/// Bytes asked of the operating system per read.
const READ_SIZE: usize = 1 << 18;

/// Reads paragraphs from a list of sources, one after another, either one
/// record at a time (as an [`Iterator`]) or a [`Batch`] at a time
/// ([`Records::next_batch`]) for parsing in parallel.
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
    pending: std::collections::VecDeque<Source>,
    options: Arc<InputOptions>,
    /// Told of every [`Notice`]; none by default.
    notice: Option<Box<dyn Fn(Notice) + Send>>,
    current: Option<SourceReader>,
    bytes_read: Arc<AtomicU64>,
    /// Records of the last batch not yet returned by `next`.
    buffered: std::collections::VecDeque<Result<InputRecord<'static>>>,
    /// Buffers of a finished batch, filled again by the next one.
    spare: Spare,
}

/// A source not opened yet.
enum Source {
    Path(PathBuf),
    Reader(Arc<str>, Box<dyn Read + Send>),
}

/// A block buffer and a line index to reuse (see [`Records::recycle`]).
#[derive(Default)]
struct Spare {
    data: Vec<u8>,
    rows: Vec<LineRow>,
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
            pending: paths.into_iter().map(Source::Path).collect(),
            options: Arc::new(options.clone()),
            notice: None,
            current: None,
            bytes_read: Arc::default(),
            buffered: Default::default(),
            spare: Spare::default(),
        }
    }

    /// Reads one already-open source named `name`.
    pub fn from_reader(
        name: &str,
        reader: Box<dyn Read + Send>,
        options: &InputOptions,
    ) -> Records {
        let mut records = Records::open(Vec::new(), options);
        records
            .pending
            .push_back(Source::Reader(Arc::from(name), reader));
        records
    }

    /// Calls `notice` with every [`Notice`] met while reading (from the
    /// thread that reads).
    pub fn on_notice(mut self, notice: impl Fn(Notice) + Send + 'static) -> Records {
        self.notice = Some(Box::new(notice));
        self
    }

    /// Bytes read from the sources so far (slightly ahead of the records
    /// returned, because reading is buffered).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// The next batch of rows, all from one source; `None` when every source
    /// is read. A source that cannot be opened, or fails while being read,
    /// gives an error (after the whole lines read before the failure); a
    /// caller that wants to carry on calls again for the next source.
    pub fn next_batch(&mut self) -> Option<Result<Batch>> {
        loop {
            if let Some(reader) = &mut self.current {
                match reader.next_batch(&mut self.spare) {
                    Some(batch) => return Some(batch),
                    None => self.current = None,
                }
            }
            if let Err(e) = self.open_next()? {
                return Some(Err(e));
            }
        }
    }

    /// Takes back a batch that is done with, so that the next batch is read
    /// into its buffers: a fresh megabyte per batch would cost page faults.
    pub fn recycle(&mut self, batch: Batch) {
        if let Content::Lines(Lines { data, rows, .. }) = batch.content {
            // A buffer grown for one huge line is let go, not kept for good.
            if data.capacity() <= 4 * BATCH_BYTES {
                self.spare = Spare { data, rows };
            }
        }
    }

    fn counted(&self, inner: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        Box::new(CountingReader {
            inner,
            count: Arc::clone(&self.bytes_read),
        })
    }

    fn open_next(&mut self) -> Option<Result<()>> {
        let (name, reader): (Arc<str>, Box<dyn Read + Send>) = match self.pending.pop_front()? {
            Source::Reader(name, reader) => (name, reader),
            Source::Path(path) if path.as_os_str() == "-" => {
                (Arc::from("-"), Box::new(std::io::stdin()))
            }
            Source::Path(path) => match File::open(&path) {
                Ok(file) => (Arc::from(path.display().to_string()), Box::new(file)),
                Err(e) => return Some(Err(open_error(&path, e))),
            },
        };
        let reader = self.counted(reader);
        Some(self.start(name, reader))
    }

    /// Looks at the start of a source, refuses one that is not text, picks
    /// its format and starts reading it.
    fn start(&mut self, name: Arc<str>, reader: Box<dyn Read + Send>) -> Result<()> {
        let (head, reader) = peek(reader);
        if let Some((what, fix)) = binary_kind(&head) {
            return Err(Error::Unreadable {
                path: PathBuf::from(name.as_ref()),
                what,
                fix: fix.replace("FILE", &name),
            });
        }
        let named = self
            .options
            .format
            .or_else(|| InputFormat::from_name(Path::new(name.as_ref())));
        let first = first_line(&head);
        let format = match named {
            Some(format) => format,
            None if first.is_some_and(is_json_object) => {
                self.tell(Notice::ReadAsJsonl {
                    source: name.to_string(),
                });
                InputFormat::Jsonl
            }
            None => InputFormat::Text,
        };
        if let (InputFormat::Jsonl, Some(keep), Some(first)) =
            (format, &self.options.keep_fields, first)
        {
            if let Ok(RawObject(fields)) = serde_json::from_str::<RawObject>(first) {
                let present: Vec<String> = fields.iter().map(|(k, _)| k.to_string()).collect();
                for field in keep {
                    if *field != self.options.text_field && !present.contains(field) {
                        self.tell(Notice::KeptFieldAbsent {
                            source: name.to_string(),
                            field: field.clone(),
                            present: present.clone(),
                        });
                    }
                }
            }
        }
        self.current = Some(SourceReader::new(name, reader, format, &self.options));
        Ok(())
    }

    fn tell(&self, notice: Notice) {
        if let Some(tell) = &self.notice {
            tell(notice);
        }
    }
}

/// The error for a path that cannot be opened; a URL is told apart, as
/// the user most likely expected it to be fetched.
fn open_error(path: &Path, cause: std::io::Error) -> Error {
    let name = path.to_string_lossy();
    let is_url = ["http://", "https://", "ftp://"]
        .iter()
        .any(|scheme| name.starts_with(scheme));
    if is_url && cause.kind() == std::io::ErrorKind::NotFound {
        Error::Url {
            url: name.into_owned(),
        }
    } else {
        Error::io(path, cause)
    }
}

/// Bytes read to look at the start of a source: its first line, up to this.
const PEEK_BYTES: usize = 1 << 16;

/// Reads the start of a source (its first line, or [`PEEK_BYTES`]) and
/// gives a reader that returns those bytes again, then the rest.
///
/// A read that returns nothing is the end, also on a terminal (Ctrl-D), so
/// the source is not read again after it: that would wait for a second Ctrl-D.
fn peek(mut reader: Box<dyn Read + Send>) -> (Vec<u8>, Box<dyn Read + Send>) {
    let mut head = Vec::new();
    let mut at_end = false;
    let mut error = None;
    let mut chunk = [0u8; 8192];
    while head.len() < PEEK_BYTES && memchr::memchr(b'\n', &head).is_none() {
        match reader.read(&mut chunk) {
            Ok(0) => {
                at_end = true;
                break;
            }
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                // Given after the bytes read before it, as any read error is.
                error = Some(e);
                break;
            }
        }
    }
    let replay = Replay {
        head: std::io::Cursor::new(head.clone()),
        error,
        rest: (!at_end).then_some(reader),
    };
    (head, Box::new(replay))
}

/// The bytes [`peek`] read, then the error it met or the rest of the source.
struct Replay {
    head: std::io::Cursor<Vec<u8>>,
    error: Option<std::io::Error>,
    rest: Option<Box<dyn Read + Send>>,
}

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 || buf.is_empty() {
            return Ok(n);
        }
        if let Some(e) = self.error.take() {
            self.rest = None;
            return Err(e);
        }
        match &mut self.rest {
            Some(rest) => rest.read(buf),
            None => Ok(0),
        }
    }
}

/// The first non-blank line of `head` if it is whole (or the source ends
/// there) and valid UTF-8, without a byte-order mark.
fn first_line(head: &[u8]) -> Option<&str> {
    let head = head.strip_prefix(BOM).unwrap_or(head);
    split_lines(head)
        .map(|range| &head[range])
        .find(|line| !is_blank(line))
        .and_then(|line| std::str::from_utf8(line).ok())
}

fn is_json_object(line: &str) -> bool {
    line.trim_start().starts_with('{') && serde_json::from_str::<&RawValue>(line).is_ok()
}

/// What a source is if its first bytes show it is not text, and how to
/// make text of it (`FILE` stands for its name).
fn binary_kind(head: &[u8]) -> Option<(&'static str, &'static str)> {
    const CONVERT: &str = "convert it to text first, e.g. `pandoc FILE -t plain -o FILE.txt`";
    let signatures: [(&[u8], &str, &str); 14] = [
        (
            b"%PDF-",
            "a PDF document",
            "convert it to text first, e.g. `pdftotext FILE`",
        ),
        (
            b"PK\x03\x04",
            "a ZIP archive (DOCX, XLSX, ODT and EPUB files are ZIP archives)",
            CONVERT,
        ),
        (b"PK\x05\x06", "an empty ZIP archive", CONVERT),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "an old Microsoft Office document (DOC, XLS, PPT)",
            "convert it to text first, e.g. `libreoffice --headless --convert-to txt FILE`",
        ),
        (b"{\\rtf", "an RTF document", CONVERT),
        (
            b"\x1F\x8B",
            "gzip-compressed",
            "decompress it first: `gunzip -c FILE | vektor label -`",
        ),
        (
            b"\xFD7zXZ\x00",
            "xz-compressed",
            "decompress it first: `xz -dc FILE | vektor label -`",
        ),
        (
            b"\x28\xB5\x2F\xFD",
            "zstd-compressed",
            "decompress it first: `zstd -dc FILE | vektor label -`",
        ),
        (
            b"\x89PNG",
            "a PNG image",
            "vektor labels text: run OCR first, e.g. `tesseract FILE FILE`",
        ),
        (
            b"\xFF\xD8\xFF",
            "a JPEG image",
            "vektor labels text: run OCR first, e.g. `tesseract FILE FILE`",
        ),
        (
            b"GIF8",
            "a GIF image",
            "vektor labels text: run OCR first, e.g. `tesseract FILE FILE`",
        ),
        (
            b"\xFF\xFE",
            "UTF-16 text",
            "convert it to UTF-8 first: `iconv -f UTF-16 -t UTF-8 FILE`",
        ),
        (
            b"\xFE\xFF",
            "UTF-16 text",
            "convert it to UTF-8 first: `iconv -f UTF-16 -t UTF-8 FILE`",
        ),
        (
            b"\x7FELF",
            "a program",
            "give vektor text, JSON Lines, CSV or TSV",
        ),
    ];
    if let Some(&(_, what, fix)) = signatures
        .iter()
        .find(|(magic, _, _)| head.starts_with(magic))
    {
        return Some((what, fix));
    }
    // No text format has NUL bytes; UTF-16 without a byte-order mark has many.
    memchr::memchr(0, head).map(|_| ("a binary file", "give vektor text, JSON Lines, CSV or TSV"))
}

impl Iterator for Records {
    type Item = Result<InputRecord<'static>>;

    fn next(&mut self) -> Option<Result<InputRecord<'static>>> {
        while self.buffered.is_empty() {
            match self.next_batch()? {
                Ok(mut batch) => {
                    self.buffered
                        .extend(batch.records().map(|r| r.map(InputRecord::into_owned)));
                    self.recycle(batch);
                }
                Err(e) => return Some(Err(e)),
            }
        }
        self.buffered.pop_front()
    }
}

/// Rows read from one source but not yet parsed: whole lines of a JSON Lines
/// or line-per-paragraph text source, which [`Batch::par_records`] parses on
/// all threads; or records already parsed while reading (CSV, TSV and
/// blank-line paragraphs, whose rows can span lines).
pub struct Batch {
    source: Arc<str>,
    content: Content,
    /// Plain-text paragraphs (not records): the whole source is one document.
    text: bool,
}

enum Content {
    Lines(Lines),
    Records(Vec<Result<InputRecord<'static>>>),
}

/// Whole lines and where each non-blank one is.
struct Lines {
    data: Vec<u8>,
    rows: Vec<LineRow>,
    /// JSON Lines if set (with the text field and fields to keep), else text.
    json: Option<Arc<InputOptions>>,
}

/// A non-blank line of a [`Lines`] batch.
struct LineRow {
    bytes: Range<usize>,
    line: u64,
    paragraph: u64,
}

impl Batch {
    /// The source the rows come from (`-` for standard input).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the rows are plain-text paragraphs of one source, which is
    /// then one document (an article), rather than records.
    pub fn is_text(&self) -> bool {
        self.text
    }

    /// Number of rows (paragraphs, or rows that cannot be read).
    pub fn len(&self) -> usize {
        match &self.content {
            Content::Lines(lines) => lines.rows.len(),
            Content::Records(records) => records.len(),
        }
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows in order: a paragraph, or why the row cannot be used.
    /// Records parsed while reading are moved out, so a second call gives
    /// only the line-based rows again.
    pub fn records(&mut self) -> impl Iterator<Item = Result<InputRecord<'_>>> + '_ {
        let Batch {
            source, content, ..
        } = self;
        match content {
            Content::Lines(lines) => {
                Either::Left(lines.rows.iter().map(|row| lines.parse(source, row)))
            }
            Content::Records(records) => {
                Either::Right(std::mem::take(records).into_iter().map(borrowed))
            }
        }
    }

    /// [`Batch::records`] parsed on the threads of the current rayon pool,
    /// still in input order when collected.
    pub fn par_records(
        &mut self,
    ) -> impl IndexedParallelIterator<Item = Result<InputRecord<'_>>> + '_ {
        let Batch {
            source, content, ..
        } = self;
        let source: &str = source;
        match content {
            Content::Lines(lines) => {
                let lines = &*lines;
                Either::Left(
                    lines
                        .rows
                        .par_iter()
                        .map(move |row| lines.parse(source, row)),
                )
            }
            Content::Records(records) => {
                Either::Right(std::mem::take(records).into_par_iter().map(borrowed))
            }
        }
    }
}

/// A record owning its data, seen as one that may borrow.
fn borrowed<'a>(record: Result<InputRecord<'static>>) -> Result<InputRecord<'a>> {
    record
}

impl Lines {
    fn parse<'a>(&'a self, source: &'a str, row: &LineRow) -> Result<InputRecord<'a>> {
        let error = |message: String| Error::parse(source, row.line, message);
        let line = std::str::from_utf8(&self.data[row.bytes.clone()])
            .map_err(|e| error(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
        let (text, fields) = match &self.json {
            None => (Cow::Borrowed(line.trim()), Fields::new()),
            Some(options) => json_row(line, options).map_err(error)?,
        };
        Ok(InputRecord {
            source: Cow::Borrowed(source),
            paragraph: row.paragraph,
            line: row.line,
            text,
            fields,
        })
    }
}

/// The text and the fields to keep of one JSON Lines row, or what is wrong with it.
fn json_row<'a>(
    line: &'a str,
    options: &InputOptions,
) -> std::result::Result<(Cow<'a, str>, Fields<'a>), String> {
    let mut fields = match serde_json::from_str::<RawObject>(line) {
        Ok(RawObject(fields)) => fields,
        Err(e) if e.is_data() => return Err("expected a JSON object".into()),
        Err(e) => return Err(format!("malformed JSON: {e}")),
    };
    let field = &options.text_field;
    let Some(at) = fields.iter().position(|(k, _)| k == field) else {
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_ref()).collect();
        return Err(format!(
            "missing text field `{field}` (the row has {}; choose one with --text-field)",
            if names.is_empty() {
                "no fields".to_string()
            } else {
                names.join(", ")
            }
        ));
    };
    let raw = match fields.remove(at).1 {
        Cow::Borrowed(raw) => raw,
        Cow::Owned(_) => unreachable!("`RawObject` borrows every value from the line"),
    };
    let text = match json_text(raw) {
        Ok(Some(text)) => text,
        Ok(None) => return Err(format!("text field `{field}` is null")),
        Err(()) => {
            return Err(format!(
                "text field `{field}` must be a string, got {}",
                raw.get()
            ))
        }
    };
    if text.trim().is_empty() {
        return Err("empty text".into());
    }
    if let Some(keep) = &options.keep_fields {
        fields.retain(|(k, _)| keep.iter().any(|name| name == k));
    }
    Ok((text, fields))
}

/// Is `line` empty or whitespace only (as `str::trim` sees it)? Invalid
/// UTF-8 is not blank. Runs for every line while reading, so it looks
/// no further than the first character that is not an ASCII space.
fn is_blank(line: &[u8]) -> bool {
    let ascii_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0B | 0x0C);
    let Some(at) = line.iter().position(|b| !ascii_space(b)) else {
        return true;
    };
    if line[at] < 0x80 {
        return false;
    }
    // A multi-byte character: blank only if it and the rest are Unicode
    // whitespace (a no-break or ideographic space line), which is rare.
    let prefix = &line[at..line.len().min(at + 4)];
    let first = prefix
        .utf8_chunks()
        .next()
        .and_then(|c| c.valid().chars().next());
    first.is_some_and(char::is_whitespace)
        && std::str::from_utf8(line).is_ok_and(|s| s.trim().is_empty())
}

enum Kind {
    /// One paragraph per line (JSON Lines if `json`).
    Lines { lines: LineReader, json: bool },
    /// Blocks separated by blank lines.
    Blocks {
        lines: LineReader,
        splitter: ParagraphSplitter,
    },
    Delimited {
        reader: Box<csv::Reader<Box<dyn Read + Send>>>,
        text_column: Option<usize>,
        header: Vec<String>,
    },
}

struct SourceReader {
    name: Arc<str>,
    kind: Kind,
    options: Arc<InputOptions>,
    /// Lines and paragraphs handed out so far.
    line: u64,
    paragraph: u64,
    failed: bool,
}

/// Reads whole lines in blocks of about [`BATCH_BYTES`].
struct LineReader {
    /// `None` once the source is read to its end.
    reader: Option<Box<dyn Read + Send>>,
    /// Whether a block was returned yet (the BOM is stripped from the first).
    started: bool,
    /// The start of a line whose end has not been read yet.
    carry: Vec<u8>,
    /// An error met after some lines were read, returned by the next call.
    error: Option<std::io::Error>,
}

impl LineReader {
    /// The next block of whole lines (the last one may lack its `\n`);
    /// `Ok(None)` at the end, which an error also is (after it is returned).
    ///
    /// The block is read into `buffer`, whose contents are dropped.
    fn next_block(&mut self, buffer: Vec<u8>) -> std::io::Result<Option<Vec<u8>>> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let Some(reader) = &mut self.reader else {
            return Ok(None);
        };
        let mut data = buffer;
        data.clear();
        data.extend_from_slice(&self.carry);
        self.carry.clear();
        let mut searched = 0;
        let mut at_end = false;
        loop {
            if data.len() >= BATCH_BYTES && memchr::memchr(b'\n', &data[searched..]).is_some() {
                break;
            }
            searched = data.len();
            data.reserve(READ_SIZE);
            // `read_to_end` through `take` grows the buffer as needed and
            // retries interrupted reads.
            match reader
                .by_ref()
                .take(READ_SIZE as u64)
                .read_to_end(&mut data)
            {
                // Fewer bytes than asked means a read returned nothing: the
                // end. On a terminal that was Ctrl-D, so reading again would
                // wait for a second one.
                Ok(n) if n < READ_SIZE => {
                    searched = data.len();
                    at_end = true;
                }
                Ok(_) => {}
                Err(e) => {
                    // Keep the whole lines read so far; a line cut short by
                    // the failure is not a row.
                    let whole = memchr::memrchr(b'\n', &data).map_or(0, |last| last + 1);
                    data.truncate(whole);
                    searched = whole;
                    self.error = Some(e);
                    at_end = true;
                }
            }
            if at_end {
                data.truncate(searched);
                self.reader = None;
                break;
            }
        }
        if !at_end {
            let cut = memchr::memrchr(b'\n', &data).expect("found above") + 1;
            self.carry.extend_from_slice(&data[cut..]);
            data.truncate(cut);
        }
        if !self.started && data.starts_with(BOM) {
            data.drain(..BOM.len());
        }
        self.started = true;
        if data.is_empty() {
            return match self.error.take() {
                Some(e) => Err(e),
                None => Ok(None),
            };
        }
        Ok(Some(data))
    }
}

/// The lines of `data` without their line endings (`\n`, `\r\n`, stray `\r`s).
fn split_lines(data: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut start = 0;
    let ends =
        memchr::memchr_iter(b'\n', data).chain((data.last() != Some(&b'\n')).then_some(data.len()));
    ends.map(move |end| {
        let mut stop = end;
        while stop > start && data[stop - 1] == b'\r' {
            stop -= 1;
        }
        let line = start..stop;
        start = end + 1;
        line
    })
}

impl SourceReader {
    fn new(
        name: Arc<str>,
        reader: Box<dyn Read + Send>,
        format: InputFormat,
        options: &Arc<InputOptions>,
    ) -> Self {
        let lines = LineReader {
            reader: Some(reader),
            started: false,
            carry: Vec::new(),
            error: None,
        };
        let kind = match format {
            InputFormat::Text if options.paragraphs == ParagraphMode::Blank => Kind::Blocks {
                lines,
                splitter: ParagraphSplitter::new(ParagraphMode::Blank),
            },
            InputFormat::Text => Kind::Lines { lines, json: false },
            InputFormat::Jsonl => Kind::Lines { lines, json: true },
            InputFormat::Csv | InputFormat::Tsv => {
                let delimiter = if format == InputFormat::Csv {
                    b','
                } else {
                    b'\t'
                };
                let reader = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(false)
                    .from_reader(lines.reader.expect("just set"));
                Kind::Delimited {
                    reader: Box::new(reader),
                    text_column: None,
                    header: Vec::new(),
                }
            }
        };
        SourceReader {
            name,
            kind,
            options: Arc::clone(options),
            line: 0,
            paragraph: 0,
            failed: false,
        }
    }

    fn row_error(&self, line: u64, message: impl Into<String>) -> Error {
        Error::parse(self.name.as_ref(), line, message)
    }

    fn batch(&self, content: Content) -> Batch {
        Batch {
            source: Arc::clone(&self.name),
            content,
            text: matches!(
                self.kind,
                Kind::Lines { json: false, .. } | Kind::Blocks { .. }
            ),
        }
    }

    fn next_batch(&mut self, spare: &mut Spare) -> Option<Result<Batch>> {
        if self.failed {
            return None;
        }
        match &self.kind {
            Kind::Lines { .. } => self.next_lines(std::mem::take(spare)),
            Kind::Blocks { .. } => self.next_blocks(),
            Kind::Delimited { .. } => self.next_delimited_batch(),
        }
    }

    /// The next block of lines, numbered but not parsed.
    fn next_lines(&mut self, spare: Spare) -> Option<Result<Batch>> {
        let Kind::Lines { lines, json } = &mut self.kind else {
            unreachable!("called only for line-per-paragraph sources")
        };
        let json = *json;
        let data = match lines.next_block(spare.data).transpose()? {
            Ok(data) => data,
            Err(e) => {
                // A block left half-built by the failure is not a paragraph.
                self.failed = true;
                return Some(Err(Error::io(self.name.as_ref(), e)));
            }
        };
        let mut rows = spare.rows;
        rows.clear();
        for bytes in split_lines(&data) {
            self.line += 1;
            if !is_blank(&data[bytes.clone()]) {
                self.paragraph += 1;
                rows.push(LineRow {
                    bytes,
                    line: self.line,
                    paragraph: self.paragraph,
                });
            }
        }
        let json = json.then(|| Arc::clone(&self.options));
        Some(Ok(self.batch(Content::Lines(Lines { data, rows, json }))))
    }

    /// The paragraphs completed by the next block of lines, for blank-line
    /// separated text. The splitter (and the block it is building) lives in
    /// `self`, so a bad line inside a block is reported and skipped without
    /// losing the lines around it.
    fn next_blocks(&mut self) -> Option<Result<Batch>> {
        let Kind::Blocks { lines, splitter } = &mut self.kind else {
            unreachable!("called only for blank-line separated text")
        };
        let data = match lines.next_block(Vec::new()) {
            Ok(data) => data,
            Err(e) => {
                // A block left half-built by the failure is not a paragraph.
                self.failed = true;
                return Some(Err(Error::io(self.name.as_ref(), e)));
            }
        };
        let name = &self.name;
        let mut counter = self.paragraph;
        let mut record = |paragraph: Paragraph| {
            counter += 1;
            InputRecord {
                source: Cow::Owned(name.to_string()),
                paragraph: counter,
                line: paragraph.line,
                text: Cow::Owned(paragraph.text),
                fields: Fields::new(),
            }
        };
        let mut records = Vec::new();
        let Some(data) = data else {
            let last = record(splitter.finish()?);
            self.paragraph = counter;
            return Some(Ok(self.batch(Content::Records(vec![Ok(last)]))));
        };
        for bytes in split_lines(&data) {
            self.line += 1;
            match std::str::from_utf8(&data[bytes]) {
                Ok(line) => {
                    if let Some(p) = splitter.push_line(self.line, line) {
                        records.push(Ok(record(p)));
                    }
                }
                Err(e) => records.push(Err(Error::parse(
                    name.as_ref(),
                    self.line,
                    format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                ))),
            }
        }
        self.paragraph = counter;
        Some(Ok(self.batch(Content::Records(records))))
    }

    fn next_delimited_batch(&mut self) -> Option<Result<Batch>> {
        let mut records = Vec::new();
        while records.len() < BATCH_RECORDS && !self.failed {
            match self.next_delimited() {
                Some(record) => records.push(record),
                None => break,
            }
        }
        if records.is_empty() {
            return None;
        }
        Some(Ok(self.batch(Content::Records(records))))
    }

    fn next_delimited(&mut self) -> Option<Result<InputRecord<'static>>> {
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
            match names.iter().position(|n| *n == self.options.text_field) {
                Some(c) => *text_column = Some(c),
                None => {
                    self.failed = true;
                    return Some(Err(Error::parse(
                        self.name.as_ref(),
                        1,
                        format!(
                            "header has no text column `{}` (columns: {})",
                            self.options.text_field,
                            names.join(", ")
                        ),
                    )));
                }
            }
            if let Some(keep) = &self.options.keep_fields {
                if let Some(absent) = keep.iter().find(|k| !names.contains(k)) {
                    self.failed = true;
                    return Some(Err(Error::parse(
                        self.name.as_ref(),
                        1,
                        format!(
                            "header has no column `{absent}` to keep (columns: {})",
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
                if let csv::ErrorKind::Io(_) = e.kind() {
                    self.failed = true;
                    let message = e.to_string();
                    return Some(Err(Error::io(
                        self.name.as_ref(),
                        std::io::Error::other(message),
                    )));
                }
                // The csv reader cannot resynchronise after a broken quote.
                self.failed = !matches!(
                    e.kind(),
                    csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                );
                self.paragraph += 1;
                return Some(Err(self.row_error(line, format!("malformed CSV: {e}"))));
            }
        }
        self.line = line;
        self.paragraph += 1;
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
                .options
                .keep_fields
                .as_ref()
                .is_none_or(|keep| keep.contains(&header[c]))
            {
                fields.push((Cow::Owned(header[c].clone()), Cow::Owned(raw_string(value))));
            }
        }
        match text {
            Some(text) if !text.trim().is_empty() => Some(Ok(InputRecord {
                source: Cow::Owned(self.name.to_string()),
                paragraph: self.paragraph,
                line,
                text: Cow::Owned(text),
                fields,
            })),
            _ => Some(Err(self.row_error(line, "empty text"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `is_blank` must agree with, checking the whole line.
    fn blank_by_trim(line: &[u8]) -> bool {
        std::str::from_utf8(line).is_ok_and(|s| s.trim().is_empty())
    }

    #[test]
    fn blank_lines_are_told_as_str_trim_tells_them() {
        let lines: [&[u8]; 9] = [
            b"",
            b" \t\x0b\x0c\r",
            "\u{a0}\u{3000} ".as_bytes(),
            " \u{a0}x".as_bytes(),
            b"x",
            " \u{2019}text".as_bytes(),
            b" \xff",
            b"\xe2\x80",
            "\u{a0}\u{2019}".as_bytes(),
        ];
        for line in lines {
            assert_eq!(is_blank(line), blank_by_trim(line), "{line:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn blank_lines_agree_with_str_trim(line in proptest::collection::vec(
            proptest::sample::select(vec![b' ', b'\t', b'x', 0xC2, 0xA0, 0xE3, 0x80, 0xFF]),
            0..12,
        )) {
            proptest::prop_assert_eq!(is_blank(&line), blank_by_trim(&line));
        }
    }
}
