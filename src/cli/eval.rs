//! `vektor eval`: per-head metrics and confusion on labelled data, and the
//! most confident mistakes (`--errors N`) as material for the next labelling round.

use std::path::PathBuf;

use std::io::Write;

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::{parse_threshold, thresholds_for, ModelArg};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct EvalCmd {
    /// Labelled held-out paragraphs (.jsonl or .csv/.tsv).
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    model: ModelArg,
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    format: ReportFormat,
    /// Also list the N most confident mistakes per head.
    #[arg(long, value_name = "N")]
    errors: Option<usize>,
    /// Report coverage and accuracy when abstaining below these confidences: `stance=0.6`.
    #[arg(long, value_delimiter = ',', value_parser = parse_threshold)]
    min_confidence: Vec<(String, f32)>,
}

pub fn run(cmd: EvalCmd) -> Result<u8> {
    let mut out = super::stdout();
    let model = cmd.model.load()?;
    let heads: Vec<String> = model.heads().iter().map(|h| h.name.clone()).collect();
    // Held-out files are often labelled for one head only; those are scored
    // on the heads they have, and the rest are named as not evaluated.
    let set = vektor::TrainingSet::load_present(&cmd.data, &heads)?;
    let skipped = vektor::eval::unevaluated_heads(&model, &set);
    warn_about_misleading_scores(&model, &set);
    let thresholds = thresholds_for(&model, &cmd.min_confidence)?;
    // Labelled once, for the scores and for the languages and refusals.
    let predictions = model.label_docs(&set.texts(), &set.docs());
    let reports = vektor::eval::score(&model, &set, &predictions, &thresholds)?;
    let readability = vektor::eval::readability(&predictions);
    let mistakes = match cmd.errors {
        Some(n) => vektor::eval::most_confident_mistakes(&model, &set, n),
        None => Vec::new(),
    };
    match cmd.format {
        ReportFormat::Json => {
            let json = serde_json::json!({"data": set.source(), "rows": set.len(), "heads": reports, "skipped_heads": skipped, "readability": readability, "errors": mistakes});
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        ReportFormat::Table => {
            writeln!(out, "{} ({} paragraphs)", set.source(), set.len())?;
            let count = |m: &std::collections::BTreeMap<String, usize>| {
                m.iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(out, "languages: {}", count(&readability.languages))?;
            if !readability.unreadable.is_empty() {
                writeln!(
                    out,
                    "labelled uncertain, unreadable to the model: {}",
                    count(&readability.unreadable)
                )?;
            }
            writeln!(out)?;
            for head in model.heads() {
                match reports.iter().find(|r| r.head == head.name) {
                    Some(report) => writeln!(out, "{}", super::report::head_table(report))?,
                    None => writeln!(out, "head {}: not in the data, not evaluated\n", head.name)?,
                }
            }
            for m in &mistakes {
                writeln!(
                    out,
                    "[{}] gold {} / predicted {} ({:.0}%): {}",
                    m.head,
                    m.gold,
                    m.predicted,
                    m.confidence * 100.0,
                    m.text
                )?;
                writeln!(out, "      terms: {}", m.terms.join(", "))?;
            }
        }
    }
    Ok(0)
}

/// Warns on stderr when the scores would mislead: the data is the model's
/// own training file, or some gold labels are classes the model lacks
/// (those rows are left out of the scores).
fn warn_about_misleading_scores(model: &vektor::Model, set: &vektor::TrainingSet) {
    if set.sha256() == model.card().training_sha256 {
        eprintln!(
            "vektor: warning: {} is the file this model was trained on (same SHA-256); \
             the scores show how well it fits its own training rows, not how it labels new text",
            set.source()
        );
    }
    for (h, name) in set.heads().iter().enumerate() {
        let Some(head) = model.heads().iter().find(|head| head.name == *name) else {
            continue;
        };
        let mut unknown: Vec<&str> = set
            .labels(h)
            .into_iter()
            .filter(|label| !head.classes.iter().any(|c| c == label))
            .collect();
        if unknown.is_empty() {
            continue;
        }
        let rows = unknown.len();
        unknown.sort_unstable();
        unknown.dedup();
        eprintln!(
            "vektor: warning: head {name}: {rows} row{} with a gold label the model does not know ({}); \
             left out of the scores",
            if rows == 1 { "" } else { "s" },
            unknown.join(", ")
        );
    }
}
