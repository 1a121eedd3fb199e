//! `vektor curve`: does labelling more paragraphs still help?

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use vektor::eval::{learning_curve, sparkline};

use super::{load_set, TrainArgs};

#[derive(Debug, Args)]
pub struct CurveCmd {
    /// Labelled training paragraphs.
    #[arg(long)]
    data: PathBuf,
    /// Held-out labelled paragraphs to score each point on.
    #[arg(long)]
    dev: PathBuf,
    /// Number of points (10 gives 10%, 20%, … 100%).
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Shuffle seed for the stratified subsets.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    train: TrainArgs,
}

pub fn run(cmd: CurveCmd) -> Result<u8> {
    if cmd.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let options = cmd.train.options()?;
    let set = load_set(&cmd.data, &options.labels)?;
    let dev = load_set(&cmd.dev, &options.labels)?;
    let fractions: Vec<f64> = (1..=cmd.steps)
        .map(|i| i as f64 / cmd.steps as f64)
        .collect();
    let points = learning_curve(&set, &dev, &options, &fractions, cmd.seed)?;
    println!(
        "learning curve: {} → dev {} (macro-F1 per head)",
        set.source(),
        dev.source()
    );
    print!("{:>6} {:>6}", "share", "rows");
    for head in &options.labels {
        print!(" {head:>8}");
    }
    println!();
    for p in &points {
        print!("{:>5.0}% {:>6}", p.fraction * 100.0, p.rows);
        for head in &options.labels {
            print!(" {:>8.3}", p.heads.get(head).map_or(0.0, |s| s.macro_f1));
        }
        println!();
    }
    for head in &options.labels {
        let series: Vec<f64> = points
            .iter()
            .map(|p| p.heads.get(head).map_or(0.0, |s| s.macro_f1))
            .collect();
        println!(
            "{head:>8} {}  {:.3} → {:.3}",
            sparkline(&series),
            series[0],
            series[series.len() - 1]
        );
    }
    Ok(0)
}
