//! The sparse solver against linfa-logistic, its oracle, on the shipped data;
//! and the training inputs that must give a clear error, not a panic or NaN.

use std::path::PathBuf;

use vektor::dataset::{Example, TrainingSet};
use vektor::model::Solver;
use vektor::{train, TrainOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn heads() -> Vec<String> {
    vec!["theme".into(), "stance".into()]
}

#[test]
fn sparse_and_linfa_solvers_agree_on_the_shipped_data() {
    let all = TrainingSet::load(&root().join("training/paragraphs.jsonl"), &heads()).unwrap();
    // The first 2,038 rows are the English set the linfa-trained model
    // shipped with: the dense oracle's time grows with rows × features,
    // and this keeps the test to a minute.
    let set = all.subset(&(0..2038).collect::<Vec<_>>());
    let dev = TrainingSet::load(&root().join("training/dev.jsonl"), &heads()).unwrap();
    // Without balancing both minimise exactly the same objective (with it,
    // linfa oversamples rows and the sparse solver weighs classes).
    let options = TrainOptions::default().balance(false);
    let sparse = train(&set, &options.clone().solver(Solver::Sparse)).unwrap();
    let linfa = train(&set, &options.solver(Solver::Linfa)).unwrap();
    let (mut same, mut total, mut worst) = (0, 0, 0f32);
    for example in dev.examples() {
        let a = sparse.label(&example.text);
        let b = linfa.label(&example.text);
        for (ha, hb) in a.heads.iter().zip(&b.heads) {
            total += 1;
            same += usize::from(ha.label == hb.label);
            for ((_, pa), (_, pb)) in ha.scores.iter().zip(&hb.scores) {
                worst = worst.max((pa - pb).abs());
            }
        }
    }
    let agreement = same as f64 / total as f64;
    assert!(
        agreement >= 0.99,
        "labels agree on {agreement:.3} of dev labels"
    );
    assert!(worst <= 0.02, "probabilities differ by up to {worst:.4}");
}

fn set(rows: &[(&str, &str)]) -> TrainingSet {
    TrainingSet::from_examples(
        vec!["theme".into()],
        rows.iter()
            .map(|(text, label)| Example {
                text: text.to_string(),
                labels: vec![label.to_string()],
                doc: None,
            })
            .collect(),
    )
    .unwrap()
}

/// A theme model on `rows`, every word kept.
fn train_theme(rows: &[(&str, &str)]) -> vektor::Model {
    let options = TrainOptions::default()
        .min_df(1)
        .labels(vec!["theme".into()]);
    train(&set(rows), &options).unwrap()
}

fn error(rows: &[(&str, &str)], options: TrainOptions) -> String {
    match train(&set(rows), &options.labels(vec!["theme".into()])) {
        Ok(_) => panic!("training on {rows:?} should fail"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_one_row_file_is_refused() {
    let message = error(
        &[("Oil output rose", "energy")],
        TrainOptions::default().min_df(1),
    );
    assert!(message.contains("needs at least two classes"), "{message}");
}

#[test]
fn a_class_with_a_single_example_still_trains_to_finite_weights() {
    let rows = [
        ("Oil output rose", "energy"),
        ("Gas output fell", "energy"),
        ("Wheat exports rose", "trade"),
    ];
    let model = train_theme(&rows);
    let head = &model.heads()[0];
    assert!(head.weights.iter().all(|w| w.is_finite()));
    assert_eq!(model.label("wheat exports").heads[0].label, "trade");
}

#[test]
fn identical_texts_give_finite_weights_and_even_odds() {
    let rows = [
        ("Oil output rose", "energy"),
        ("Oil output rose", "trade"),
        ("Oil output rose", "energy"),
        ("Oil output rose", "trade"),
    ];
    let model = train_theme(&rows);
    let labels = model.label("Oil output rose");
    assert!(
        (labels.heads[0].confidence - 0.5).abs() < 0.01,
        "{labels:?}"
    );
}

#[test]
fn an_empty_vocabulary_after_min_df_is_refused() {
    let message = error(
        &[
            ("Oil output rose", "energy"),
            ("Wheat exports fell", "trade"),
        ],
        TrainOptions::default().min_df(5),
    );
    assert!(
        message.contains("no feature occurs in at least min_df=5"),
        "{message}"
    );
}

#[test]
fn alpha_must_be_positive() {
    let rows = [
        ("Oil output rose", "energy"),
        ("Wheat exports fell", "trade"),
    ];
    for alpha in [0.0, -1.0, f64::NAN] {
        let message = error(&rows, TrainOptions::default().min_df(1).alpha(alpha));
        assert!(message.contains("alpha must be > 0"), "{message}");
    }
}

#[test]
fn a_fit_that_stops_early_is_recorded_in_the_card() {
    let set = TrainingSet::load(&root().join("tests/data/tiny.jsonl"), &heads()).unwrap();
    let mut options = TrainOptions::default().min_df(1);
    options.max_iterations = 2;
    let model = train(&set, &options).unwrap();
    let fit = &model.card().fits["stance"];
    assert!(!fit.converged);
    assert_eq!(fit.iterations, 2);
    // Balanced class weights: n / (k · n_class) with 6 aligned, 6
    // distancing and 12 neutral of 24.
    assert_eq!(fit.class_weights["aligned"], 24.0 / (3.0 * 6.0));
    assert_eq!(fit.class_weights["neutral"], 24.0 / (3.0 * 12.0));
}
