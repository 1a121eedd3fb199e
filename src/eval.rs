//! How good is a model: metrics, confusion matrices, cross-validation and
//! learning curves, all on data the model was not trained on.
//!
//! ```
//! use vektor::eval::HeadReport;
//! let gold = ["a", "a", "b", "b"];
//! let predicted = ["a", "b", "b", "b"];
//! let report = HeadReport::from_pairs("theme", &gold, &predicted, &["a".into(), "b".into()]);
//! assert_eq!(report.accuracy, 0.75);
//! assert_eq!(report.confusion, vec![vec![1, 1], vec![0, 2]]);
//! ```

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::TrainingSet;
use crate::error::{Error, Result};
use crate::model::{train, DevSummary, HeadScore, Model, TrainOptions};

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    /// The class.
    pub class: String,
    /// Of the paragraphs predicted as this class, the share that are.
    pub precision: f64,
    /// Of the paragraphs of this class, the share found.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Paragraphs of this class in the gold data.
    pub support: usize,
}

/// Figures for one head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadReport {
    /// The head.
    pub head: String,
    /// Classes, in the order of the confusion matrix.
    pub classes: Vec<String>,
    /// Paragraphs scored (gold label known to the model).
    pub rows: usize,
    /// Paragraphs whose gold label the model does not know (not scored).
    pub unknown_gold: usize,
    /// Scored paragraphs the model labelled `uncertain` (it could not read
    /// them): counted as wrong, in the support of their gold class.
    pub uncertain: usize,
    /// Share correct.
    pub accuracy: f64,
    /// Mean F1 over classes with support or predictions.
    pub macro_f1: f64,
    /// F1 weighted by support.
    pub weighted_f1: f64,
    /// Per-class figures.
    pub per_class: Vec<ClassReport>,
    /// Rows = gold, columns = predicted.
    pub confusion: Vec<Vec<usize>>,
    /// With a confidence threshold: share of paragraphs labelled (not abstained).
    pub coverage: Option<f64>,
    /// With a confidence threshold: accuracy on the paragraphs labelled.
    pub selective_accuracy: Option<f64>,
}

impl HeadReport {
    /// Scores `predicted` against `gold` over `classes`; gold labels outside
    /// `classes` are counted in `unknown_gold` and not scored; a prediction
    /// outside `classes` (`uncertain`) is scored as a miss.
    pub fn from_pairs<S: AsRef<str>, P: AsRef<str>>(
        head: &str,
        gold: &[S],
        predicted: &[P],
        classes: &[String],
    ) -> HeadReport {
        let k = classes.len();
        let index = |label: &str| classes.iter().position(|c| c == label);
        let mut confusion = vec![vec![0usize; k]; k];
        let mut unknown_gold = 0;
        let mut uncertain = vec![0usize; k];
        for (g, p) in gold.iter().zip(predicted) {
            match (index(g.as_ref()), index(p.as_ref())) {
                (Some(g), Some(p)) => confusion[g][p] += 1,
                (Some(g), None) => uncertain[g] += 1,
                (None, _) => unknown_gold += 1,
            }
        }
        let rows: usize =
            confusion.iter().flatten().sum::<usize>() + uncertain.iter().sum::<usize>();
        let correct: usize = (0..k).map(|i| confusion[i][i]).sum();
        let per_class: Vec<ClassReport> = (0..k)
            .map(|c| {
                let tp = confusion[c][c] as f64;
                let predicted: usize = (0..k).map(|g| confusion[g][c]).sum();
                let support: usize = confusion[c].iter().sum::<usize>() + uncertain[c];
                let precision = if predicted > 0 {
                    tp / predicted as f64
                } else {
                    0.0
                };
                let recall = if support > 0 {
                    tp / support as f64
                } else {
                    0.0
                };
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassReport {
                    class: classes[c].clone(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        // Classes absent from both gold and predictions say nothing about
        // this data, so they do not drag the macro average down.
        let present: Vec<&ClassReport> = per_class
            .iter()
            .enumerate()
            .filter(|(c, r)| r.support > 0 || (0..k).any(|g| confusion[g][*c] > 0))
            .map(|(_, r)| r)
            .collect();
        let macro_f1 = if present.is_empty() {
            0.0
        } else {
            present.iter().map(|r| r.f1).sum::<f64>() / present.len() as f64
        };
        let weighted_f1 = if rows == 0 {
            0.0
        } else {
            per_class
                .iter()
                .map(|r| r.f1 * r.support as f64)
                .sum::<f64>()
                / rows as f64
        };
        HeadReport {
            head: head.to_string(),
            classes: classes.to_vec(),
            rows,
            unknown_gold,
            uncertain: uncertain.iter().sum(),
            accuracy: if rows == 0 {
                0.0
            } else {
                correct as f64 / rows as f64
            },
            macro_f1,
            weighted_f1,
            per_class,
            confusion,
            coverage: None,
            selective_accuracy: None,
        }
    }
}

/// Evaluates `model` on a labelled set, one report per model head found in
/// the set, in the model's head order; [`unevaluated_heads`] names the
/// others. Errors when the set has none of the model's heads.
///
/// A set read with [`TrainingSet::load_present`] carries only the heads its
/// file has, so a theme-only file scores the theme head alone.
///
/// `min_confidence` (head → threshold) adds coverage and selective accuracy.
pub fn evaluate(
    model: &Model,
    set: &TrainingSet,
    min_confidence: &BTreeMap<String, f32>,
) -> Result<Vec<HeadReport>> {
    score(
        model,
        set,
        &model.label_docs(&set.texts(), &set.docs()),
        min_confidence,
    )
}

/// [`evaluate`] on labels already computed for `set`, one per row in order,
/// so that a caller that also wants [`readability`] labels the set once.
pub fn score(
    model: &Model,
    set: &TrainingSet,
    predictions: &[crate::Labels],
    min_confidence: &BTreeMap<String, f32>,
) -> Result<Vec<HeadReport>> {
    let mut reports = Vec::new();
    for (h, head) in model.heads().iter().enumerate() {
        let Some(column) = set.heads().iter().position(|n| *n == head.name) else {
            continue;
        };
        let gold = set.labels(column);
        let predicted: Vec<&str> = predictions.iter().map(|l| l.heads[h].label).collect();
        let mut report = HeadReport::from_pairs(&head.name, &gold, &predicted, &head.classes);
        if let Some(&threshold) = min_confidence.get(&head.name) {
            let kept: Vec<usize> = (0..gold.len())
                .filter(|&i| predictions[i].heads[h].confidence >= threshold)
                .collect();
            report.coverage = Some(kept.len() as f64 / gold.len().max(1) as f64);
            let correct = kept.iter().filter(|&&i| predicted[i] == gold[i]).count();
            report.selective_accuracy = Some(if kept.is_empty() {
                0.0
            } else {
                correct as f64 / kept.len() as f64
            });
        }
        reports.push(report);
    }
    if reports.is_empty() {
        return Err(Error::Data(format!(
            "{}: has none of the model's label fields ({})",
            set.source(),
            model
                .heads()
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(reports)
}

/// How a labelled set reads to a model: paragraphs per detected language,
/// and per reason those the model refused to label ([`crate::Labels::unreadable`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Readability {
    /// Language (`en`, `ru`, `other`) → paragraphs.
    pub languages: BTreeMap<String, usize>,
    /// Reason → paragraphs labelled `uncertain` for it.
    pub unreadable: BTreeMap<String, usize>,
}

/// Counts languages and refusals over a set's labels (see [`Readability`]).
pub fn readability(predictions: &[crate::Labels]) -> Readability {
    let mut report = Readability::default();
    for labels in predictions {
        *report
            .languages
            .entry(labels.lang.as_str().to_string())
            .or_default() += 1;
        if let Some(reason) = labels.unreadable {
            *report.unreadable.entry(reason.to_string()).or_default() += 1;
        }
    }
    report
}

/// The heads of `model` that `set` does not carry, in the model's order:
/// those [`evaluate`] skips.
pub fn unevaluated_heads<'m>(model: &'m Model, set: &TrainingSet) -> Vec<&'m str> {
    model
        .heads()
        .iter()
        .map(|h| h.name.as_str())
        .filter(|name| !set.heads().iter().any(|n| n == name))
        .collect()
}

/// The card entry for held-out figures of `model` on `dev`.
pub fn dev_summary(model: &Model, dev: &TrainingSet) -> Result<DevSummary> {
    let reports = evaluate(model, dev, &BTreeMap::new())?;
    Ok(DevSummary {
        file: dev.source().to_string(),
        sha256: dev.sha256().to_string(),
        rows: dev.len(),
        heads: reports
            .into_iter()
            .map(|r| {
                (
                    r.head,
                    HeadScore {
                        accuracy: round6(r.accuracy),
                        macro_f1: round6(r.macro_f1),
                    },
                )
            })
            .collect(),
    })
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// A tiny deterministic generator (SplitMix64) for shuffling folds, so that
/// a seed gives the same folds on every machine and version.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Rows of each class of `labels`, each class shuffled with `seed`.
fn shuffled_by_class(labels: &[&str], seed: u64) -> Vec<Vec<usize>> {
    let mut by_class: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (row, label) in labels.iter().enumerate() {
        by_class.entry(label).or_default().push(row);
    }
    let mut rng = SplitMix64::new(seed);
    by_class
        .into_values()
        .map(|mut rows| {
            rng.shuffle(&mut rows);
            rows
        })
        .collect()
}

/// Stratified k-fold split: the test rows of each fold, every class dealt
/// round-robin over the folds after a seeded shuffle.
pub fn stratified_folds(labels: &[&str], folds: usize, seed: u64) -> Result<Vec<Vec<usize>>> {
    if folds < 2 {
        return Err(Error::Option(format!(
            "folds must be at least 2, got {folds}"
        )));
    }
    if folds > labels.len() {
        return Err(Error::Option(format!(
            "folds ({folds}) exceed the number of rows ({})",
            labels.len()
        )));
    }
    let mut out = vec![Vec::new(); folds];
    let mut next = 0;
    for rows in shuffled_by_class(labels, seed) {
        for row in rows {
            out[next % folds].push(row);
            next += 1;
        }
    }
    for fold in &mut out {
        fold.sort_unstable();
    }
    Ok(out)
}

/// One fold's figures: per head, accuracy and macro-F1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldScores {
    /// Head → figures.
    pub heads: BTreeMap<String, HeadScore>,
}

/// Cross-validates `options` on `set`; folds are stratified on the first head.
///
/// Each class of the first head must have at least `folds` rows, so that
/// every fold tests every class.
pub fn cross_validate(
    set: &TrainingSet,
    options: &TrainOptions,
    folds: usize,
    seed: u64,
) -> Result<Vec<FoldScores>> {
    options.check()?;
    fold_sets(set, options, folds, seed)?
        .par_iter()
        .map(|(train_rows, test_rows)| {
            let model = train(train_rows, options)?;
            let summary = dev_summary(&model, test_rows)?;
            Ok(FoldScores {
                heads: summary.heads,
            })
        })
        .collect()
}

/// The (training, test) sets of stratified k-fold cross-validation,
/// stratified on the first of `options.labels`.
pub fn fold_sets(
    set: &TrainingSet,
    options: &TrainOptions,
    folds: usize,
    seed: u64,
) -> Result<Vec<(TrainingSet, TrainingSet)>> {
    let first = options
        .labels
        .first()
        .ok_or_else(|| Error::Option("no label fields".into()))?;
    let column =
        set.heads().iter().position(|h| h == first).ok_or_else(|| {
            Error::Data(format!("{}: has no label field `{first}`", set.source()))
        })?;
    let labels = set.labels(column);
    for (class, count) in set.class_counts(column) {
        if count < folds {
            return Err(Error::Data(format!(
                "{}: class `{class}` of `{first}` has {count} rows, fewer than the {folds} folds; use fewer folds or add rows",
                set.source()
            )));
        }
    }
    let test_folds = stratified_folds(&labels, folds, seed)?;
    Ok(test_folds
        .iter()
        .map(|test| {
            let in_test: std::collections::HashSet<usize> = test.iter().copied().collect();
            let train_rows: Vec<usize> = (0..set.len()).filter(|r| !in_test.contains(r)).collect();
            (set.subset(&train_rows), set.subset(test))
        })
        .collect())
}

/// Mean and standard deviation (sample) of a series.
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// One point of a learning curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Share of the training rows used.
    pub fraction: f64,
    /// Rows trained on.
    pub rows: usize,
    /// Dev figures per head.
    pub heads: BTreeMap<String, HeadScore>,
}

/// Trains on growing stratified subsets of `set` (the first `fraction` of
/// each class after a seeded shuffle, so each subset contains the previous
/// one) and scores each model on `dev`.
pub fn learning_curve(
    set: &TrainingSet,
    dev: &TrainingSet,
    options: &TrainOptions,
    fractions: &[f64],
    seed: u64,
) -> Result<Vec<CurvePoint>> {
    options.check()?;
    let first = &options.labels[0];
    let column =
        set.heads().iter().position(|h| h == first).ok_or_else(|| {
            Error::Data(format!("{}: has no label field `{first}`", set.source()))
        })?;
    let by_class = shuffled_by_class(&set.labels(column), seed);
    fractions
        .par_iter()
        .map(|&fraction| {
            if !(fraction > 0.0 && fraction <= 1.0) {
                return Err(Error::Option(format!(
                    "curve fractions must be in (0, 1], got {fraction}"
                )));
            }
            let mut rows: Vec<usize> = by_class
                .iter()
                .flat_map(|rows| {
                    let take =
                        ((rows.len() as f64 * fraction).ceil() as usize).clamp(1, rows.len());
                    rows[..take].iter().copied()
                })
                .collect();
            rows.sort_unstable();
            let subset = set.subset(&rows);
            let model = train(&subset, options).map_err(|e| match e {
                Error::Data(m) => {
                    Error::Data(format!("at {:.0}% of the rows: {m}", fraction * 100.0))
                }
                other => other,
            })?;
            Ok(CurvePoint {
                fraction,
                rows: rows.len(),
                heads: dev_summary(&model, dev)?.heads,
            })
        })
        .collect()
}

/// A wrong label, with the terms that pushed the model to it.
#[derive(Debug, Clone, Serialize)]
pub struct Mistake {
    /// The head that was wrong.
    pub head: String,
    /// The paragraph.
    pub text: String,
    /// The label the data gives.
    pub gold: String,
    /// The label the model gave.
    pub predicted: String,
    /// The model's confidence in its label.
    pub confidence: f32,
    /// The five terms that pushed the label most, as `words (+weight)`.
    pub terms: Vec<String>,
}

/// The `n` most confident wrong labels per head on a labelled set, most
/// confident first: material for the next labelling round.
pub fn most_confident_mistakes(model: &Model, set: &TrainingSet, n: usize) -> Vec<Mistake> {
    let mut labeler = model.labeler();
    let mut mistakes = Vec::new();
    for example in set.examples() {
        let (labels, explanation) = labeler.explain(&example.text, 5);
        for (h, answer) in labels.heads.iter().enumerate() {
            let Some(column) = set.heads().iter().position(|name| **name == *answer.head) else {
                continue;
            };
            let gold = &example.labels[column];
            if **gold != *answer.label {
                mistakes.push(Mistake {
                    head: answer.head.to_string(),
                    text: example.text.clone(),
                    gold: gold.clone(),
                    predicted: answer.label.to_string(),
                    confidence: answer.confidence,
                    terms: explanation[h].iter().map(ToString::to_string).collect(),
                });
            }
        }
    }
    let mut by_head: BTreeMap<String, Vec<Mistake>> = BTreeMap::new();
    for m in mistakes {
        by_head.entry(m.head.clone()).or_default().push(m);
    }
    by_head
        .into_values()
        .flat_map(|mut ms| {
            ms.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
            ms.truncate(n);
            ms
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_and_cover_every_row_once() {
        let labels = ["a", "a", "a", "a", "b", "b", "b", "b", "b", "b"];
        let folds = stratified_folds(&labels, 2, 7).unwrap();
        let mut all: Vec<usize> = folds.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        for fold in &folds {
            assert_eq!(fold.iter().filter(|&&r| labels[r] == "a").count(), 2);
        }
        assert_eq!(
            folds,
            stratified_folds(&labels, 2, 7).unwrap(),
            "same seed, same folds"
        );
        assert!(stratified_folds(&labels, 11, 7).is_err());
    }

    #[test]
    fn macro_f1_of_known_confusion() {
        let gold = ["a", "a", "b", "c"];
        let predicted = ["a", "b", "b", "c"];
        let classes = ["a", "b", "c"].map(String::from);
        let r = HeadReport::from_pairs("h", &gold, &predicted, &classes);
        // a: p=1 r=.5 f=.667; b: p=.5 r=1 f=.667; c: 1
        assert!((r.macro_f1 - (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-9);
        let r = HeadReport::from_pairs("h", &["a", "z"], &["a", "a"], &classes);
        assert_eq!((r.rows, r.unknown_gold), (1, 1));
    }

    #[test]
    fn mean_sd_of_constant_is_zero() {
        assert_eq!(mean_sd(&[0.5, 0.5]), (0.5, 0.0));
    }
}
