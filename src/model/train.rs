//! Fitting a model: the vocabulary, then one logistic regression per head.

use std::collections::BTreeMap;

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;

use super::solver::{Csr, SparseLogisticParams};
use super::{Head, HeadFit, Model, ModelCard, Solver, TrainOptions};
use crate::dataset::TrainingSet;
use crate::error::{Error, Result};
use crate::features::{context_at, doc_contexts, Mentions, Scratch, TfIdf};

/// Trains a model: fits the vocabulary, then one head per label field.
///
/// ```
/// use vektor::dataset::{Example, TrainingSet};
/// let rows = [("Oil exports rose", "energy"), ("Gas output fell", "energy"),
///             ("Wheat exports rose", "trade"), ("Tariffs on wheat", "trade")];
/// let set = TrainingSet::from_examples(
///     vec!["theme".into()],
///     rows.iter().map(|(t, l)| Example { text: t.to_string(), labels: vec![l.to_string()], doc: None }).collect(),
/// ).unwrap();
/// let options = vektor::TrainOptions::default().labels(vec!["theme".into()]).min_df(1);
/// let model = vektor::train(&set, &options).unwrap();
/// assert_eq!(&*model.label("oil and gas").heads[0].label, "energy");
/// ```
pub fn train(set: &TrainingSet, options: &TrainOptions) -> Result<Model> {
    options.check()?;
    let heads = head_columns(set, options)?;
    let texts = set.texts();
    let contexts = contexts(set, options)?;
    let vectorizer =
        TfIdf::fit_in_docs(&texts, &contexts, &options.vectorizer, options.gazetteer()?)?;
    match options.solver {
        Solver::Sparse => {
            let x = sparse_rows(&vectorizer, &texts, &contexts);
            Ok(fit_sparse(set, &heads, vectorizer, &x, options, None)?.0)
        }
        Solver::Linfa => {
            let x = vectorizer.transform_dense(&texts, &contexts);
            let fitted = heads
                .par_iter()
                .map(|&h| fit_head(&x, &set.labels(h), &set.heads()[h], options))
                .collect::<Result<Vec<_>>>()?;
            Ok(assemble(set, &heads, vectorizer, options, fitted))
        }
    }
}

/// The document context of each row of `set`, if the options use it.
pub(crate) fn contexts(set: &TrainingSet, options: &TrainOptions) -> Result<Vec<Mentions>> {
    Ok(match options.gazetteer()? {
        Some(actors) if options.vectorizer.doc_context => {
            doc_contexts(&set.texts(), &set.docs(), &actors)
        }
        _ => Vec::new(),
    })
}

/// The columns of `set` holding `options.labels`, each checked trainable.
pub(crate) fn head_columns(set: &TrainingSet, options: &TrainOptions) -> Result<Vec<usize>> {
    let heads: Vec<usize> = options
        .labels
        .iter()
        .map(|name| {
            set.heads().iter().position(|h| h == name).ok_or_else(|| {
                Error::Data(format!("{}: has no label field `{name}`", set.source()))
            })
        })
        .collect::<Result<_>>()?;
    set.check_trainable(&heads)?;
    Ok(heads)
}

/// Fits the heads at `heads` with the sparse solver on rows `x` (the
/// vectorised texts of `set`), each from `warm` (one parameter matrix per
/// head, from a neighbouring fit) or from zeros. Returns the model and each
/// head's parameters, to warm-start the next fit: `tune` fits many alphas on
/// the same rows, and a neighbour's optimum is a far better start than zero.
pub(crate) fn fit_sparse(
    set: &TrainingSet,
    heads: &[usize],
    vectorizer: TfIdf,
    x: &Csr,
    options: &TrainOptions,
    warm: Option<&[Array2<f64>]>,
) -> Result<(Model, Vec<Array2<f64>>)> {
    let fitted = heads
        .par_iter()
        .enumerate()
        .map(|(i, &h)| {
            let init = warm.map(|w| &w[i]);
            fit_head_sparse(x, &set.labels(h), &set.heads()[h], options, init)
        })
        .collect::<Result<Vec<_>>>()?;
    let (fitted, params): (Vec<_>, Vec<_>) = fitted
        .into_iter()
        .map(|(head, fit, params)| ((head, fit), params))
        .unzip();
    Ok((assemble(set, heads, vectorizer, options, fitted), params))
}

/// The model and its card from fitted heads.
fn assemble(
    set: &TrainingSet,
    heads: &[usize],
    vectorizer: TfIdf,
    options: &TrainOptions,
    fitted: Vec<(Head, HeadFit)>,
) -> Model {
    let fits = fitted
        .iter()
        .map(|(head, fit)| (head.name.clone(), fit.clone()))
        .collect();
    let card = ModelCard {
        vektor_version: env!("CARGO_PKG_VERSION").into(),
        training_file: set.source().into(),
        training_sha256: set.sha256().into(),
        rows: set.len(),
        class_counts: heads
            .iter()
            .map(|&h| (set.heads()[h].clone(), set.class_counts(h)))
            .collect(),
        vocabulary: vectorizer.len(),
        options: options.clone(),
        dev: None,
        fits,
    };
    let heads = fitted.into_iter().map(|(head, _)| head).collect();
    Model::from_parts(vectorizer, heads, card)
}

/// The TF-IDF rows of `texts` as a sparse matrix, vectorised in parallel;
/// `contexts` as for [`TfIdf::fit_in_docs`].
pub(crate) fn sparse_rows<S: AsRef<str> + Sync>(
    vectorizer: &TfIdf,
    texts: &[S],
    contexts: &[Mentions],
) -> Csr {
    let rows: Vec<Vec<(u32, f32)>> = texts
        .par_iter()
        .enumerate()
        .map_init(Scratch::default, |scratch, (i, t)| {
            let mut out = Vec::new();
            vectorizer.transform_in_doc(
                t.as_ref(),
                context_at(contexts, i),
                scratch,
                &mut out,
                None,
            );
            out
        })
        .collect();
    Csr::from_rows(vectorizer.len(), rows.iter().map(|r| r.iter().copied()))
        .expect("the vectorizer's feature indices are within its vocabulary")
}

/// Sorted class names and each row's class index.
fn classes_and_targets(labels: &[&str]) -> (Vec<String>, Vec<usize>) {
    let mut classes: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    classes.sort();
    classes.dedup();
    let targets = labels
        .iter()
        .map(|l| {
            classes
                .binary_search_by(|c| c.as_str().cmp(l))
                .expect("every label is among the classes")
        })
        .collect();
    (classes, targets)
}

/// Weight of each class in the loss: 1, or with balancing n / (k · n_class),
/// so that every class carries the same total weight (scikit-learn's
/// "balanced").
fn class_weights(targets: &[usize], k: usize, balance: bool) -> Vec<f64> {
    if !balance {
        return vec![1.0; k];
    }
    let mut counts = vec![0usize; k];
    for &t in targets {
        counts[t] += 1;
    }
    counts
        .iter()
        .map(|&c| targets.len() as f64 / (k as f64 * c.max(1) as f64))
        .collect()
}

fn fit_head_sparse(
    x: &Csr,
    labels: &[&str],
    name: &str,
    options: &TrainOptions,
    init: Option<&Array2<f64>>,
) -> Result<(Head, HeadFit, Array2<f64>)> {
    let (classes, targets) = classes_and_targets(labels);
    let k = classes.len();
    let per_class = class_weights(&targets, k, options.balance);
    let row_weights: Vec<f64> = targets.iter().map(|&t| per_class[t]).collect();
    let failed = |message: String| Error::Training {
        head: name.into(),
        message,
    };
    let params = SparseLogisticParams::new()
        .alpha(options.alpha)
        .max_iterations(options.max_iterations)
        .gradient_tolerance(options.tolerance)
        .check()
        .map_err(|e| failed(e.to_string()))?;
    let fitted = params
        .fit_weighted(x, &targets, Some(&row_weights), k, init)
        .map_err(|e| failed(e.to_string()))?;
    let mut weights = vec![0f32; x.ncols() * k];
    for ((feature, class), w) in fitted.weights.indexed_iter() {
        weights[feature * k + class] = *w as f32;
    }
    let head = Head {
        name: name.into(),
        intercepts: fitted.intercepts.iter().map(|&b| b as f32).collect(),
        weights,
        classes: classes.clone(),
    };
    let fit = HeadFit {
        iterations: fitted.iterations,
        converged: fitted.converged,
        class_weights: classes
            .into_iter()
            .zip(per_class)
            .collect::<BTreeMap<_, _>>(),
    };
    Ok((head, fit, fitted.params()))
}

/// Rows to train on: every row once, or, with balancing, every class cycled
/// up to the size of the largest class. Oversampling by whole repeats (plus a
/// deterministic remainder) gives each class the same total weight, which is
/// what class weights would do; linfa-logistic has none.
fn training_rows(targets: &[usize], n_classes: usize, balance: bool) -> Vec<usize> {
    if !balance {
        return (0..targets.len()).collect();
    }
    let mut by_class = vec![Vec::new(); n_classes];
    for (row, &class) in targets.iter().enumerate() {
        by_class[class].push(row);
    }
    let largest = by_class.iter().map(Vec::len).max().unwrap_or(0);
    let mut rows: Vec<usize> = by_class
        .iter()
        .flat_map(|members| (0..largest).map(move |i| members[i % members.len()]))
        .collect();
    rows.sort_unstable();
    rows
}

fn fit_head(
    x: &Array2<f64>,
    labels: &[&str],
    name: &str,
    options: &TrainOptions,
) -> Result<(Head, HeadFit)> {
    let (classes, targets) = classes_and_targets(labels);
    let rows = training_rows(&targets, classes.len(), options.balance);
    // Without balancing the rows are all rows in order: train on a view
    // rather than a copy of the (large, dense) matrix.
    let oversampled;
    let records = if options.balance {
        oversampled = x.select(Axis(0), &rows);
        oversampled.view()
    } else {
        x.view()
    };
    let y: Array1<usize> = rows.iter().map(|&r| targets[r]).collect();
    let fitted = MultiLogisticRegression::default()
        .alpha(options.alpha)
        .max_iterations(options.max_iterations)
        .gradient_tolerance(options.tolerance)
        .fit(&DatasetBase::new(records, y))
        .map_err(|e| Error::Training {
            head: name.into(),
            message: e.to_string(),
        })?;
    // linfa orders its classes by value; ours are 0..k, so map them back explicitly.
    let order: Vec<usize> = fitted.classes().to_vec();
    let params = fitted.params();
    let k = classes.len();
    let mut weights = vec![0f32; x.ncols() * k];
    let mut intercepts = vec![0f32; k];
    for (column, &class) in order.iter().enumerate() {
        intercepts[class] = fitted.intercept()[column] as f32;
        for feature in 0..x.ncols() {
            weights[feature * k + class] = params[[feature, column]] as f32;
        }
    }
    // linfa does not say how its run ended; oversampling stands for the
    // class weights it lacks, so each class's weight is recorded as 1.
    let fit = HeadFit {
        iterations: 0,
        converged: true,
        class_weights: classes.iter().map(|c| (c.clone(), 1.0)).collect(),
    };
    let head = Head {
        name: name.into(),
        classes,
        intercepts,
        weights,
    };
    Ok((head, fit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balancing_gives_every_class_the_largest_count() {
        let rows = training_rows(&[0, 0, 0, 1, 2, 2], 3, true);
        let count = |c| rows.iter().filter(|&&r| [0, 0, 0, 1, 2, 2][r] == c).count();
        assert_eq!((count(0), count(1), count(2)), (3, 3, 3));
        assert_eq!(training_rows(&[0, 1], 2, false), [0, 1]);
    }
}
