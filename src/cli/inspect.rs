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
    for head in model.heads() {
        writeln!(out, "\n== {} ==", head.name)?;
        for (c, class) in head.classes.iter().enumerate() {
            let mut ranked: Vec<(usize, f32)> = (0..terms.len())
                .map(|f| (f, head.feature_weights(f)[c]))
                .collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let top: Vec<&str> = ranked
                .iter()
                .take(cmd.top)
                .map(|&(f, _)| terms[f].as_str())
                .collect();
            writeln!(out, "{class:>11}: {}", top.join(", "))?;
        }
    }
    Ok(0)
}
