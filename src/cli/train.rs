//! `vektor train`: fit a model and write it atomically.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use super::{load_set, TrainArgs};

#[derive(Debug, Args)]
pub struct TrainCmd {
    /// Labelled paragraphs (.jsonl or .csv/.tsv with a header), as `--data FILE` or `FILE`.
    #[arg(
        long = "data",
        value_name = "FILE",
        required_unless_present = "data_file"
    )]
    data: Option<PathBuf>,
    /// The same as `--data FILE`.
    #[arg(value_name = "FILE", conflicts_with = "data")]
    data_file: Option<PathBuf>,
    /// Where to write the model file.
    #[arg(long)]
    out: PathBuf,
    /// Held-out labelled set; its figures are recorded in the model card.
    #[arg(long)]
    dev: Option<PathBuf>,
    #[command(flatten)]
    train: TrainArgs,
}

pub fn run(cmd: TrainCmd) -> Result<u8> {
    let options = cmd.train.options()?;
    let data = cmd
        .data
        .as_deref()
        .or(cmd.data_file.as_deref())
        .expect("clap requires --data or a FILE");
    let set = load_set(data, &options.labels)?;
    let dev = cmd
        .dev
        .as_deref()
        .map(|path| load_set(path, &options.labels))
        .transpose()?;
    let started = Instant::now();
    let mut model = vektor::train(&set, &options)?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(dev) = &dev {
        model.set_dev_summary(vektor::eval::dev_summary(&model, dev)?);
    }
    model
        .save(&cmd.out)
        .with_context(|| format!("cannot write the model to {}", cmd.out.display()))?;
    eprintln!(
        "trained on {} paragraphs: {} features, {} in {seconds:.1}s → {}",
        set.len(),
        model.vectorizer().len(),
        model
            .heads()
            .iter()
            .map(|h| format!("{} ({} classes)", h.name, h.classes.len()))
            .collect::<Vec<_>>()
            .join(", "),
        cmd.out.display()
    );
    for (head, fit) in &model.card().fits {
        if !fit.converged {
            eprintln!(
                "vektor: warning: head `{head}` stopped after {} iterations without converging \
                 (recorded in the model card; raise --max-iterations or --alpha)",
                fit.iterations
            );
        }
    }
    if let Some(dev) = &model.card().dev {
        for (head, score) in &dev.heads {
            eprintln!(
                "  dev {head}: accuracy {:.3}, macro-F1 {:.3} ({} rows)",
                score.accuracy, score.macro_f1, dev.rows
            );
        }
    }
    Ok(0)
}
