//! What a model returns for a paragraph: one label per head with its
//! confidence and every class's probability, and the terms behind a label.
//!
//! These types sit below both the model (which makes them) and the writers
//! (which render them), so neither has to know the other.

use std::collections::BTreeMap;

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
