//! What a model returns for a paragraph: one label per head with its
//! confidence and every class's probability, and the terms behind a label.
//!
//! These types sit below both the model (which makes them) and the writers
//! (which render them), so neither has to know the other.

use std::collections::BTreeMap;

use crate::text::Lang;

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
    /// The paragraph's language, detected ([`crate::text::language`]) or given.
    pub lang: Lang,
    /// Why every head is [`UNCERTAIN`] whatever its confidence, when the
    /// model cannot read the paragraph: [`UNKNOWN_LANGUAGE`] or [`NO_KNOWN_WORDS`].
    pub unreadable: Option<&'static str>,
}

/// Why a paragraph in a language the model was not trained on is not labelled.
pub const UNKNOWN_LANGUAGE: &str = "language other than English or Russian";

/// Why a paragraph without a single word of the model's vocabulary is not
/// labelled: its scores would come from the intercepts and absence markers
/// alone, often at 99% confidence.
pub const NO_KNOWN_WORDS: &str = "no word the model knows";

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

    /// Marks the paragraph unreadable for `reason`: every head's label
    /// becomes [`UNCERTAIN`]; confidence and scores stay.
    pub fn unreadable(&mut self, reason: &'static str) {
        self.unreadable = Some(reason);
        for head in &mut self.heads {
            head.label = UNCERTAIN;
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
    /// The feature (stemmed n-gram or marker), or for a word's character
    /// grams, all of them, space-separated (`#<sanc #sanc #anct`).
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
