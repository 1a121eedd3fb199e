//! `vektor cv` and `vektor tune`: cross-validation and grid search.

use std::path::PathBuf;
use std::time::Instant;

use std::io::Write;

use anyhow::Result;
use clap::Args;
use vektor::eval::{cross_validate, mean_sd};
use vektor::features::CharNgrams;
use vektor::tune::{tune, Grid, Scoring, TuneResult};

use super::options::train_command;
use super::{load_set, TrainArgs};

#[derive(Debug, Args)]
pub struct CvCmd {
    /// Labelled paragraphs.
    #[arg(long)]
    data: PathBuf,
    /// Number of folds, stratified on the first label field.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Shuffle seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    train: TrainArgs,
}

pub fn run_cv(cmd: CvCmd) -> Result<u8> {
    let mut out = super::stdout();
    let options = cmd.train.options()?;
    let set = load_set(&cmd.data, &options.labels)?;
    let started = Instant::now();
    let folds = cross_validate(&set, &options, cmd.folds, cmd.seed)?;
    writeln!(
        out,
        "{}-fold cross-validation of {} ({} paragraphs, seed {})",
        cmd.folds,
        set.source(),
        set.len(),
        cmd.seed
    )?;
    for head in &options.labels {
        let f1: Vec<f64> = folds.iter().map(|f| f.heads[head].macro_f1).collect();
        let acc: Vec<f64> = folds.iter().map(|f| f.heads[head].accuracy).collect();
        let per_fold: Vec<String> = f1.iter().map(|v| format!("{v:.3}")).collect();
        let (f1_mean, f1_sd) = mean_sd(&f1);
        let (acc_mean, acc_sd) = mean_sd(&acc);
        writeln!(out, "{head:>8}: macro-F1 {f1_mean:.3} ± {f1_sd:.3}  accuracy {acc_mean:.3} ± {acc_sd:.3}  (folds: {})", per_fold.join(" "))?;
    }
    eprintln!("({:.0}s)", started.elapsed().as_secs_f64());
    Ok(0)
}

#[derive(Debug, Args)]
pub struct TuneCmd {
    /// Labelled training paragraphs.
    #[arg(long)]
    data: PathBuf,
    /// Score on this held-out set instead of cross-validation (one training per combination).
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Folds for cross-validation (without --dev).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Shuffle seed for cross-validation.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// L2 penalties to try.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().alpha)]
    grid_alpha: Vec<f64>,
    /// Longest n-grams to try.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().ngrams)]
    grid_ngrams: Vec<usize>,
    /// Minimum document frequencies to try.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().min_df)]
    grid_min_df: Vec<usize>,
    /// Sublinear tf settings to try.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().sublinear_tf)]
    grid_sublinear_tf: Vec<bool>,
    /// Vocabulary caps to try.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().max_features)]
    grid_max_features: Vec<usize>,
    /// Stemming settings to try.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().stem)]
    grid_stem: Vec<bool>,
    /// Class balancing settings to try.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().balance)]
    grid_balance: Vec<bool>,
    /// Actor marker settings to try.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().actors)]
    grid_actors: Vec<bool>,
    /// Character n-gram settings to try (`off`, `3-5` …).
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().char_ngrams)]
    grid_char_ngrams: Vec<CharNgrams>,
    /// Actor-sentence settings to try.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().actor_sentences)]
    grid_actor_sentences: Vec<bool>,
    /// Document-context settings to try.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().doc_context)]
    grid_doc_context: Vec<bool>,
    /// Rows of the ranking to print.
    #[arg(long, default_value_t = 15)]
    show: usize,
    /// Base options (label fields, solver, gazetteer); grid values override them.
    #[command(flatten)]
    train: TrainArgs,
}

pub fn run_tune(cmd: TuneCmd) -> Result<u8> {
    let mut out = super::stdout();
    let base = cmd.train.options()?;
    let set = load_set(&cmd.data, &base.labels)?;
    let dev = cmd
        .dev
        .as_deref()
        .map(|p| load_set(p, &base.labels))
        .transpose()?;
    let grid = Grid {
        alpha: cmd.grid_alpha,
        ngrams: cmd.grid_ngrams,
        min_df: cmd.grid_min_df,
        sublinear_tf: cmd.grid_sublinear_tf,
        max_features: cmd.grid_max_features,
        stem: cmd.grid_stem,
        balance: cmd.grid_balance,
        actors: cmd.grid_actors,
        char_ngrams: cmd.grid_char_ngrams,
        actor_sentences: cmd.grid_actor_sentences,
        doc_context: cmd.grid_doc_context,
    };
    let scoring = match &dev {
        Some(dev) => Scoring::Dev(dev),
        None => Scoring::CrossValidation {
            folds: cmd.folds,
            seed: cmd.seed,
        },
    };
    let started = Instant::now();
    let progress = |done: usize, total: usize| {
        eprint!(
            "\rtune: {done}/{total} fits (combinations × folds), {:.0}s",
            started.elapsed().as_secs_f64()
        )
    };
    let results = tune(&set, &base, &grid, scoring, &progress)?;
    eprintln!();
    let scored_on = match &dev {
        Some(dev) => format!("dev set {}", dev.source()),
        None => format!("{}-fold cross-validation (seed {})", cmd.folds, cmd.seed),
    };
    writeln!(
        out,
        "{} combinations scored on {scored_on}; score = macro-F1 averaged over heads",
        results.len()
    )?;
    write_ranking(&mut out, &results[..cmd.show.min(results.len())])?;
    // Printed to be pasted into a shell; the model goes to a new file, so
    // pasting it never overwrites the shipped model.
    let data = cmd.data.display().to_string();
    let dev = cmd.dev.as_ref().map(|p| p.display().to_string());
    let command = |options: &vektor::TrainOptions| {
        train_command(&data, options, dev.as_deref(), "model.json")
    };
    let best = &results[0];
    writeln!(out, "\nbest: {}", command(&best.options))?;
    if let Some(chosen) = vektor::tune::recommend(&results) {
        writeln!(
            out,
            "recommended (simplest within one sd of the best, score {:.4}): {}",
            chosen.score,
            command(&chosen.options)
        )?;
    }
    eprintln!("tune took {:.0}s", started.elapsed().as_secs_f64());
    Ok(0)
}

/// The ranking table: one line per combination, best first.
fn write_ranking(out: &mut impl Write, results: &[TuneResult]) -> Result<()> {
    writeln!(
        out,
        "{:>4} {:>7} {:>6}  {:>6} {:>6} {:>6} {:>9} {:>6} {:>5} {:>5} {:>5} {:>5} {:>7} {:>6}  per head",
        "rank",
        "score",
        "sd",
        "alpha",
        "ngrams",
        "min_df",
        "sublinear",
        "maxf",
        "stem",
        "chars",
        "sent",
        "doc",
        "balance",
        "actors"
    )?;
    for (rank, r) in results.iter().enumerate() {
        let o = &r.options;
        let heads: Vec<String> = r
            .head_macro_f1
            .iter()
            .map(|(h, f)| format!("{h} {f:.3}"))
            .collect();
        writeln!(
            out,
            "{:>4} {:>7.4} {:>6.3}  {:>6} {:>6} {:>6} {:>9} {:>6} {:>5} {:>5} {:>5} {:>5} {:>7} {:>6}  {}",
            rank + 1,
            r.score,
            r.score_sd,
            o.alpha,
            o.vectorizer.ngrams,
            o.vectorizer.min_df,
            o.vectorizer.sublinear_tf,
            o.vectorizer.max_features,
            o.vectorizer.stem,
            o.vectorizer.char_ngrams,
            o.vectorizer.actor_sentences,
            o.vectorizer.doc_context,
            o.balance,
            o.actors != vektor::ActorSource::Off,
            heads.join(", ")
        )?;
    }
    Ok(())
}
