//! Subcommands, one file each; this file holds the argument types they share.

mod curve;
mod eval;
mod inspect;
mod label;
mod options;
mod progress;
mod report;
mod train;
mod tune;
mod values;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use vektor::{Model, TrainingSet};

pub use options::TrainArgs;

/// Label paragraphs of news and analysis by theme and by stance toward Moscow.
#[derive(Debug, Parser)]
#[command(name = "vektor", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model on labelled paragraphs (JSON Lines or CSV).
    Train(train::TrainCmd),
    /// Label paragraphs from files, directories or stdin.
    Label(label::LabelCmd),
    /// Show a model's card and its most telling terms per class.
    Inspect(inspect::InspectCmd),
    /// Score a model on labelled held-out data.
    Eval(eval::EvalCmd),
    /// Cross-validate training options.
    Cv(tune::CvCmd),
    /// Grid-search training options.
    Tune(Box<tune::TuneCmd>),
    /// Learning curve: dev scores when training on growing shares of the data.
    Curve(curve::CurveCmd),
}

/// Runs a parsed command line; returns the exit status.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Train(cmd) => train::run(cmd),
        Command::Label(cmd) => label::run(cmd),
        Command::Inspect(cmd) => inspect::run(cmd),
        Command::Eval(cmd) => eval::run(cmd),
        Command::Cv(cmd) => tune::run_cv(cmd),
        Command::Tune(cmd) => tune::run_tune(*cmd),
        Command::Curve(cmd) => curve::run(cmd),
    }
}

/// True when the error is a closed output pipe, which is a normal end.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || match cause.downcast_ref::<vektor::Error>() {
                Some(vektor::Error::Io { cause, .. }) | Some(vektor::Error::Output(cause)) => {
                    cause.kind() == std::io::ErrorKind::BrokenPipe
                }
                _ => false,
            }
    })
}

/// Which model to use: `--model`, else `VEKTOR_MODEL`, else the shipped one.
#[derive(Debug, Args)]
pub struct ModelArg {
    /// Model file [default: the shipped model, built into the binary].
    #[arg(long, env = "VEKTOR_MODEL")]
    model: Option<PathBuf>,
}

impl ModelArg {
    /// The model file given, if any (none: the shipped model).
    fn path(&self) -> Option<&std::path::Path> {
        self.model.as_deref()
    }

    fn load(&self) -> Result<Model> {
        match &self.model {
            Some(path) => Ok(Model::load(path)?),
            None => Ok(vektor::shipped_model()?),
        }
    }
}

/// Reads a labelled set; the library's errors already name the file and line.
fn load_set(path: &std::path::Path, heads: &[String]) -> Result<TrainingSet> {
    Ok(TrainingSet::load(path, heads)?)
}

/// Parses `HEAD=P` for `--min-confidence`, with P between 0 and 1.
fn parse_threshold(s: &str) -> std::result::Result<(String, f32), String> {
    // `stance=0.6, theme=0.5` is split at the commas; the spaces go.
    let s = s.trim();
    let (head, value) = s
        .split_once('=')
        .map(|(head, value)| (head.trim(), value.trim()))
        .ok_or_else(|| format!("expected HEAD=P, got `{s}`"))?;
    let p: f32 = value
        .parse()
        .map_err(|_| format!("`{value}` is not a number"))?;
    if !(0.0..=1.0).contains(&p) {
        return Err(format!("confidence must be between 0 and 1, got {p}"));
    }
    Ok((head.to_string(), p))
}

/// `--min-confidence` pairs as a map, refusing heads the model does not have.
fn thresholds_for(
    model: &Model,
    pairs: &[(String, f32)],
) -> Result<std::collections::BTreeMap<String, f32>> {
    let names: Vec<&str> = model.heads().iter().map(|h| h.name.as_str()).collect();
    if let Some((head, _)) = pairs
        .iter()
        .find(|(head, _)| !names.contains(&head.as_str()))
    {
        anyhow::bail!(
            "--min-confidence names head `{head}`, but the model has {}",
            names.join(", ")
        );
    }
    Ok(pairs.iter().cloned().collect())
}

/// Standard output for reports. Commands write to it with `writeln!(…)?`
/// rather than `println!`, which panics when the reader of a pipe goes away
/// (`vektor inspect | head`); the error instead ends the run quietly.
fn stdout() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}
