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

mod file;
mod labeler;
mod options;
mod scorer;
pub mod solver;
mod train;

pub use file::{DevSummary, HeadFit, HeadScore, ModelCard, FORMAT, FORMAT_VERSION};
pub use labeler::{Labeler, LabelerPool};
pub use options::{ActorSource, Solver, TrainOptions};
pub use train::train;
pub(crate) use train::{contexts, fit_sparse, head_columns, sparse_rows};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::{context_at, doc_contexts, Mentions, TfIdf};
use crate::labels::Labels;
use scorer::Scorer;

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
        Labeler::new(self)
    }

    /// Labels one paragraph.
    pub fn label(&self, text: &str) -> Labels<'_> {
        self.labeler().label(text)
    }

    /// Labels many paragraphs on all cores; the output order is the input order.
    pub fn label_batch<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<Labels<'_>> {
        self.label_in_contexts(texts, &[])
    }

    /// Labels the paragraphs of documents on all cores: `docs[i]` names
    /// paragraph `i`'s document (`None`: it stands alone), and a paragraph
    /// sees the actors named before it in its document. The same as
    /// [`Model::label_batch`] for a model trained without document context.
    ///
    /// # Panics
    /// If `docs` and `texts` differ in length.
    pub fn label_docs<S: AsRef<str> + Sync, D: AsRef<str>>(
        &self,
        texts: &[S],
        docs: &[Option<D>],
    ) -> Vec<Labels<'_>> {
        assert_eq!(texts.len(), docs.len(), "one document id per paragraph");
        let contexts = match self.vectorizer.actors() {
            Some(actors) if self.vectorizer.options().doc_context => {
                doc_contexts(texts, docs, actors)
            }
            _ => Vec::new(),
        };
        self.label_in_contexts(texts, &contexts)
    }

    /// Labels `texts` on all cores, each with its document context
    /// (`contexts` empty: none), in input order.
    fn label_in_contexts<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        contexts: &[Mentions],
    ) -> Vec<Labels<'_>> {
        let pool = LabelerPool::new(self);
        texts
            .par_iter()
            .enumerate()
            .map(|(i, text)| {
                pool.with(|labeler| {
                    labeler
                        .label_in_doc(text.as_ref(), context_at(contexts, i))
                        .0
                })
            })
            .collect()
    }
}
