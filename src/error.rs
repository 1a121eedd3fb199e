//! The library's one error type.
//!
//! Every variant that comes from reading user input carries the file and,
//! where there is one, the 1-based line, so that a message can be printed as
//! it is and still tell the user exactly what to fix.

use std::path::PathBuf;

/// Everything that can go wrong in vektor's library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying I/O error (part of the message, not a separate
        /// cause, so that it is printed once).
        cause: std::io::Error,
    },

    /// A line of an input file is not what its format requires
    /// (malformed JSON or CSV, a field of the wrong type, invalid UTF-8 …).
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file involved (`-` for standard input).
        path: PathBuf,
        /// 1-based line number (for CSV: the record's line).
        line: u64,
        /// What is wrong, in words.
        message: String,
    },

    /// A file's format could not be told from its name.
    #[error("{path}: cannot tell the format from the extension; use one of {expected}")]
    UnknownFormat {
        /// The file involved.
        path: PathBuf,
        /// The extensions (or format names) accepted.
        expected: &'static str,
    },

    /// An input is not text (a PDF, an archive, an image …).
    #[error(
        "{path}: {what}, which vektor cannot read (it reads text, JSON Lines, CSV and TSV); {fix}"
    )]
    Unreadable {
        /// The file involved (`-` for standard input).
        path: PathBuf,
        /// What the file is, as its first bytes tell.
        what: &'static str,
        /// How to make text of it.
        fix: String,
    },

    /// A URL was given where a file was expected.
    #[error("{url}: URLs are not fetched; pipe them: `curl -sL '{url}' | vektor label -`")]
    Url {
        /// The URL given.
        url: String,
    },

    /// A directory holds no file to label.
    #[error("{path}: no files to label ({expected}, searched recursively); {holds}")]
    NothingToLabel {
        /// The directory.
        path: PathBuf,
        /// The extensions looked for.
        expected: &'static str,
        /// What it holds instead, in words.
        holds: String,
    },

    /// A labelled row does not fit the columns of delimited output, fixed
    /// when the header was written.
    #[error("{path}:{line}: {message}")]
    Unwritable {
        /// The input the row came from.
        path: PathBuf,
        /// Its 1-based line.
        line: u64,
        /// What does not fit, and what to do.
        message: String,
    },

    /// Labelled records could not be written to their sink.
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),

    /// A training or evaluation set cannot be used as it is.
    #[error("{0}")]
    Data(String),

    /// An option is out of range; the message names the option and its value.
    #[error("invalid option: {0}")]
    Option(String),

    /// A model file is unreadable, of another format or version, or inconsistent.
    #[error("{path}: not a usable vektor model: {message}")]
    Model {
        /// The model file (or `<embedded>` for the shipped model).
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// The actor gazetteer file is malformed.
    #[error("{path}: {message}")]
    Actors {
        /// The gazetteer file.
        path: PathBuf,
        /// What is wrong, with the line where known.
        message: String,
    },

    /// The optimiser failed while fitting a classifier head.
    #[error("training head `{head}` failed: {message}")]
    Training {
        /// The head being fitted.
        head: String,
        /// The solver's message.
        message: String,
    },
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }

    /// A parse error at `path:line`.
    pub fn parse(path: impl Into<PathBuf>, line: u64, message: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}
