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
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::Array2;

use crate::eval::{dev_summary, fold_sets, mean_sd};
use crate::features::{CharNgrams, TfIdf};
use crate::model::{
    contexts, fit_sparse, head_columns, sparse_rows, train, ActorSource, Model, Solver,
    TrainOptions,
};

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
    /// Character n-gram settings.
    pub char_ngrams: Vec<CharNgrams>,
    /// Actor-sentence features on/off.
    pub actor_sentences: Vec<bool>,
    /// Document context on/off.
    pub doc_context: Vec<bool>,
}

impl Default for Grid {
    /// 48 combinations around the shipped options. Stemming, the
    /// gazetteer, sublinear tf and the vocabulary cap are left as shipped:
    /// they won in every earlier grid, and each would double the search.
    fn default() -> Self {
        let shipped = TrainOptions::default().vectorizer;
        Grid {
            alpha: vec![0.1, 0.15, 0.3],
            ngrams: vec![1, 2],
            min_df: vec![2],
            sublinear_tf: vec![shipped.sublinear_tf],
            max_features: vec![shipped.max_features],
            stem: vec![shipped.stem],
            char_ngrams: vec![CharNgrams::OFF, CharNgrams { min: 4, max: 4 }],
            actor_sentences: vec![false, true],
            doc_context: vec![false],
            balance: vec![true, false],
            actors: vec![true],
        }
    }
}

impl Grid {
    /// Every combination, applied on top of `base` (which supplies the
    /// label fields, solver settings and the gazetteer used when actors are on).
    pub fn combinations(&self, base: &TrainOptions) -> Vec<TrainOptions> {
        let mut out = vec![base.clone()];
        expand(&mut out, &self.alpha, |o, &v| o.alpha = v);
        expand(&mut out, &self.ngrams, |o, &v| o.vectorizer.ngrams = v);
        expand(&mut out, &self.min_df, |o, &v| o.vectorizer.min_df = v);
        expand(&mut out, &self.sublinear_tf, |o, &v| {
            o.vectorizer.sublinear_tf = v
        });
        expand(&mut out, &self.max_features, |o, &v| {
            o.vectorizer.max_features = v
        });
        expand(&mut out, &self.stem, |o, &v| o.vectorizer.stem = v);
        expand(&mut out, &self.char_ngrams, |o, &v| {
            o.vectorizer.char_ngrams = v
        });
        expand(&mut out, &self.actor_sentences, |o, &v| {
            o.vectorizer.actor_sentences = v
        });
        expand(&mut out, &self.doc_context, |o, &v| {
            o.vectorizer.doc_context = v
        });
        expand(&mut out, &self.balance, |o, &v| o.balance = v);
        expand(&mut out, &self.actors, |o, &on| {
            if !on {
                o.actors = ActorSource::Off;
            } else if o.actors == ActorSource::Off {
                o.actors = ActorSource::Shipped;
            }
        });
        out
    }
}

/// Replaces every combination in `out` by one per value of an axis, in
/// order (the first axis varies slowest).
fn expand<T>(out: &mut Vec<TrainOptions>, values: &[T], set: impl Fn(&mut TrainOptions, &T)) {
    *out = out
        .iter()
        .flat_map(|o| {
            values.iter().map(|v| {
                let mut o = o.clone();
                set(&mut o, v);
                o
            })
        })
        .collect();
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
///
/// Combinations that differ only in alpha form a chain: each fold is
/// vectorised once per chain, and the chain's alphas are fitted on those
/// rows from the strongest penalty down, each starting from the previous
/// optimum. Chains and folds run on all cores. `progress(done, total)` is
/// called as fits finish (combinations × folds).
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
    for options in &combinations {
        options.check()?;
    }
    let splits = match scoring {
        Scoring::Dev(dev) => vec![(set.clone(), dev.clone())],
        Scoring::CrossValidation { folds, seed } => fold_sets(set, base, folds, seed)?,
    };
    let chains = alpha_chains(&combinations);
    let total = combinations.len() * splits.len();
    let done = AtomicUsize::new(0);
    let units: Vec<(&Vec<usize>, &(TrainingSet, TrainingSet))> = chains
        .iter()
        .flat_map(|chain| splits.iter().map(move |split| (chain, split)))
        .collect();
    // Per unit: the chain's combinations with their per-head macro-F1 on one split.
    let scored: Vec<Vec<(usize, HeadScores)>> = units
        .par_iter()
        .map(|&(chain, split)| {
            let options: Vec<&TrainOptions> = chain.iter().map(|&c| &combinations[c]).collect();
            let scores = score_chain(split, &options)
                .map_err(|e| Error::Data(format!("with options {:?}: {e}", options[0])))?;
            done.fetch_add(chain.len(), Ordering::Relaxed);
            progress(done.load(Ordering::Relaxed), total);
            Ok(chain.iter().copied().zip(scores).collect())
        })
        .collect::<Result<_>>()?;
    let mut per_combination: Vec<Vec<HeadScores>> = vec![Vec::new(); combinations.len()];
    for (c, heads) in scored.into_iter().flatten() {
        per_combination[c].push(heads);
    }
    let mut results: Vec<TuneResult> = combinations
        .into_iter()
        .zip(per_combination)
        .map(|(options, per_fold)| summarise(options, &per_fold))
        .collect();
    results.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(results)
}

/// Macro-F1 per head on one split.
type HeadScores = Vec<(String, f64)>;

/// Indices of the combinations grouped by everything but alpha, each group
/// ordered from the largest alpha (the smoothest fit, quickest from zero)
/// down, so that each fit starts from a neighbour's optimum.
fn alpha_chains(combinations: &[TrainOptions]) -> Vec<Vec<usize>> {
    let mut chains: Vec<(TrainOptions, Vec<usize>)> = Vec::new();
    for (i, options) in combinations.iter().enumerate() {
        let key = options.clone().alpha(1.0);
        match chains.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(i),
            None => chains.push((key, vec![i])),
        }
    }
    chains
        .into_iter()
        .map(|(_, mut members)| {
            members.sort_by(|&a, &b| combinations[b].alpha.total_cmp(&combinations[a].alpha));
            members
        })
        .collect()
}

/// Fits one chain (options equal but for alpha, largest alpha first) on a
/// (training, test) split; per-head macro-F1 on the test rows, in chain order.
fn score_chain(
    (train_rows, test_rows): &(TrainingSet, TrainingSet),
    chain: &[&TrainOptions],
) -> Result<Vec<Vec<(String, f64)>>> {
    let macro_f1 = |model: &Model| -> Result<Vec<(String, f64)>> {
        Ok(dev_summary(model, test_rows)?
            .heads
            .into_iter()
            .map(|(h, s)| (h, s.macro_f1))
            .collect())
    };
    let first = chain[0];
    if first.solver != Solver::Sparse {
        // Only the sparse solver takes a starting point.
        return chain
            .iter()
            .map(|options| macro_f1(&train(train_rows, options)?))
            .collect();
    }
    let heads = head_columns(train_rows, first)?;
    let texts = train_rows.texts();
    let contexts = contexts(train_rows, first)?;
    let vectorizer = TfIdf::fit_in_docs(&texts, &contexts, &first.vectorizer, first.gazetteer()?)?;
    let x = sparse_rows(&vectorizer, &texts, &contexts);
    let mut warm: Option<Vec<Array2<f64>>> = None;
    let mut scores = Vec::with_capacity(chain.len());
    for options in chain {
        let (model, params) = fit_sparse(
            train_rows,
            &heads,
            vectorizer.clone(),
            &x,
            options,
            warm.as_deref(),
        )?;
        scores.push(macro_f1(&model)?);
        warm = Some(params);
    }
    Ok(scores)
}

/// A combination's result from its per-fold, per-head macro-F1.
fn summarise(options: TrainOptions, per_fold: &[Vec<(String, f64)>]) -> TuneResult {
    let fold_scores: Vec<f64> = per_fold
        .iter()
        .map(|heads| heads.iter().map(|(_, f)| f).sum::<f64>() / heads.len() as f64)
        .collect();
    let (score, score_sd) = mean_sd(&fold_scores);
    let head_macro_f1 = per_fold[0]
        .iter()
        .enumerate()
        .map(|(i, (head, _))| {
            let mean = per_fold.iter().map(|f| f[i].1).sum::<f64>() / per_fold.len() as f64;
            (head.clone(), mean)
        })
        .collect();
    TuneResult {
        options,
        score,
        score_sd,
        head_macro_f1,
    }
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
