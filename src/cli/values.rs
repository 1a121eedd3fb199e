//! Value parsers for `vektor label` flags, so that `--help` lists every
//! accepted value.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use vektor::io::input::InputFormat;
use vektor::io::output::OutputFormat;
use vektor::text::Lang;

/// `--input-format` values, listed in `--help`.
pub fn input_formats() -> impl clap::builder::TypedValueParser<Value = InputFormat> {
    let values = [
        PossibleValue::new("text").alias("txt"),
        PossibleValue::new("jsonl").alias("ndjson"),
        PossibleValue::new("csv"),
        PossibleValue::new("tsv"),
    ];
    PossibleValuesParser::new(values).map(|s| {
        s.parse::<InputFormat>()
            .expect("every listed value is an input format")
    })
}

/// `-f` values, listed in `--help`.
pub fn output_formats() -> impl clap::builder::TypedValueParser<Value = OutputFormat> {
    let values = [
        PossibleValue::new("jsonl").alias("ndjson"),
        PossibleValue::new("csv"),
        PossibleValue::new("tsv"),
        PossibleValue::new("table"),
    ];
    PossibleValuesParser::new(values).map(|s| {
        s.parse::<OutputFormat>()
            .expect("every listed value is an output format")
    })
}

/// A value with surrounding spaces removed (`--keep-fields "id, url"`).
pub fn trimmed(s: &str) -> std::result::Result<String, String> {
    Ok(s.trim().to_string())
}

/// `--lang`: a language, or `None` for `auto`.
#[derive(Debug, Clone, Copy)]
pub struct LangArg(pub Option<Lang>);

/// Parses `--lang`.
pub fn parse_lang(s: &str) -> std::result::Result<LangArg, String> {
    match s {
        "auto" => Ok(LangArg(None)),
        other => other
            .parse::<Lang>()
            .map(|lang| LangArg(Some(lang)))
            .map_err(|e| format!("{e}, or auto")),
    }
}
