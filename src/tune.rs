//! Grid search over training options, scored on held-out data.
//!
//! Each combination is scored by the macro-F1 averaged over heads, from
//! stratified cross-validation or, when a dev set is given, on the dev set
//! (much faster: one training per combination). Combinations run in
//! parallel on all cores.

use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::TrainingSet;
use crate::error::{Error, Result};
use crate::eval::{cross_validate, dev_summary, mean_sd};
use crate::model::{train, ActorSource, TrainOptions};

/// The values to try for each option; every combination is tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// L2 penalties.
    pub alpha: Vec<f64>,
    /// Longest n-grams.
    pub ngrams: Vec<usize>,
    /// Minimum document frequencies.
    pub min_df: Vec<usize>,
    /// Sublinear tf on/off.
    pub sublinear_tf: Vec<bool>,
    /// Vocabulary caps.
    pub max_features: Vec<usize>,
    /// Stemming on/off.
    pub stem: Vec<bool>,
    /// Class balancing on/off.
    pub balance: Vec<bool>,
    /// Actor markers on (shipped or given gazetteer) / off.
    pub actors: Vec<bool>,
}

impl Default for Grid {
    fn default() -> Self {
        Grid {
            alpha: vec![0.3, 1.0, 3.0],
            ngrams: vec![1, 2],
            min_df: vec![1, 2],
            sublinear_tf: vec![true, false],
            max_features: vec![20_000],
            stem: vec![true, false],
            balance: vec![false, true],
            actors: vec![true, false],
        }
    }
}

impl Grid {
    /// Every combination, applied on top of `base` (which supplies the
    /// label fields, solver settings and the gazetteer used when actors are on).
    pub fn combinations(&self, base: &TrainOptions) -> Vec<TrainOptions> {
        let mut out = Vec::new();
        for &alpha in &self.alpha {
            for &ngrams in &self.ngrams {
                for &min_df in &self.min_df {
                    for &sublinear in &self.sublinear_tf {
                        for &max_features in &self.max_features {
                            for &stem in &self.stem {
                                for &balance in &self.balance {
                                    for &actors in &self.actors {
                                        let mut o = base
                                            .clone()
                                            .alpha(alpha)
                                            .ngrams(ngrams)
                                            .min_df(min_df)
                                            .sublinear_tf(sublinear)
                                            .max_features(max_features)
                                            .stem(stem)
                                            .balance(balance);
                                        if !actors {
                                            o.actors = ActorSource::Off;
                                        } else if o.actors == ActorSource::Off {
                                            o.actors = ActorSource::Shipped;
                                        }
                                        out.push(o);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// How one combination scored.
#[derive(Debug, Clone, Serialize)]
pub struct TuneResult {
    /// The options tried.
    pub options: TrainOptions,
    /// Macro-F1 averaged over heads (the ranking score).
    pub score: f64,
    /// Standard deviation of the score over folds (0 on a dev set).
    pub score_sd: f64,
    /// Head → macro-F1.
    pub head_macro_f1: Vec<(String, f64)>,
}

/// Where combinations are scored.
#[derive(Debug, Clone, Copy)]
pub enum Scoring<'a> {
    /// Stratified k-fold cross-validation with a seed.
    CrossValidation {
        /// Number of folds.
        folds: usize,
        /// Shuffle seed.
        seed: u64,
    },
    /// A held-out dev set.
    Dev(&'a TrainingSet),
}

/// Tries every combination of `grid` and returns them best first.
/// `progress(done, total)` is called as combinations finish.
pub fn tune(
    set: &TrainingSet,
    base: &TrainOptions,
    grid: &Grid,
    scoring: Scoring<'_>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<TuneResult>> {
    let combinations = grid.combinations(base);
    if combinations.is_empty() {
        return Err(Error::Option("the grid is empty".into()));
    }
    let total = combinations.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<TuneResult> = combinations
        .into_par_iter()
        .map(|options| {
            let result = score(set, options, scoring);
            progress(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                total,
            );
            result
        })
        .collect::<Result<_>>()?;
    results.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(results)
}

/// The combination to ship, by the one-standard-error rule: among the
/// combinations scoring within one standard deviation of the best (the
/// differences there are noise), the simplest — fewest n-grams, then the
/// strongest L2 penalty — and of those the best scoring. A simpler, more
/// regularised model is the safer bet on text unlike the training set.
///
/// `results` must be ranked best first, as [`tune`] returns them.
pub fn recommend(results: &[TuneResult]) -> Option<&TuneResult> {
    let best = results.first()?;
    let floor = best.score - best.score_sd;
    results.iter().filter(|r| r.score >= floor).min_by(|a, b| {
        a.options
            .vectorizer
            .ngrams
            .cmp(&b.options.vectorizer.ngrams)
            .then(b.options.alpha.total_cmp(&a.options.alpha))
            .then(b.score.total_cmp(&a.score))
    })
}

/// Scores one combination; an error names the combination that failed.
fn score(set: &TrainingSet, options: TrainOptions, scoring: Scoring<'_>) -> Result<TuneResult> {
    score_unnamed(set, &options, scoring)
        .map_err(|e| Error::Data(format!("with options {options:?}: {e}")))
}

fn score_unnamed(
    set: &TrainingSet,
    options: &TrainOptions,
    scoring: Scoring<'_>,
) -> Result<TuneResult> {
    let per_fold: Vec<Vec<(String, f64)>> = match scoring {
        Scoring::Dev(dev) => {
            let model = train(set, options)?;
            vec![dev_summary(&model, dev)?
                .heads
                .into_iter()
                .map(|(h, s)| (h, s.macro_f1))
                .collect()]
        }
        Scoring::CrossValidation { folds, seed } => cross_validate(set, options, folds, seed)?
            .into_iter()
            .map(|fold| {
                fold.heads
                    .into_iter()
                    .map(|(h, s)| (h, s.macro_f1))
                    .collect()
            })
            .collect(),
    };
    let fold_scores: Vec<f64> = per_fold
        .iter()
        .map(|heads| heads.iter().map(|(_, f)| f).sum::<f64>() / heads.len() as f64)
        .collect();
    let (score, score_sd) = mean_sd(&fold_scores);
    let head_macro_f1 = per_fold[0]
        .iter()
        .enumerate()
        .map(|(i, (head, _))| {
            (
                head.clone(),
                per_fold.iter().map(|f| f[i].1).sum::<f64>() / per_fold.len() as f64,
            )
        })
        .collect();
    Ok(TuneResult {
        options: options.clone(),
        score,
        score_sd,
        head_macro_f1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(alpha: f64, ngrams: usize, score: f64, score_sd: f64) -> TuneResult {
        TuneResult {
            options: TrainOptions::default().alpha(alpha).ngrams(ngrams),
            score,
            score_sd,
            head_macro_f1: Vec::new(),
        }
    }

    #[test]
    fn recommends_the_simplest_combination_within_one_sd_of_the_best() {
        let ranked = [
            result(0.03, 2, 0.852, 0.014),
            result(0.3, 2, 0.851, 0.015),
            result(0.3, 1, 0.850, 0.020),
            result(0.1, 1, 0.849, 0.010),
            result(3.0, 1, 0.700, 0.010),
        ];
        let chosen = recommend(&ranked).unwrap();
        assert_eq!(
            (chosen.options.alpha, chosen.options.vectorizer.ngrams),
            (0.3, 1)
        );
        assert!(recommend(&[]).is_none());
        let exact = [result(1.0, 2, 0.9, 0.0), result(3.0, 1, 0.89, 0.0)];
        assert_eq!(
            recommend(&exact).unwrap().options.alpha,
            1.0,
            "with no spread the best is chosen"
        );
    }
}
