//! `vektor curve`: does labelling more paragraphs still help?

use std::path::PathBuf;

use std::io::Write;

use anyhow::{bail, Result};
use clap::Args;
use vektor::eval::learning_curve;

use super::report::sparkline;

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
    let mut out = super::stdout();
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
    writeln!(
        out,
        "learning curve: {} → dev {} (macro-F1 per head)",
        set.source(),
        dev.source()
    )?;
    write!(out, "{:>6} {:>6}", "share", "rows")?;
    for head in &options.labels {
        write!(out, " {head:>8}")?;
    }
    writeln!(out)?;
    for p in &points {
        write!(out, "{:>5.0}% {:>6}", p.fraction * 100.0, p.rows)?;
        for head in &options.labels {
            write!(
                out,
                " {:>8.3}",
                p.heads.get(head).map_or(0.0, |s| s.macro_f1)
            )?;
        }
        writeln!(out)?;
    }
    for head in &options.labels {
        let series: Vec<f64> = points
            .iter()
            .map(|p| p.heads.get(head).map_or(0.0, |s| s.macro_f1))
            .collect();
        writeln!(
            out,
            "{head:>8} {}  {:.3} → {:.3}",
            sparkline(&series),
            series[0],
            series[series.len() - 1]
        )?;
    }
    Ok(0)
}
