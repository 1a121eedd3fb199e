//! `vektor inspect`: the model card and the strongest terms per class.

use std::io::Write;

use anyhow::Result;
use clap::Args;

use super::options::{reproduce_command, retrained_path};
use super::ModelArg;

#[derive(Debug, Args)]
pub struct InspectCmd {
    #[command(flatten)]
    model: ModelArg,
    /// Terms to show per class.
    #[arg(long, default_value_t = 15)]
    top: usize,
}

pub fn run(cmd: InspectCmd) -> Result<u8> {
    let mut out = super::stdout();
    let model = cmd.model.load()?;
    let card = model.card();
    writeln!(
        out,
        "vektor model (trained by vektor {})",
        card.vektor_version
    )?;
    writeln!(
        out,
        "training data: {} ({} paragraphs, sha256 {})",
        card.training_file, card.rows, card.training_sha256
    )?;
    writeln!(out, "vocabulary: {} features", card.vocabulary)?;
    let out_path = retrained_path(cmd.model.path());
    writeln!(out, "reproduce: {}", reproduce_command(card, &out_path))?;
    for (head, counts) in &card.class_counts {
        let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{c} {n}")).collect();
        writeln!(out, "classes of {head}: {}", parts.join(", "))?;
    }
    match &card.dev {
        Some(dev) => {
            for (head, score) in &dev.heads {
                writeln!(
                    out,
                    "dev ({}, {} rows) {head}: accuracy {:.3}, macro-F1 {:.3}",
                    dev.file, dev.rows, score.accuracy, score.macro_f1
                )?;
            }
        }
        None => writeln!(
            out,
            "dev figures: none recorded (train with --dev FILE to record them)"
        )?,
    }
    let terms = model.vectorizer().terms();
    let words = ExampleWords::from_training_file(&model);
    if words.is_none() {
        writeln!(
            out,
            "(terms are shown as stems: the training file {} is not here to find their words in)",
            card.training_file
        )?;
    }
    for head in model.heads() {
        writeln!(out, "\n== {} ==", head.name)?;
        for (c, class) in head.classes.iter().enumerate() {
            let mut ranked: Vec<(usize, f32)> = (0..terms.len())
                .map(|f| (f, head.feature_weights(f)[c]))
                .collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let top: Vec<String> = ranked
                .iter()
                .take(cmd.top)
                .map(|&(f, _)| match &words {
                    Some(words) => words.show(&terms[f]),
                    None => terms[f].clone(),
                })
                .collect();
            writeln!(out, "{class:>11}: {}", top.join(", "))?;
        }
    }
    Ok(0)
}

/// The word most often written for each stem in the training file, so that
/// `agre` shows as `agreement`: terms are stems, which read badly.
struct ExampleWords(std::collections::HashMap<String, String>);

impl ExampleWords {
    /// Reads the training file named in the card, if it is still there.
    fn from_training_file(model: &vektor::Model) -> Option<ExampleWords> {
        let text = std::fs::read_to_string(&model.card().training_file).ok()?;
        let options = model.vectorizer().options();
        let analyzer = vektor::text::Analyzer::new(options.stem, options.stop_words);
        let mut counts: std::collections::HashMap<String, std::collections::HashMap<String, u32>> =
            Default::default();
        let mut lower = String::new();
        for range in vektor::text::words(&text) {
            vektor::text::lowercase_into(&text[range], &mut lower);
            if let Some(stem) = analyzer.term(&lower) {
                *counts
                    .entry(stem.into_owned())
                    .or_default()
                    .entry(lower.clone())
                    .or_default() += 1;
            }
        }
        let best = counts
            .into_iter()
            .filter_map(|(stem, words)| {
                let (word, _) = words
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
                Some((stem, word))
            })
            .collect();
        Some(ExampleWords(best))
    }

    /// A term (`oil pipelin`, `@russia`) with each stem as its usual word.
    fn show(&self, term: &str) -> String {
        term.split(' ')
            .map(|stem| self.0.get(stem).map_or(stem, String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
