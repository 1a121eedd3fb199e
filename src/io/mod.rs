//! Readers of paragraphs to label and writers of labelled records.
//!
//! [`input`] turns files, directories and standard input (plain text, JSON
//! Lines, CSV, TSV) into a stream of [`input::InputRecord`]s; [`output`]
//! writes labelled records as JSON Lines, CSV, TSV or a terminal table.

pub mod input;
pub mod output;
