//! Labelling paragraphs with a trained model, one reusable labeler per thread.

use std::ops::Range;

use rustc_hash::FxHashMap;

use super::scorer::{argmax, LANES};
use super::Model;
use crate::features::{FeatureKind, Mentions, Scratch};
use crate::labels::{Contribution, HeadLabel, Labels, NO_KNOWN_WORDS, UNKNOWN_LANGUAGE};
use crate::text::{language, Lang};

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
    /// The language every paragraph is taken to be in; `None` detects it.
    lang: Option<Lang>,
}

impl<'m> Labeler<'m> {
    pub(super) fn new(model: &'m Model) -> Self {
        Labeler {
            model,
            scratch: Scratch::default(),
            features: Vec::new(),
            spans: Vec::new(),
            logits: Vec::new(),
            probs: Vec::new(),
            lang: None,
        }
    }

    /// Labels one paragraph.
    pub fn label(&mut self, text: &str) -> Labels<'m> {
        self.label_in_doc(text, Mentions::NONE).0
    }

    /// Labels one paragraph of a document whose earlier paragraphs named
    /// the actor groups in `context`; also returns the groups this one
    /// names, to add to the context of the next (see [`Mentions::union`]).
    /// Context matters only to a model trained with document context.
    pub fn label_in_doc(&mut self, text: &str, context: Mentions) -> (Labels<'m>, Mentions) {
        let mentions = self.model.vectorizer.transform_in_doc(
            text,
            context,
            &mut self.scratch,
            &mut self.features,
            None,
        );
        (self.labels_from_features(text), mentions)
    }

    /// The actor groups a paragraph names, without labelling it.
    pub fn mentions(&mut self, text: &str) -> Mentions {
        self.model.vectorizer.mentions(text, &mut self.scratch)
    }

    /// Labels one paragraph and lists, per head, the `top` features that
    /// pushed the chosen class most, as written in the text.
    pub fn explain(&mut self, text: &str, top: usize) -> (Labels<'m>, Vec<Vec<Contribution>>) {
        self.explain_in_doc(text, Mentions::NONE, top)
    }

    /// [`Labeler::explain`] for a paragraph of a document (see [`Labeler::label_in_doc`]).
    pub fn explain_in_doc(
        &mut self,
        text: &str,
        context: Mentions,
        top: usize,
    ) -> (Labels<'m>, Vec<Vec<Contribution>>) {
        self.model.vectorizer.transform_in_doc(
            text,
            context,
            &mut self.scratch,
            &mut self.features,
            Some(&mut self.spans),
        );
        let labels = self.labels_from_features(text);
        let terms = self.model.vectorizer.terms();
        let explanations = self
            .model
            .heads
            .iter()
            .zip(&labels.heads)
            .map(|(head, answer)| {
                // The most probable class, also when the label is `uncertain`.
                let probs: Vec<f32> = answer.scores.iter().map(|(_, p)| *p).collect();
                let chosen = argmax(&probs);
                // A word's character grams are summed into one contribution
                // of the word: the reader asks which words counted.
                let mut contributions: Vec<Contribution> = Vec::new();
                let mut word_at: FxHashMap<usize, usize> = FxHashMap::default();
                for (&(feature, value), span) in self.features.iter().zip(&self.spans) {
                    let w = head.feature_weights(feature as usize);
                    let mean = w.iter().sum::<f32>() / w.len() as f32;
                    let weight = value * (w[chosen] - mean);
                    let feature_name = &terms[feature as usize];
                    if FeatureKind::of(feature_name) == FeatureKind::CharGram {
                        if let Some(&i) = word_at.get(&span.start) {
                            let word: &mut Contribution = &mut contributions[i];
                            word.weight += weight;
                            word.feature.push(' ');
                            word.feature.push_str(feature_name);
                            continue;
                        }
                        word_at.insert(span.start, contributions.len());
                    }
                    // Absence markers have no words in the text; show the marker.
                    let shown = if span.is_empty() {
                        feature_name.as_str()
                    } else {
                        &text[span.clone()]
                    };
                    contributions.push(Contribution {
                        text: shown.to_string(),
                        feature: feature_name.clone(),
                        weight,
                    });
                }
                contributions.retain(|c| c.weight > 0.0);
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

    fn labels_from_features(&mut self, text: &str) -> Labels<'m> {
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
        let lang = self.lang.unwrap_or_else(|| language(text));
        let mut labels = Labels {
            heads,
            lang,
            unreadable: None,
        };
        let terms = model.vectorizer.terms();
        // Words, not markers or character grams: a paragraph that shares
        // only a few 4-letter pieces with the vocabulary was not read.
        let knows_a_word = self
            .features
            .iter()
            .any(|&(f, _)| FeatureKind::of(&terms[f as usize]) == FeatureKind::Word);
        if lang == Lang::Other {
            labels.unreadable(UNKNOWN_LANGUAGE);
        } else if !knows_a_word {
            labels.unreadable(NO_KNOWN_WORDS);
        }
        labels
    }

    /// Takes every paragraph to be in `lang` instead of detecting it
    /// (`None`: detect). A paragraph given a language is never refused for
    /// its language, only for having no known word.
    pub fn set_lang(&mut self, lang: Option<Lang>) {
        self.lang = lang;
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
