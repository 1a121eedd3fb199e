//! The model file: its format, its card, and loading and saving.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Head, Model, TrainOptions};
use crate::error::{Error, Result};
use crate::features::{TfIdf, TfIdfParts};

/// Identifies vektor model files.
pub const FORMAT: &str = "vektor-model";
/// Version of the model file layout; loading rejects any other.
pub const FORMAT_VERSION: u32 = 1;

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
    /// How each head's fit went, and the class weights it used (absent
    /// from cards written before the sparse solver).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fits: BTreeMap<String, HeadFit>,
}

/// How one head's solver run went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadFit {
    /// L-BFGS iterations run.
    pub iterations: u64,
    /// Whether the gradient tolerance was reached (else the iteration limit
    /// or the line search ended the run, and the model may be under-fitted).
    pub converged: bool,
    /// Weight of each class in the loss: 1 without `balance`, else
    /// n / (k · n_class), so that every class weighs the same in total.
    pub class_weights: BTreeMap<String, f64>,
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

impl Model {
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
        crate::files::write_atomically(path, |w| w.write_all(&self.to_json_bytes()))
    }
}
