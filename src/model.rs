//! Classifier heads over one shared vectorizer: training, labelling and the model file.
//!
//! Training fits a [`TfIdf`] vocabulary on the training texts and one
//! multinomial logistic regression (`linfa-logistic`) per head. Labelling
//! needs no linfa: each head is a weight matrix, so a paragraph's scores are
//! a sparse dot product followed by a softmax.
//!
//! ```no_run
//! use vektor::Model;
//! let model = Model::load("models/default.json".as_ref())?;
//! let labels = model.label("Astana refused to recognise the annexation.");
//! let stance = labels.get("stance").unwrap();
//! println!("{} ({:.2})", stance.label, stance.confidence);
//! # Ok::<(), vektor::Error>(())
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::actors::Gazetteer;
use crate::dataset::{default_heads, TrainingSet};
use crate::error::{Error, Result};
use crate::features::{Scratch, TfIdf, TfIdfParts, VectorizerOptions};

/// Identifies vektor model files.
pub const FORMAT: &str = "vektor-model";
/// Version of the model file layout; loading rejects any other.
pub const FORMAT_VERSION: u32 = 1;

/// Which actor gazetteer training uses for marker features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ActorSource {
    /// The gazetteer shipped with vektor (`training/actors.toml`).
    #[default]
    Shipped,
    /// A gazetteer file of the user's.
    File(PathBuf),
    /// No actor markers.
    Off,
}

/// Options for [`train`], built like linfa's parameter structs.
///
/// ```
/// let options = vektor::TrainOptions::default().alpha(2.0).ngrams(1).balance(true);
/// assert!(options.check().is_ok());
/// assert!(vektor::TrainOptions::default().alpha(-1.0).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainOptions {
    /// Label fields to train a head for, in order.
    pub labels: Vec<String>,
    /// Text → features options.
    pub vectorizer: VectorizerOptions,
    /// L2 penalty of the logistic regression (larger = simpler model).
    pub alpha: f64,
    /// Iteration limit of the L-BFGS solver.
    pub max_iterations: u64,
    /// Gradient tolerance at which the solver stops.
    pub tolerance: f64,
    /// Oversample smaller classes so that every class weighs the same.
    pub balance: bool,
    /// Actor gazetteer for marker features.
    pub actors: ActorSource,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            labels: default_heads(),
            vectorizer: VectorizerOptions::default(),
            alpha: 1.0,
            max_iterations: 200,
            tolerance: 1e-4,
            balance: false,
            actors: ActorSource::Shipped,
        }
    }
}

impl TrainOptions {
    /// Sets the L2 penalty.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
    /// Sets the longest n-gram.
    pub fn ngrams(mut self, ngrams: usize) -> Self {
        self.vectorizer.ngrams = ngrams;
        self
    }
    /// Sets the minimum document frequency.
    pub fn min_df(mut self, min_df: usize) -> Self {
        self.vectorizer.min_df = min_df;
        self
    }
    /// Sets the vocabulary cap (0 = none).
    pub fn max_features(mut self, max_features: usize) -> Self {
        self.vectorizer.max_features = max_features;
        self
    }
    /// Turns sublinear tf on or off.
    pub fn sublinear_tf(mut self, on: bool) -> Self {
        self.vectorizer.sublinear_tf = on;
        self
    }
    /// Turns stemming on or off.
    pub fn stem(mut self, on: bool) -> Self {
        self.vectorizer.stem = on;
        self
    }
    /// Turns class balancing on or off.
    pub fn balance(mut self, on: bool) -> Self {
        self.balance = on;
        self
    }
    /// Sets the actor gazetteer.
    pub fn actors(mut self, actors: ActorSource) -> Self {
        self.actors = actors;
        self
    }
    /// Sets the label fields.
    pub fn labels(mut self, labels: Vec<String>) -> Self {
        self.labels = labels;
        self
    }

    /// Checks every option; the error names the option and the bad value.
    pub fn check(&self) -> Result<()> {
        self.vectorizer.check()?;
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(Error::Option(format!(
                "alpha must be > 0, got {}",
                self.alpha
            )));
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(Error::Option(format!(
                "tolerance must be > 0, got {}",
                self.tolerance
            )));
        }
        if self.max_iterations == 0 {
            return Err(Error::Option(
                "max_iterations must be at least 1, got 0".into(),
            ));
        }
        if self.labels.is_empty() {
            return Err(Error::Option("labels must name at least one field".into()));
        }
        if let Some(dup) = self
            .labels
            .iter()
            .enumerate()
            .find_map(|(i, l)| self.labels[..i].contains(l).then_some(l))
        {
            return Err(Error::Option(format!(
                "label field `{dup}` is listed twice"
            )));
        }
        Ok(())
    }

    /// The `vektor train` arguments that reproduce these options, one
    /// string per argument and unquoted; [`shell_join`] makes a line to paste.
    pub fn to_args(&self) -> Vec<String> {
        let v = &self.vectorizer;
        let mut args = vec![
            format!("--labels={}", self.labels.join(",")),
            format!("--ngrams={}", v.ngrams),
            format!("--min-df={}", v.min_df),
            format!("--max-df={}", v.max_df),
            format!("--max-features={}", v.max_features),
            format!("--alpha={}", self.alpha),
            format!("--max-iterations={}", self.max_iterations),
            format!("--tolerance={}", self.tolerance),
        ];
        for (on, flag) in [
            (v.sublinear_tf, "--sublinear-tf"),
            (!v.stem, "--no-stem"),
            (v.stop_words, "--stop-words"),
            (self.balance, "--balance"),
        ] {
            if on {
                args.push(flag.to_string());
            }
        }
        match &self.actors {
            ActorSource::Shipped => {}
            ActorSource::File(path) => args.push(format!("--actors={}", path.display())),
            ActorSource::Off => args.push("--no-actors".into()),
        }
        args
    }

    fn gazetteer(&self) -> Result<Option<Gazetteer>> {
        match &self.actors {
            ActorSource::Shipped => Ok(Some(Gazetteer::default_actors())),
            ActorSource::File(path) => Gazetteer::load(path).map(Some),
            ActorSource::Off => Ok(None),
        }
    }
}

/// One classifier head: a label field, its classes and its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// The label field this head predicts (`theme`, `stance`).
    pub name: String,
    /// Class names, sorted.
    pub classes: Vec<String>,
    /// Intercept per class.
    pub intercepts: Vec<f32>,
    /// Weights, features × classes, row-major.
    pub weights: Vec<f32>,
}

impl Head {
    /// Weights of feature `feature`, one per class.
    pub fn feature_weights(&self, feature: usize) -> &[f32] {
        let k = self.classes.len();
        &self.weights[feature * k..(feature + 1) * k]
    }
}

/// Lanes of one block of class weights: a multiple of the SIMD width, so the
/// compiler turns the per-feature update into a few vector instructions.
const LANES: usize = 8;

/// Every head's weights side by side, one padded row per feature, so that
/// labelling reads each feature's weights once, for all heads, in one
/// cache-friendly pass.
#[derive(Debug, Clone, Default)]
struct Scorer {
    /// Per head: the range of its classes within a row.
    heads: Vec<Range<usize>>,
    /// Blocks per row (all heads' classes, padded with zeros).
    blocks: usize,
    intercepts: Vec<[f32; LANES]>,
    /// `features × blocks`, row-major.
    weights: Vec<[f32; LANES]>,
}

impl Scorer {
    fn new(heads: &[Head], features: usize) -> Scorer {
        let mut ranges = Vec::with_capacity(heads.len());
        let mut width = 0;
        for head in heads {
            ranges.push(width..width + head.classes.len());
            width += head.classes.len();
        }
        let blocks = width.div_ceil(LANES);
        let mut intercepts = vec![[0.0; LANES]; blocks];
        let mut weights = vec![[0.0; LANES]; features * blocks];
        for (head, range) in heads.iter().zip(&ranges) {
            for (c, column) in range.clone().enumerate() {
                intercepts[column / LANES][column % LANES] = head.intercepts[c];
                for f in 0..features {
                    weights[f * blocks + column / LANES][column % LANES] =
                        head.feature_weights(f)[c];
                }
            }
        }
        Scorer {
            heads: ranges,
            blocks,
            intercepts,
            weights,
        }
    }

    /// Every head's class probabilities for a sparse feature vector, into
    /// `probs` (the heads' classes one after another).
    fn scores_into(
        &self,
        features: &[(u32, f32)],
        logits: &mut Vec<[f32; LANES]>,
        probs: &mut Vec<f32>,
    ) {
        logits.clear();
        logits.extend_from_slice(&self.intercepts);
        for &(feature, value) in features {
            let start = feature as usize * self.blocks;
            let row = &self.weights[start..start + self.blocks];
            for (sum, weights) in logits.iter_mut().zip(row) {
                *sum = std::array::from_fn(|k| sum[k] + value * weights[k]);
            }
        }
        probs.clear();
        probs.extend(logits.iter().flatten());
        for range in &self.heads {
            softmax(&mut probs[range.clone()]);
        }
    }
}

fn softmax(logits: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in logits.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    logits.iter_mut().for_each(|v| *v /= sum);
}

/// Figures for one head on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadScore {
    /// Share of paragraphs labelled correctly.
    pub accuracy: f64,
    /// Unweighted mean of per-class F1.
    pub macro_f1: f64,
}

/// Where a model's quality figures come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevSummary {
    /// The held-out file, as given.
    pub file: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Number of paragraphs.
    pub rows: usize,
    /// Figures per head.
    pub heads: BTreeMap<String, HeadScore>,
}

/// What a model was trained on and how; no timestamps, so that retraining
/// with the same data and options reproduces the file byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Version of vektor that trained the model.
    pub vektor_version: String,
    /// The training file, as given.
    pub training_file: String,
    /// SHA-256 of the training file.
    pub training_sha256: String,
    /// Number of training paragraphs.
    pub rows: usize,
    /// Paragraphs per class, per head.
    pub class_counts: BTreeMap<String, BTreeMap<String, usize>>,
    /// Number of features.
    pub vocabulary: usize,
    /// The options used.
    pub options: TrainOptions,
    /// Held-out figures, when training was given a dev set.
    pub dev: Option<DevSummary>,
}

impl ModelCard {
    /// The `vektor train` command line that reproduces the model.
    ///
    /// Arguments are quoted for a POSIX shell where they need it (a path with
    /// a space, say), so the line can be pasted as it is.
    pub fn command(&self, out: &str) -> String {
        let mut args = vec![
            format!("--data={}", self.training_file),
            format!("--out={out}"),
        ];
        args.extend(self.options.to_args());
        if let Some(dev) = &self.dev {
            args.push(format!("--dev={}", dev.file));
        }
        format!("vektor train {}", shell_join(&args))
    }
}

/// `arg` as one word for a POSIX shell: as it is when it holds only
/// characters no shell treats specially, else in single quotes, with a `'`
/// inside written `'\''`.
///
/// ```
/// use vektor::model::shell_quote;
/// assert_eq!(shell_quote("--data=training/paragraphs.jsonl"), "--data=training/paragraphs.jsonl");
/// assert_eq!(shell_quote("--data=my data.jsonl"), "'--data=my data.jsonl'");
/// assert_eq!(shell_quote("it's"), r"'it'\''s'");
/// ```
pub fn shell_quote(arg: &str) -> Cow<'_, str> {
    // The characters Python's `shlex.quote` leaves alone: none of them
    // expands, globs, redirects or ends a word in a POSIX shell.
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        Cow::Borrowed(arg)
    } else {
        Cow::Owned(format!("'{}'", arg.replace('\'', r"'\''")))
    }
}

/// `args` quoted with [`shell_quote`] and joined by spaces: a command line
/// that a shell splits back into exactly `args`.
pub fn shell_join<S: AsRef<str>>(args: impl IntoIterator<Item = S>) -> String {
    args.into_iter()
        .map(|arg| shell_quote(arg.as_ref()).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: String,
    version: u32,
    card: ModelCard,
    vectorizer: TfIdfParts,
    heads: Vec<Head>,
}

/// A trained model: a vectorizer, one head per label field, and its card.
///
/// A `Model` can only be made by [`train`] or by loading a file, so there is
/// no such thing as an untrained model to label with.
#[derive(Debug)]
pub struct Model {
    vectorizer: TfIdf,
    heads: Vec<Head>,
    card: ModelCard,
    scorer: Scorer,
}

/// One head's answer for one paragraph. Names borrow from the model, so
/// labelling shares nothing between threads but the read-only model.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadLabel<'m> {
    /// The head (`theme`, `stance`).
    pub head: &'m str,
    /// The most probable class (or [`UNCERTAIN`] after [`Labels::abstain`]).
    pub label: &'m str,
    /// Its probability.
    pub confidence: f32,
    /// Every class with its probability, in the head's class order.
    pub scores: Vec<(&'m str, f32)>,
}

/// Every head's answer for one paragraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels<'m> {
    /// One entry per head, in the model's head order.
    pub heads: Vec<HeadLabel<'m>>,
}

/// The label given instead of a class when confidence is below a threshold.
pub const UNCERTAIN: &str = "uncertain";

impl<'m> Labels<'m> {
    /// Replaces the label of each head in `thresholds` whose confidence is
    /// below its threshold by [`UNCERTAIN`]; confidence and scores stay.
    pub fn abstain(&mut self, thresholds: &BTreeMap<String, f32>) {
        for head in &mut self.heads {
            if thresholds
                .get(head.head)
                .is_some_and(|&t| head.confidence < t)
            {
                head.label = UNCERTAIN;
            }
        }
    }

    /// The answer of head `name`, if the model has it.
    pub fn get(&self, name: &str) -> Option<&HeadLabel<'m>> {
        self.heads.iter().find(|h| h.head == name)
    }
}

/// A term that pushed a head toward its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    /// The words as they appear in the paragraph (the marker itself for `@no-…` markers).
    pub text: String,
    /// The feature (stemmed n-gram or marker).
    pub feature: String,
    /// How much it raised the chosen class over the average class (in logits).
    pub weight: f32,
}

impl std::fmt::Display for Contribution {
    /// `words (+0.42)`, as `--explain` and `eval --errors` show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:+.2})", self.text, self.weight)
    }
}

/// Labels a stream of paragraphs with reusable buffers; one per thread.
///
/// ```no_run
/// let model = vektor::Model::load("models/default.json".as_ref())?;
/// let mut labeler = model.labeler();
/// for line in ["Oil exports rose", "By Aigerim Sadykova"] {
///     println!("{:?}", labeler.label(line).get("theme").map(|h| &h.label));
/// }
/// # Ok::<(), vektor::Error>(())
/// ```
#[derive(Debug)]
pub struct Labeler<'m> {
    model: &'m Model,
    scratch: Scratch,
    features: Vec<(u32, f32)>,
    spans: Vec<Range<usize>>,
    logits: Vec<[f32; LANES]>,
    probs: Vec<f32>,
}

impl<'m> Labeler<'m> {
    /// Labels one paragraph.
    pub fn label(&mut self, text: &str) -> Labels<'m> {
        self.model
            .vectorizer
            .transform_into(text, &mut self.scratch, &mut self.features, None);
        self.labels_from_features()
    }

    /// Labels one paragraph and lists, per head, the `top` features that
    /// pushed the chosen class most, as written in the text.
    pub fn explain(&mut self, text: &str, top: usize) -> (Labels<'m>, Vec<Vec<Contribution>>) {
        self.model.vectorizer.transform_into(
            text,
            &mut self.scratch,
            &mut self.features,
            Some(&mut self.spans),
        );
        let labels = self.labels_from_features();
        let terms = self.model.vectorizer.terms();
        let explanations = self
            .model
            .heads
            .iter()
            .zip(&labels.heads)
            .map(|(head, answer)| {
                let chosen = head
                    .classes
                    .iter()
                    .position(|c| c == answer.label)
                    .unwrap_or(0);
                let mut contributions: Vec<Contribution> = self
                    .features
                    .iter()
                    .zip(&self.spans)
                    .map(|(&(feature, value), span)| {
                        let w = head.feature_weights(feature as usize);
                        let mean = w.iter().sum::<f32>() / w.len() as f32;
                        let feature_name = &terms[feature as usize];
                        // Absence markers have no words in the text; show the marker.
                        let shown = if span.is_empty() {
                            feature_name.as_str()
                        } else {
                            &text[span.clone()]
                        };
                        Contribution {
                            text: shown.to_string(),
                            feature: feature_name.clone(),
                            weight: value * (w[chosen] - mean),
                        }
                    })
                    .filter(|c| c.weight > 0.0)
                    .collect();
                contributions.sort_by(|a, b| {
                    b.weight
                        .total_cmp(&a.weight)
                        .then_with(|| a.feature.cmp(&b.feature))
                });
                contributions.truncate(top);
                contributions
            })
            .collect();
        (labels, explanations)
    }

    fn labels_from_features(&mut self) -> Labels<'m> {
        let model: &'m Model = self.model;
        model
            .scorer
            .scores_into(&self.features, &mut self.logits, &mut self.probs);
        let heads = model
            .heads
            .iter()
            .zip(&model.scorer.heads)
            .map(|(head, range)| {
                let probs = &self.probs[range.clone()];
                let best = argmax(probs);
                HeadLabel {
                    head: &head.name,
                    label: &head.classes[best],
                    confidence: probs[best],
                    scores: head
                        .classes
                        .iter()
                        .map(String::as_str)
                        .zip(probs.iter().copied())
                        .collect(),
                }
            })
            .collect();
        Labels { heads }
    }
}

/// One [`Labeler`] per worker thread of the current rayon pool, so that each
/// thread keeps its warm word cache across items and batches (`map_init`
/// would build a fresh labeler for every split of the work).
#[derive(Debug)]
pub struct LabelerPool<'m> {
    labelers: Vec<std::sync::Mutex<Labeler<'m>>>,
}

impl<'m> LabelerPool<'m> {
    /// A labeler for each thread of the current rayon pool, plus one for
    /// callers outside it.
    pub fn new(model: &'m Model) -> Self {
        let labelers = (0..=rayon::current_num_threads())
            .map(|_| std::sync::Mutex::new(model.labeler()))
            .collect();
        LabelerPool { labelers }
    }

    /// Runs `f` with the calling thread's labeler.
    pub fn with<R>(&self, f: impl FnOnce(&mut Labeler<'m>) -> R) -> R {
        let slot = rayon::current_thread_index()
            .filter(|&i| i + 1 < self.labelers.len())
            .unwrap_or(self.labelers.len() - 1);
        // Each slot belongs to one thread, so the lock is never contended;
        // a poisoned lock only means an earlier panic, and the buffers are
        // reset on every use.
        let mut labeler = self.labelers[slot]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        f(&mut labeler)
    }
}

/// Index of the largest value; the first one on ties, so results are stable.
fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}

impl Model {
    fn from_parts(vectorizer: TfIdf, heads: Vec<Head>, card: ModelCard) -> Model {
        let scorer = Scorer::new(&heads, vectorizer.len());
        Model {
            vectorizer,
            heads,
            card,
            scorer,
        }
    }

    /// Loads a model file, checking its format, version and shapes.
    pub fn load(path: &Path) -> Result<Model> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Model::from_json_bytes(&bytes, path)
    }

    /// Reads a model from the bytes of a model file; `origin` names it in errors.
    pub fn from_json_bytes(bytes: &[u8], origin: &Path) -> Result<Model> {
        let bad = |message: String| Error::Model {
            path: origin.to_path_buf(),
            message,
        };
        // Read the header alone first, so a file of another kind or version
        // gets that message rather than a list of missing fields.
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            version: Option<u32>,
        }
        let header: Header = serde_json::from_slice(bytes)
            .map_err(|e| bad(format!("not JSON or truncated ({e})")))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(bad(format!("expected \"format\": \"{FORMAT}\"")));
        }
        if header.version != Some(FORMAT_VERSION) {
            return Err(bad(format!(
                "model format version {:?}, this vektor reads version {FORMAT_VERSION}",
                header.version
            )));
        }
        let file: ModelFile = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let vectorizer = TfIdf::from_parts(file.vectorizer).map_err(bad)?;
        if file.heads.is_empty() {
            return Err(bad("no classifier heads".into()));
        }
        for head in &file.heads {
            let k = head.classes.len();
            if k < 2 || head.intercepts.len() != k || head.weights.len() != vectorizer.len() * k {
                return Err(bad(format!(
                    "head `{}` has {} classes, {} intercepts and {} weights for {} features",
                    head.name,
                    k,
                    head.intercepts.len(),
                    head.weights.len(),
                    vectorizer.len()
                )));
            }
            if head
                .weights
                .iter()
                .chain(&head.intercepts)
                .any(|w| !w.is_finite())
            {
                return Err(bad(format!("head `{}` has non-finite weights", head.name)));
            }
        }
        Ok(Model::from_parts(vectorizer, file.heads, file.card))
    }

    /// The model file's bytes: compact JSON, the same for the same model.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let file = ModelFile {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            card: self.card.clone(),
            vectorizer: self.vectorizer.to_parts(),
            heads: self.heads.clone(),
        };
        let mut bytes =
            serde_json::to_vec(&file).expect("a model serialises: all keys are strings");
        bytes.push(b'\n');
        bytes
    }

    /// Writes the model file atomically: a temporary file in the same
    /// directory, renamed over `path` once complete.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::write_atomically(path, |w| w.write_all(&self.to_json_bytes()))
    }

    /// The classifier heads, in order.
    pub fn heads(&self) -> &[Head] {
        &self.heads
    }

    /// The vectorizer.
    pub fn vectorizer(&self) -> &TfIdf {
        &self.vectorizer
    }

    /// The model card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Records held-out figures in the card (see `eval::dev_summary`).
    pub fn set_dev_summary(&mut self, dev: DevSummary) {
        self.card.dev = Some(dev);
    }

    /// A labeler with its own buffers, for labelling many paragraphs on one thread.
    pub fn labeler(&self) -> Labeler<'_> {
        Labeler {
            model: self,
            scratch: Scratch::default(),
            features: Vec::new(),
            spans: Vec::new(),
            logits: Vec::new(),
            probs: Vec::new(),
        }
    }

    /// Labels one paragraph.
    pub fn label(&self, text: &str) -> Labels<'_> {
        self.labeler().label(text)
    }

    /// Labels many paragraphs on all cores; the output order is the input order.
    pub fn label_batch<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<Labels<'_>> {
        let pool = LabelerPool::new(self);
        texts
            .par_iter()
            .map(|text| pool.with(|labeler| labeler.label(text.as_ref())))
            .collect()
    }
}

/// Trains a model: fits the vocabulary, then one head per label field.
///
/// ```
/// use vektor::dataset::{Example, TrainingSet};
/// let rows = [("Oil exports rose", "energy"), ("Gas output fell", "energy"),
///             ("Wheat exports rose", "trade"), ("Tariffs on wheat", "trade")];
/// let set = TrainingSet::from_examples(
///     vec!["theme".into()],
///     rows.iter().map(|(t, l)| Example { text: t.to_string(), labels: vec![l.to_string()] }).collect(),
/// ).unwrap();
/// let options = vektor::TrainOptions::default().labels(vec!["theme".into()]).min_df(1);
/// let model = vektor::train(&set, &options).unwrap();
/// assert_eq!(&*model.label("oil and gas").heads[0].label, "energy");
/// ```
pub fn train(set: &TrainingSet, options: &TrainOptions) -> Result<Model> {
    options.check()?;
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
    let texts = set.texts();
    let vectorizer = TfIdf::fit(&texts, &options.vectorizer, options.gazetteer()?)?;
    let x = vectorizer.transform_dense(&texts);
    let fitted: Vec<Head> = heads
        .par_iter()
        .map(|&h| fit_head(&x, &set.labels(h), &set.heads()[h], options))
        .collect::<Result<_>>()?;
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
    };
    Ok(Model::from_parts(vectorizer, fitted, card))
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

fn fit_head(x: &Array2<f64>, labels: &[&str], name: &str, options: &TrainOptions) -> Result<Head> {
    let mut classes: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    classes.sort();
    classes.dedup();
    let targets: Vec<usize> = labels
        .iter()
        .map(|l| {
            classes
                .binary_search_by(|c| c.as_str().cmp(l))
                .expect("every label is among the classes")
        })
        .collect();
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
    Ok(Head {
        name: name.into(),
        classes,
        intercepts,
        weights,
    })
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

    #[test]
    fn plain_arguments_are_not_quoted() {
        for arg in [
            "--data=training/paragraphs.jsonl",
            "--labels=theme,stance",
            "--tolerance=0.0001",
            "--out=/tmp/models/default.json",
            "user@host:path+v1%_x",
        ] {
            assert!(matches!(shell_quote(arg), Cow::Borrowed(a) if a == arg));
        }
    }

    #[test]
    fn arguments_a_shell_would_change_are_single_quoted() {
        for (arg, quoted) in [
            ("--data=my data.jsonl", "'--data=my data.jsonl'"),
            ("--data=Sadykova's.jsonl", r"'--data=Sadykova'\''s.jsonl'"),
            ("''", r"''\'''\'''"),
            ("", "''"),
            ("$HOME/x", "'$HOME/x'"),
            ("a;rm -rf b", "'a;rm -rf b'"),
            ("*.jsonl", "'*.jsonl'"),
            ("~/data.jsonl", "'~/data.jsonl'"),
            (r"back\slash", r"'back\slash'"),
            ("d\u{e9}j\u{e0}.jsonl", "'d\u{e9}j\u{e0}.jsonl'"),
            ("two\nlines", "'two\nlines'"),
        ] {
            assert_eq!(shell_quote(arg), quoted, "{arg:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_shell_splits_a_joined_line_back_into_the_arguments() {
        let args = [
            "--data=my data/p's.jsonl",
            "",
            "$(echo no)",
            "`echo no`",
            "a|b&c>d<e",
            r"back\slash",
            "tab\there",
            "two\nlines",
            "!event",
            "*",
            "plain",
        ];
        let script = format!(r"printf '%s\0' {}", shell_join(args));
        let output = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(output.status.success(), "{script}");
        let out = String::from_utf8(output.stdout).unwrap();
        let back: Vec<&str> = out.strip_suffix('\0').unwrap().split('\0').collect();
        assert_eq!(back, args);
    }

    fn card(training_file: &str, actors: ActorSource) -> ModelCard {
        ModelCard {
            vektor_version: "0.0.0".into(),
            training_file: training_file.into(),
            training_sha256: String::new(),
            rows: 0,
            class_counts: BTreeMap::new(),
            vocabulary: 0,
            options: TrainOptions::default().actors(actors),
            dev: Some(DevSummary {
                file: "training/dev.jsonl".into(),
                sha256: String::new(),
                rows: 0,
                heads: BTreeMap::new(),
            }),
        }
    }

    #[test]
    fn card_command_quotes_only_the_arguments_that_need_it() {
        let plain = card("training/paragraphs.jsonl", ActorSource::Shipped);
        assert_eq!(
            plain.command("models/default.json"),
            format!(
                "vektor train --data=training/paragraphs.jsonl --out=models/default.json {} --dev=training/dev.jsonl",
                plain.options.to_args().join(" ")
            )
        );
        let spaced = card(
            "my data/Sadykova's.jsonl",
            ActorSource::File("my actors.toml".into()),
        );
        let command = spaced.command("out dir/m.json");
        assert!(
            command.starts_with(
                r"vektor train '--data=my data/Sadykova'\''s.jsonl' '--out=out dir/m.json' --labels=theme,stance "
            ),
            "{command}"
        );
        assert!(
            command.ends_with(" '--actors=my actors.toml' --dev=training/dev.jsonl"),
            "{command}"
        );
    }

    #[test]
    fn softmax_sums_to_one() {
        let mut v = vec![1.0, 2.0, 3.0];
        softmax(&mut v);
        assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(argmax(&v), 2);
    }
}
