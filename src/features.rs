//! Vocabulary and TF-IDF: paragraph → sparse feature vector, each block of unit length.
//!
//! Features come in three blocks, each scaled to unit length on its own (as
//! scikit-learn's `FeatureUnion` of vectorizers does), so that the many
//! character grams of a paragraph do not drown its words:
//!
//! - **words**: word n-grams of terms (`oil`, `oil pipelin`) and actor
//!   markers (`@russia`, `@no-russia`, `@russia-in-doc`, see
//!   [`crate::actors`]);
//! - **character grams** (`#<sanc`, [`VectorizerOptions::char_ngrams`]),
//!   which see a word's parts across spellings and inflections;
//! - **actor sentences** (`^supplies`, [`VectorizerOptions::actor_sentences`]):
//!   the terms of the sentences that name a focus actor (a gazetteer group
//!   with `absence = true`, Russia in the shipped one), kept apart from the
//!   same words elsewhere in the paragraph.
//!
//! [`TfIdf::fit`] chooses the vocabulary from a corpus by document frequency
//! and stores smoothed idf (`ln((1 + n) / (1 + df)) + 1`, as scikit-learn
//! does); the transform weighs each feature by its count (or `1 + ln(count)`
//! with sublinear tf) times idf, and each block is scaled to unit length.
//!
//! ```
//! use vektor::features::{TfIdf, VectorizerOptions};
//! let corpus = ["Oil exports rose", "Oil pipeline halted", "Wheat exports rose"];
//! let options = VectorizerOptions { ngrams: 2, ..VectorizerOptions::default() };
//! let tfidf = TfIdf::fit(&corpus, &options, None).unwrap();
//! let vector = tfidf.transform("Oil exports halted");
//! let norm: f32 = vector.iter().map(|(_, v)| v * v).sum();
//! assert!((norm - 1.0).abs() < 1e-5);
//! // min_df = 2 by default: only words and pairs in two paragraphs are kept
//! assert_eq!(tfidf.terms(), ["export", "export rose", "oil", "rose"]);
//! ```

use std::ops::Range;

use ndarray::Array2;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::actors::{Gazetteer, NOT_AN_ACTOR_WORD};
use crate::error::{Error, Result};
use crate::text::{char_grams, ends_sentence, is_stop_word, lowercase_into, words, Analyzer};

/// Longest n-gram the vectorizer supports; n-gram keys are fixed-size arrays.
pub const MAX_NGRAM: usize = 3;

/// A marker counts at most this many mentions, so that a list of ten Russian
/// companies does not outweigh everything else the paragraph says.
const MARKER_COUNT_CAP: f32 = 3.0;

/// How text becomes features. Part of [`crate::model::TrainOptions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorizerOptions {
    /// Longest word n-gram (1 = words only, 2 = words and pairs, at most 3).
    pub ngrams: usize,
    /// Drop features found in fewer than this many training paragraphs.
    pub min_df: usize,
    /// Drop features found in more than this share of training paragraphs.
    pub max_df: f64,
    /// Keep at most this many features of each block (words and markers,
    /// character grams, actor sentences), the most frequent (0 = no limit).
    pub max_features: usize,
    /// Use `1 + ln(count)` instead of the raw count.
    pub sublinear_tf: bool,
    /// Stem words with the English Snowball stemmer.
    pub stem: bool,
    /// Drop English stop words before forming n-grams.
    pub stop_words: bool,
    /// Character n-grams within words (`off`, or e.g. 3 to 5 characters).
    /// Stop words ([`crate::text::is_stop_word`]) give none: their grams
    /// say nothing and would be a third of the work.
    #[serde(default)]
    pub char_ngrams: CharNgrams,
    /// Add the terms of sentences that name a focus actor as separate features.
    #[serde(default)]
    pub actor_sentences: bool,
    /// Let a paragraph that names no focus actor see that an earlier
    /// paragraph of its document did (`@russia-in-doc`).
    #[serde(default)]
    pub doc_context: bool,
}

/// The lengths of character n-grams: `off`, or `min-max` characters.
///
/// ```
/// use vektor::features::CharNgrams;
/// let grams: CharNgrams = "3-5".parse().unwrap();
/// assert_eq!((grams.min, grams.max), (3, 5));
/// assert_eq!(grams.to_string(), "3-5");
/// assert_eq!("off".parse::<CharNgrams>().unwrap(), CharNgrams::OFF);
/// assert!("5-3".parse::<CharNgrams>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CharNgrams {
    /// Shortest gram, in characters (0 when off).
    pub min: usize,
    /// Longest gram, in characters (0 when off).
    pub max: usize,
}

/// Longest character gram: longer ones are nearly whole words.
pub const MAX_CHAR_NGRAM: usize = 8;

impl CharNgrams {
    /// No character grams.
    pub const OFF: CharNgrams = CharNgrams { min: 0, max: 0 };

    /// Whether grams are formed at all.
    pub fn is_on(&self) -> bool {
        self.max > 0
    }

    fn check(&self) -> std::result::Result<(), String> {
        if *self == CharNgrams::OFF
            || (1 <= self.min && self.min <= self.max && self.max <= MAX_CHAR_NGRAM)
        {
            Ok(())
        } else {
            Err(format!(
                "char n-grams must be `off` or MIN-MAX with 1 <= MIN <= MAX <= {MAX_CHAR_NGRAM}, got {}-{}",
                self.min, self.max
            ))
        }
    }
}

impl std::str::FromStr for CharNgrams {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s == "off" {
            return Ok(CharNgrams::OFF);
        }
        let bad = || format!("expected `off` or MIN-MAX such as `3-5`, got `{s}`");
        let (min, max) = s.split_once('-').ok_or_else(bad)?;
        let grams = CharNgrams {
            min: min.trim().parse().map_err(|_| bad())?,
            max: max.trim().parse().map_err(|_| bad())?,
        };
        grams.check()?;
        Ok(grams)
    }
}

impl std::fmt::Display for CharNgrams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_on() {
            write!(f, "{}-{}", self.min, self.max)
        } else {
            f.write_str("off")
        }
    }
}

/// The actor groups a paragraph or a document mentions, as a set of group
/// indices of the gazetteer (the first 64 groups: a document-context marker
/// is only formed for those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mentions(u64);

impl Mentions {
    /// No group.
    pub const NONE: Mentions = Mentions(0);

    fn insert(&mut self, group: usize) {
        if group < 64 {
            self.0 |= 1 << group;
        }
    }

    fn contains(self, group: usize) -> bool {
        group < 64 && self.0 & (1 << group) != 0
    }

    /// The groups in either set: a document's context grows by each paragraph's mentions.
    pub fn union(self, other: Mentions) -> Mentions {
        Mentions(self.0 | other.0)
    }
}

/// What a vocabulary term is, told by its first character: the one place
/// that reads the `@`, `#` and `^` prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    /// A word n-gram of terms (`oil`, `oil pipelin`).
    Word,
    /// An actor marker (`@russia`, `@no-russia`, `@russia-in-doc`).
    Marker,
    /// A character gram within a word (`#<san`).
    CharGram,
    /// A term of a sentence that names a focus actor (`^suppli`).
    ActorSentence,
}

impl FeatureKind {
    /// The kind of the term `term`.
    pub fn of(term: &str) -> FeatureKind {
        match term.as_bytes().first() {
            Some(b'@') => FeatureKind::Marker,
            Some(b'#') => FeatureKind::CharGram,
            Some(b'^') => FeatureKind::ActorSentence,
            _ => FeatureKind::Word,
        }
    }

    /// The block the feature is scaled in: words and markers together.
    fn block(self) -> usize {
        match self {
            FeatureKind::Word | FeatureKind::Marker => 0,
            FeatureKind::CharGram => 1,
            FeatureKind::ActorSentence => 2,
        }
    }
}

const BLOCKS: usize = 3;

/// Paragraph `i`'s document context (none when `contexts` is empty).
pub(crate) fn context_at(contexts: &[Mentions], i: usize) -> Mentions {
    contexts.get(i).copied().unwrap_or_default()
}

/// Words only, as the vectorizer alone; [`crate::TrainOptions::default`]
/// adds what the shipped model uses (character 4-grams, no vocabulary cap).
impl Default for VectorizerOptions {
    fn default() -> Self {
        VectorizerOptions {
            ngrams: 1,
            min_df: 2,
            max_df: 1.0,
            max_features: 20_000,
            sublinear_tf: true,
            stem: true,
            stop_words: false,
            char_ngrams: CharNgrams::OFF,
            actor_sentences: false,
            doc_context: false,
        }
    }
}

impl VectorizerOptions {
    /// Checks every option's range; the error names the option and value.
    pub fn check(&self) -> Result<()> {
        if !(1..=MAX_NGRAM).contains(&self.ngrams) {
            return Err(Error::Option(format!(
                "ngrams must be between 1 and {MAX_NGRAM}, got {}",
                self.ngrams
            )));
        }
        if self.min_df == 0 {
            return Err(Error::Option("min_df must be at least 1, got 0".into()));
        }
        if !(self.max_df > 0.0 && self.max_df <= 1.0) {
            return Err(Error::Option(format!(
                "max_df must be in (0, 1], got {}",
                self.max_df
            )));
        }
        self.char_ngrams.check().map_err(Error::Option)?;
        Ok(())
    }
}

/// Stem code of a stop word: dropped from the n-gram sequence.
const STOP: u32 = u32::MAX - 1;
/// Stem code of a word the vocabulary has never seen: breaks n-grams.
const UNKNOWN: u32 = u32::MAX;

/// The word cache is cleared when it grows past this many distinct words,
/// or its character grams past this many entries (long tokens such as URLs
/// have many), which bounds memory on endless streams of unusual text.
const WORD_CACHE_LIMIT: usize = 200_000;
const GRAM_CACHE_LIMIT: usize = 4_000_000;

/// Lookups derived from the vocabulary when it is built or loaded.
#[derive(Debug, Clone)]
struct Lookup {
    analyzer: Analyzer,
    stems: FxHashMap<String, u32>,
    ngrams: NgramIndex,
    /// Per actor group: feature of `@no-group`, `@group` and `@group-in-doc`,
    /// if in the vocabulary.
    markers: Vec<[Option<u32>; 3]>,
    /// Character gram (without the `#`) → feature.
    char_grams: FxHashMap<String, u32>,
    /// Stem id → feature of the stem in an actor sentence (`^stem`), or `NO_FEATURE`.
    focused: Vec<u32>,
    /// Per feature: how its count becomes a value. One array, so that the
    /// weighing of a paragraph's many features reads one place per feature.
    weighing: Vec<Weighing>,
}

/// How a feature's count becomes its value.
#[derive(Debug, Clone, Copy)]
struct Weighing {
    idf: f32,
    /// Counts above this are cut to it (actor markers; infinity otherwise).
    cap: f32,
    /// Its block (words, character grams, actor sentences).
    block: u32,
}

/// Index of the absence, presence and document markers in [`Lookup::markers`].
const ABSENT: usize = 0;
const PRESENT: usize = 1;
const IN_DOC: usize = 2;

/// What a word contributes, cached per distinct spelling.
#[derive(Debug, Clone, Copy)]
struct WordCodes {
    stem: u32,
    actor: u32,
    /// Start and end of the word's character-gram features in [`Scratch::grams`].
    grams: (u32, u32),
}

/// Marks "no feature" in [`NgramIndex::unigrams`].
const NO_FEATURE: u32 = u32::MAX;

/// N-gram → feature lookups, cheapest first: unigrams by direct index,
/// bigrams by one integer hash, trigrams by an array hash. Most word pairs
/// in a paragraph are not features, so `starts` (per stem: bit 0 = begins a
/// bigram feature, bit 1 = begins a trigram feature) skips their hashing.
#[derive(Debug, Clone, Default)]
struct NgramIndex {
    unigrams: Vec<u32>,
    bigrams: FxHashMap<u64, u32>,
    trigrams: FxHashMap<[u32; MAX_NGRAM], u32>,
    starts: Vec<u8>,
}

impl NgramIndex {
    /// Adds an n-gram of stem ids; false if it was already there.
    fn insert(&mut self, stems: &[u32], feature: u32) -> bool {
        let first = stems[0] as usize;
        let needed = first + 1;
        if self.unigrams.len() < needed {
            self.unigrams.resize(needed, NO_FEATURE);
            self.starts.resize(needed, 0);
        }
        match *stems {
            [_] => std::mem::replace(&mut self.unigrams[first], feature) == NO_FEATURE,
            [a, b] => {
                self.starts[first] |= 1;
                self.bigrams.insert(pair(a, b), feature).is_none()
            }
            [a, b, c] => {
                self.starts[first] |= 2;
                self.trigrams.insert([a, b, c], feature).is_none()
            }
            _ => unreachable!("n-grams are 1 to MAX_NGRAM long"),
        }
    }

    /// The feature of the n-gram `stems` (1 to 3 known stem ids), if any.
    #[inline]
    fn get(&self, stems: &[u32]) -> Option<u32> {
        let first = stems[0] as usize;
        let starts = || self.starts.get(first).copied().unwrap_or(0);
        match *stems {
            [_] => self
                .unigrams
                .get(first)
                .copied()
                .filter(|&f| f != NO_FEATURE),
            [a, b] if starts() & 1 != 0 => self.bigrams.get(&pair(a, b)).copied(),
            [a, b, c] if starts() & 2 != 0 => self.trigrams.get(&[a, b, c]).copied(),
            _ => None,
        }
    }
}

fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// A fitted TF-IDF vectorizer: options, vocabulary, idf and (optionally)
/// the actor gazetteer whose markers are part of the vocabulary. A clone
/// keeps the id: it has the same vocabulary, so cached word codes still hold.
#[derive(Debug, Clone)]
pub struct TfIdf {
    /// Distinguishes vectorizers, so a [`Scratch`] never reuses word codes
    /// cached for another one.
    id: u64,
    options: VectorizerOptions,
    terms: Vec<String>,
    idf: Vec<f32>,
    actors: Option<Gazetteer>,
    lookup: Lookup,
}

/// The serialised form of a [`TfIdf`] inside a model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TfIdfParts {
    /// Options the vocabulary was fitted with.
    pub options: VectorizerOptions,
    /// Feature names, sorted.
    pub terms: Vec<String>,
    /// Inverse document frequency per feature.
    pub idf: Vec<f32>,
    /// The gazetteer, if markers are used.
    pub actors: Option<Gazetteer>,
}

/// Reusable buffers for [`TfIdf::transform_into`]; keep one per thread so that
/// labelling allocates nothing per word once the word cache is warm.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Id of the vectorizer whose word codes the caches hold (0: none).
    owner: u64,
    lower: String,
    /// Word as written (not ASCII, or longer than 16 bytes) → its codes;
    /// each distinct spelling is lowercased, stemmed and cut into grams once.
    word_cache: FxHashMap<String, WordCodes>,
    /// The same for ASCII words of up to 16 bytes, keyed by their lowercase
    /// bytes packed into an integer: no string copy, no heap access to compare.
    short_word_cache: FxHashMap<u128, WordCodes>,
    /// The character-gram features of the cached words, one run per word.
    grams: Vec<u32>,
    word_spans: Vec<Range<usize>>,
    stem_codes: Vec<u32>,
    actor_words: Vec<u32>,
    word_grams: Vec<(u32, u32)>,
    in_focus: Vec<bool>,
    counts: Vec<f32>,
    touched: Vec<u32>,
    first_span: Vec<Range<usize>>,
    kept_words: Vec<usize>,
    actor_hits: Vec<(usize, Range<usize>)>,
}

/// A feature occurrence: feature id and the byte range of the words that made it.
pub type Occurrence = (u32, Range<usize>);

impl TfIdf {
    /// Fits the vocabulary and idf on `texts`.
    ///
    /// `max_features` applies to each block on its own.
    ///
    /// Features are kept if `min_df <= df <= max_df * n`; if more than
    /// `max_features` remain, the most frequent are kept, ties broken by name,
    /// so the same corpus always gives the same vocabulary.
    pub fn fit<S: AsRef<str>>(
        texts: &[S],
        options: &VectorizerOptions,
        actors: Option<Gazetteer>,
    ) -> Result<TfIdf> {
        TfIdf::fit_in_docs(texts, &[], options, actors)
    }

    /// Fits on paragraphs of documents: `contexts[i]` are the actor groups
    /// named earlier in paragraph `i`'s document (see [`doc_contexts`]);
    /// an empty slice means paragraphs stand alone.
    pub fn fit_in_docs<S: AsRef<str>>(
        texts: &[S],
        contexts: &[Mentions],
        options: &VectorizerOptions,
        actors: Option<Gazetteer>,
    ) -> Result<TfIdf> {
        options.check()?;
        if !contexts.is_empty() && contexts.len() != texts.len() {
            return Err(Error::Data(format!(
                "{} document contexts for {} paragraphs",
                contexts.len(),
                texts.len()
            )));
        }
        if texts.is_empty() {
            return Err(Error::Data(
                "cannot fit a vocabulary on no paragraphs".into(),
            ));
        }
        let analyzer = Analyzer::new(options.stem, options.stop_words);
        let mut doc_freq: FxHashMap<String, usize> = FxHashMap::default();
        let mut seen = FxHashSet::default();
        for (i, text) in texts.iter().enumerate() {
            seen.clear();
            let context = context_at(contexts, i);
            feature_names(
                text.as_ref(),
                &analyzer,
                options,
                actors.as_ref().map(|a| (a, context)),
                &mut seen,
            );
            for name in seen.drain() {
                *doc_freq.entry(name).or_insert(0) += 1;
            }
        }
        let n = texts.len();
        let max_count = ((options.max_df * n as f64).floor() as usize).max(1);
        let mut kept: Vec<(String, usize)> = doc_freq
            .into_iter()
            .filter(|(_, df)| *df >= options.min_df && *df <= max_count)
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if options.max_features > 0 {
            let mut per_block = [0; BLOCKS];
            kept.retain(|(term, _)| {
                let count = &mut per_block[FeatureKind::of(term).block()];
                *count += 1;
                *count <= options.max_features
            });
        }
        kept.sort_by(|a, b| a.0.cmp(&b.0));
        if kept.is_empty() {
            return Err(Error::Data(format!(
                "no feature occurs in at least min_df={} and at most max_df={} of {n} paragraphs",
                options.min_df, options.max_df
            )));
        }
        let idf = kept
            .iter()
            .map(|(_, df)| (((1 + n) as f64 / (1 + df) as f64).ln() + 1.0) as f32)
            .collect();
        let terms = kept.into_iter().map(|(term, _)| term).collect();
        TfIdf::from_parts(TfIdfParts {
            options: options.clone(),
            terms,
            idf,
            actors,
        })
        .map_err(Error::Data)
    }

    /// Rebuilds a vectorizer from its serialised parts, checking consistency.
    pub fn from_parts(parts: TfIdfParts) -> std::result::Result<TfIdf, String> {
        let TfIdfParts {
            options,
            terms,
            idf,
            actors,
        } = parts;
        options.check().map_err(|e| e.to_string())?;
        if terms.len() != idf.len() {
            return Err(format!(
                "{} terms but {} idf values",
                terms.len(),
                idf.len()
            ));
        }
        if terms.is_empty() {
            return Err("empty vocabulary".into());
        }
        if idf.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return Err("idf values must be finite and positive".into());
        }
        let mut stems: FxHashMap<String, u32> = FxHashMap::default();
        let mut ngrams = NgramIndex::default();
        let mut char_grams = FxHashMap::default();
        let mut focused = Vec::new();
        for (feature, term) in terms.iter().enumerate() {
            match FeatureKind::of(term) {
                FeatureKind::Word => {}
                FeatureKind::Marker => continue,
                FeatureKind::CharGram => {
                    char_grams.insert(term[1..].to_string(), feature as u32);
                    continue;
                }
                FeatureKind::ActorSentence => {
                    let next_id = stems.len() as u32;
                    let id = *stems.entry(term[1..].to_string()).or_insert(next_id) as usize;
                    if focused.len() <= id {
                        focused.resize(id + 1, NO_FEATURE);
                    }
                    focused[id] = feature as u32;
                    continue;
                }
            }
            let parts: Vec<&str> = term.split(' ').collect();
            if parts.len() > options.ngrams || parts.iter().any(|p| p.is_empty()) {
                return Err(format!(
                    "term {term:?} does not fit ngrams={}",
                    options.ngrams
                ));
            }
            let ids: Vec<u32> = parts
                .iter()
                .map(|part| {
                    let next_id = stems.len() as u32;
                    *stems.entry(part.to_string()).or_insert(next_id)
                })
                .collect();
            if !ngrams.insert(&ids, feature as u32) {
                return Err(format!("term {term:?} appears twice"));
            }
        }
        let feature_of = |name: String| terms.binary_search(&name).ok().map(|i| i as u32);
        let markers = actors.as_ref().map_or_else(Vec::new, |actors| {
            (0..actors.len())
                .map(|g| {
                    [
                        feature_of(actors.marker(g, false)),
                        feature_of(actors.marker(g, true)),
                        feature_of(actors.doc_marker(g)),
                    ]
                })
                .collect()
        });
        if terms.windows(2).any(|w| w[0] >= w[1]) {
            return Err("terms are not sorted and unique".into());
        }
        let lookup = Lookup {
            analyzer: Analyzer::new(options.stem, options.stop_words),
            stems,
            ngrams,
            markers,
            char_grams,
            focused,
            weighing: terms
                .iter()
                .zip(&idf)
                .map(|(term, &idf)| {
                    let kind = FeatureKind::of(term);
                    Weighing {
                        idf,
                        cap: if kind == FeatureKind::Marker {
                            MARKER_COUNT_CAP
                        } else {
                            f32::INFINITY
                        },
                        block: kind.block() as u32,
                    }
                })
                .collect(),
        };
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(TfIdf {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            options,
            terms,
            idf,
            actors,
            lookup,
        })
    }

    /// The serialisable parts of this vectorizer.
    pub fn to_parts(&self) -> TfIdfParts {
        TfIdfParts {
            options: self.options.clone(),
            terms: self.terms.clone(),
            idf: self.idf.clone(),
            actors: self.actors.clone(),
        }
    }

    /// Feature names, sorted; a feature's id is its index here.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Always false for a fitted vectorizer (kept for API symmetry).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The options the vocabulary was fitted with.
    pub fn options(&self) -> &VectorizerOptions {
        &self.options
    }

    /// The gazetteer, if the vocabulary has actor markers.
    pub fn actors(&self) -> Option<&Gazetteer> {
        self.actors.as_ref()
    }

    /// The TF-IDF vector of one paragraph, as (feature id, value) pairs.
    pub fn transform(&self, text: &str) -> Vec<(u32, f32)> {
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        self.transform_into(text, &mut scratch, &mut out, None);
        out
    }

    /// The TF-IDF vector of one paragraph into `out`, reusing `scratch`.
    ///
    /// With `spans`, also fills it with the byte range of each feature's first
    /// occurrence (parallel to `out`), which `--explain` shows as written.
    pub fn transform_into(
        &self,
        text: &str,
        scratch: &mut Scratch,
        out: &mut Vec<(u32, f32)>,
        spans: Option<&mut Vec<Range<usize>>>,
    ) {
        self.transform_in_doc(text, Mentions::NONE, scratch, out, spans);
    }

    /// [`TfIdf::transform_into`] for a paragraph of a document whose earlier
    /// paragraphs named the groups in `context`; returns the groups this
    /// paragraph names, which the caller adds to the context of the next.
    ///
    /// ```
    /// use vektor::features::{Mentions, TfIdf, VectorizerOptions};
    /// use vektor::actors::Gazetteer;
    /// let options = VectorizerOptions { min_df: 1, doc_context: true, ..VectorizerOptions::default() };
    /// let corpus = ["Gazprom raised prices", "The two sides met", "Astana opened a school"];
    /// let contexts = vektor::features::doc_contexts(&corpus, &[Some("a"), Some("a"), None], &Gazetteer::default_actors());
    /// let tfidf = TfIdf::fit_in_docs(&corpus, &contexts, &options, Some(Gazetteer::default_actors())).unwrap();
    /// let (mut scratch, mut out) = (Default::default(), Vec::new());
    /// let named = tfidf.transform_in_doc("Gazprom cut gas", Mentions::NONE, &mut scratch, &mut out, None);
    /// tfidf.transform_in_doc("The two sides met", named, &mut scratch, &mut out, None);
    /// let names: Vec<&str> = out.iter().map(|(f, _)| tfidf.terms()[*f as usize].as_str()).collect();
    /// assert!(names.contains(&"@russia-in-doc") && !names.contains(&"@no-russia"));
    /// ```
    pub fn transform_in_doc(
        &self,
        text: &str,
        context: Mentions,
        scratch: &mut Scratch,
        out: &mut Vec<(u32, f32)>,
        mut spans: Option<&mut Vec<Range<usize>>>,
    ) -> Mentions {
        self.claim(scratch);
        scratch.touched.clear();
        let explain = spans.is_some();
        let mentions = self.occurrences(text, context, scratch, |scratch, feature, span| {
            let count = &mut scratch.counts[feature as usize];
            if *count == 0.0 {
                scratch.touched.push(feature);
                if explain {
                    scratch.first_span[feature as usize] = span;
                }
            }
            *count += 1.0;
        });
        out.clear();
        let mut norms = [0.0f32; BLOCKS];
        for &feature in &scratch.touched {
            let f = feature as usize;
            let weighing = self.lookup.weighing[f];
            let mut tf = scratch.counts[f].min(weighing.cap);
            scratch.counts[f] = 0.0;
            if self.options.sublinear_tf {
                tf = sublinear(tf);
            }
            let value = tf * weighing.idf;
            norms[weighing.block as usize] += value * value;
            out.push((feature, value));
        }
        let scales = norms.map(|norm| if norm > 0.0 { norm.sqrt().recip() } else { 0.0 });
        for (feature, value) in out.iter_mut() {
            *value *= scales[self.lookup.weighing[*feature as usize].block as usize];
        }
        if let Some(spans) = spans.as_mut() {
            spans.clear();
            spans.extend(
                scratch
                    .touched
                    .iter()
                    .map(|&f| scratch.first_span[f as usize].clone()),
            );
        }
        mentions
    }

    /// Resets `scratch` if its caches were filled for another vectorizer.
    fn claim(&self, scratch: &mut Scratch) {
        if scratch.owner != self.id {
            *scratch = Scratch {
                owner: self.id,
                counts: vec![0.0; self.terms.len()],
                first_span: vec![0..0; self.terms.len()],
                ..Scratch::default()
            };
        }
    }

    /// The actor groups `text` names, without vectorising it.
    pub fn mentions(&self, text: &str, scratch: &mut Scratch) -> Mentions {
        let Some(actors) = &self.actors else {
            return Mentions::NONE;
        };
        self.claim(scratch);
        self.read_words(text, scratch);
        let mut mentions = Mentions::NONE;
        actors.scan(&scratch.actor_words, |group, _| mentions.insert(group));
        mentions
    }

    /// Dense TF-IDF matrix (paragraphs × features) for training;
    /// `contexts` as for [`TfIdf::fit_in_docs`].
    pub fn transform_dense<S: AsRef<str>>(
        &self,
        texts: &[S],
        contexts: &[Mentions],
    ) -> Array2<f64> {
        let mut matrix = Array2::zeros((texts.len(), self.terms.len()));
        let mut scratch = Scratch::default();
        let mut row = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            self.transform_in_doc(
                text.as_ref(),
                context_at(contexts, i),
                &mut scratch,
                &mut row,
                None,
            );
            for &(feature, value) in &row {
                matrix[[i, feature as usize]] = f64::from(value);
            }
        }
        matrix
    }

    /// Calls `found(scratch, feature, span)` for every feature occurrence in
    /// `text`; returns the actor groups the text names.
    fn occurrences(
        &self,
        text: &str,
        context: Mentions,
        scratch: &mut Scratch,
        mut found: impl FnMut(&mut Scratch, u32, Range<usize>),
    ) -> Mentions {
        self.read_words(text, scratch);
        if self.options.ngrams == 1 {
            // Unigrams need no window over the kept words: one pass.
            for word in 0..scratch.stem_codes.len() {
                let code = scratch.stem_codes[word];
                if code == STOP || code == UNKNOWN {
                    continue;
                }
                if let Some(feature) = self.lookup.ngrams.get(&[code]) {
                    let span = scratch.word_spans[word].clone();
                    found(scratch, feature, span);
                }
            }
        } else {
            self.ngram_occurrences(scratch, &mut found);
        }
        if self.options.char_ngrams.is_on() {
            for word in 0..scratch.word_grams.len() {
                let (start, end) = scratch.word_grams[word];
                for at in start..end {
                    let feature = scratch.grams[at as usize];
                    let span = scratch.word_spans[word].clone();
                    found(scratch, feature, span);
                }
            }
        }
        let mentions = self.marker_occurrences(text, context, scratch, &mut found);
        if self.options.actor_sentences {
            self.actor_sentence_occurrences(scratch, found);
        }
        mentions
    }

    /// Calls `found` for every n-gram feature (n >= 1) among the words read.
    fn ngram_occurrences(
        &self,
        scratch: &mut Scratch,
        found: &mut impl FnMut(&mut Scratch, u32, Range<usize>),
    ) {
        // Taken out of `scratch` so that `found` can borrow it; put back below
        // to keep the buffers' capacity.
        let mut kept = std::mem::take(&mut scratch.kept_words);
        kept.clear();
        kept.extend((0..scratch.stem_codes.len()).filter(|&i| scratch.stem_codes[i] != STOP));
        let n = self.options.ngrams;
        for (k, &first) in kept.iter().enumerate() {
            let mut key = [0; MAX_NGRAM];
            for len in 1..=n.min(kept.len() - k) {
                let word = kept[k + len - 1];
                let code = scratch.stem_codes[word];
                if code == UNKNOWN {
                    break;
                }
                key[len - 1] = code;
                if let Some(feature) = self.lookup.ngrams.get(&key[..len]) {
                    let span = scratch.word_spans[first].start..scratch.word_spans[word].end;
                    found(scratch, feature, span);
                }
            }
        }
        scratch.kept_words = kept;
    }

    /// Calls `found` for every actor marker: a mention, a group's absence, or
    /// its mention earlier in the document. Marks the words of sentences that
    /// name a focus group in `scratch.in_focus` when actor sentences are on.
    fn marker_occurrences(
        &self,
        text: &str,
        context: Mentions,
        scratch: &mut Scratch,
        found: &mut impl FnMut(&mut Scratch, u32, Range<usize>),
    ) -> Mentions {
        let Some(actors) = &self.actors else {
            return Mentions::NONE;
        };
        let mut hits = std::mem::take(&mut scratch.actor_hits);
        let mut mentions = Mentions::NONE;
        hits.clear();
        actors.scan(&scratch.actor_words, |group, range| {
            mentions.insert(group);
            hits.push((group, range));
        });
        for (group, range) in &hits {
            if let Some(feature) = self.lookup.markers[*group][PRESENT] {
                let span =
                    scratch.word_spans[range.start].start..scratch.word_spans[range.end - 1].end;
                found(scratch, feature, span);
            }
        }
        for group in 0..actors.len() {
            // A named group's marker was counted above, once per mention.
            let kind = match marker_of(group, &hits, context, &self.options, actors) {
                Some(kind) if kind != PRESENT => kind,
                _ => continue,
            };
            if let Some(feature) = self.lookup.markers[group][kind] {
                found(scratch, feature, 0..0);
            }
        }
        if self.options.actor_sentences {
            focus_words(
                text,
                &scratch.word_spans,
                &hits,
                actors,
                &mut scratch.in_focus,
            );
        }
        scratch.actor_hits = hits;
        mentions
    }

    /// Calls `found` for the terms of the words marked in `scratch.in_focus`.
    fn actor_sentence_occurrences(
        &self,
        scratch: &mut Scratch,
        mut found: impl FnMut(&mut Scratch, u32, Range<usize>),
    ) {
        for word in 0..scratch.in_focus.len() {
            if !scratch.in_focus[word] {
                continue;
            }
            let code = scratch.stem_codes[word] as usize;
            if let Some(&feature) = self.lookup.focused.get(code) {
                if feature != NO_FEATURE {
                    let span = scratch.word_spans[word].clone();
                    found(scratch, feature, span);
                }
            }
        }
    }

    /// Fills `scratch` with the spans, stem codes, actor word ids and
    /// character grams of `text`'s words.
    fn read_words(&self, text: &str, scratch: &mut Scratch) {
        scratch.word_spans.clear();
        scratch.stem_codes.clear();
        scratch.actor_words.clear();
        scratch.word_grams.clear();
        scratch.in_focus.clear();
        if scratch.word_cache.len() + scratch.short_word_cache.len() > WORD_CACHE_LIMIT
            || scratch.grams.len() > GRAM_CACHE_LIMIT
        {
            scratch.word_cache.clear();
            scratch.short_word_cache.clear();
            scratch.grams.clear();
        }
        let with_grams = self.options.char_ngrams.is_on();
        for range in words(text) {
            let word = || &text[range.clone()];
            let codes = match packed_ascii_lowercase(text.as_bytes(), range.clone()) {
                Some(key) => match scratch.short_word_cache.get(&key) {
                    Some(&codes) => codes,
                    None => {
                        let codes =
                            self.word_codes(&word().to_ascii_lowercase(), &mut scratch.grams);
                        scratch.short_word_cache.insert(key, codes);
                        codes
                    }
                },
                // Keyed by the word as written, so that a hit costs no
                // Unicode lowercasing (Russian words all come this way).
                None => match scratch.word_cache.get(word()) {
                    Some(&codes) => codes,
                    None => {
                        lowercase_into(word(), &mut scratch.lower);
                        let codes = self.word_codes(&scratch.lower, &mut scratch.grams);
                        scratch.word_cache.insert(word().to_string(), codes);
                        codes
                    }
                },
            };
            scratch.word_spans.push(range);
            scratch.stem_codes.push(codes.stem);
            scratch.actor_words.push(codes.actor);
            if with_grams {
                scratch.word_grams.push(codes.grams);
            }
        }
    }

    /// A lowercase word's stem code, actor word id and character-gram
    /// features (appended to `grams`).
    fn word_codes(&self, lowercase_word: &str, grams: &mut Vec<u32>) -> WordCodes {
        let stem = match self.lookup.analyzer.term(lowercase_word) {
            None => STOP,
            Some(term) => self
                .lookup
                .stems
                .get(term.as_ref())
                .copied()
                .unwrap_or(UNKNOWN),
        };
        let actor = self
            .actors
            .as_ref()
            .map_or(NOT_AN_ACTOR_WORD, |a| a.word_id(lowercase_word));
        let start = grams.len() as u32;
        word_grams(&self.options, lowercase_word, |gram| {
            if let Some(&feature) = self.lookup.char_grams.get(gram) {
                grams.push(feature);
            }
        });
        WordCodes {
            stem,
            actor,
            grams: (start, grams.len() as u32),
        }
    }
}

/// `1 + ln(count)`, from a table for the small counts nearly every feature has.
#[inline]
fn sublinear(count: f32) -> f32 {
    const TABLE_SIZE: usize = 32;
    static TABLE: std::sync::OnceLock<[f32; TABLE_SIZE]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| std::array::from_fn(|k| 1.0 + (k.max(1) as f32).ln()));
    match count as usize {
        k if k < TABLE_SIZE && k as f32 == count => table[k],
        _ => 1.0 + count.ln(),
    }
}

/// The lowercase bytes of the word `text[range]`, if it is ASCII and at most
/// 16 bytes long, packed into an integer (words never contain a zero byte, so
/// the padding is unambiguous).
///
/// Loads the 16 bytes at the word's start in one read where the text allows
/// it and lowercases them all at once (SWAR): assembling the key a byte at a
/// time, then reading it whole, stalls the CPU on every word.
#[inline]
fn packed_ascii_lowercase(text: &[u8], range: Range<usize>) -> Option<u128> {
    const HIGH_BITS: u128 = u128::from_le_bytes([0x80; 16]);
    let len = range.len();
    if len == 0 || len > 16 {
        return None;
    }
    let raw = match text.get(range.start..range.start + 16) {
        Some(window) => u128::from_le_bytes(window.try_into().expect("a 16-byte window")),
        None => {
            let mut padded = [0u8; 16];
            padded[..len].copy_from_slice(&text[range]);
            u128::from_le_bytes(padded)
        }
    };
    let word = raw & (u128::MAX >> (8 * (16 - len)));
    if word & HIGH_BITS != 0 {
        return None;
    }
    // Every byte is below 0x80, so these sums never carry into the next byte:
    // the high bit of each byte says `byte >= b'A'` and `byte > b'Z'`.
    let at_least_a = word + u128::from_le_bytes([0x80 - b'A'; 16]);
    let above_z = word + u128::from_le_bytes([0x80 - b'Z' - 1; 16]);
    let upper = at_least_a & !above_z & HIGH_BITS;
    Some(word | (upper >> 2))
}

/// Calls `found` with the character grams of a lowercase word, if the
/// options form them: none for stop words, whose grams say nothing and
/// would be a third of the work. Fitting and labelling both call this.
fn word_grams(options: &VectorizerOptions, lowercase_word: &str, found: impl FnMut(&str)) {
    let CharNgrams { min, max } = options.char_ngrams;
    if max > 0 && !is_stop_word(lowercase_word) {
        char_grams(lowercase_word, min, max, found);
    }
}

/// Which marker group `group` gets in a paragraph with gazetteer matches
/// `hits` (index into [`Lookup::markers`]): `PRESENT` when it is named;
/// otherwise, for a group with an absence marker, `IN_DOC` when an earlier
/// paragraph of the document named it (with document context), else
/// `ABSENT`; `None` for a group without absence markers. Fitting and
/// labelling both call this.
fn marker_of(
    group: usize,
    hits: &[(usize, Range<usize>)],
    context: Mentions,
    options: &VectorizerOptions,
    actors: &Gazetteer,
) -> Option<usize> {
    if hits.iter().any(|(g, _)| *g == group) {
        Some(PRESENT)
    } else if !actors.marks_absence(group) {
        None
    } else if options.doc_context && context.contains(group) {
        Some(IN_DOC)
    } else {
        Some(ABSENT)
    }
}

/// Sets `in_focus[w]` for the words `w` (of `spans`) of every sentence in
/// which a focus group (one with an absence marker) is named; `hits` are the
/// gazetteer's matches over the whole paragraph. Fitting and labelling both
/// call this, so they find the same actor sentences.
fn focus_words(
    text: &str,
    spans: &[Range<usize>],
    hits: &[(usize, Range<usize>)],
    actors: &Gazetteer,
    in_focus: &mut Vec<bool>,
) {
    in_focus.clear();
    in_focus.resize(spans.len(), false);
    let ends_after = |w: usize| {
        w + 1 == spans.len() || ends_sentence(text, spans[w].clone(), spans[w + 1].start)
    };
    for (group, range) in hits {
        if !actors.marks_absence(*group) {
            continue;
        }
        // A name can run across a sentence break: mark every sentence it touches.
        let mut first = range.start;
        while first > 0 && !ends_after(first - 1) {
            first -= 1;
        }
        let mut last = range.end - 1;
        while !ends_after(last) {
            last += 1;
        }
        in_focus[first..=last].fill(true);
    }
}

/// All feature names of one text, for fitting: n-grams of terms, character
/// grams, markers and actor-sentence terms. `actors` comes with the groups
/// named earlier in the text's document.
fn feature_names(
    text: &str,
    analyzer: &Analyzer,
    options: &VectorizerOptions,
    actors: Option<(&Gazetteer, Mentions)>,
    out: &mut FxHashSet<String>,
) {
    let spans: Vec<Range<usize>> = words(text).collect();
    let mut lower = String::new();
    let mut terms: Vec<Option<String>> = Vec::with_capacity(spans.len());
    for span in &spans {
        lowercase_into(&text[span.clone()], &mut lower);
        terms.push(analyzer.term(&lower).map(|t| t.into_owned()));
        word_grams(options, &lower, |gram| {
            out.insert(format!("#{gram}"));
        });
    }
    let kept: Vec<&str> = terms.iter().flatten().map(String::as_str).collect();
    for start in 0..kept.len() {
        for len in 1..=options.ngrams.min(kept.len() - start) {
            out.insert(kept[start..start + len].join(" "));
        }
    }
    let Some((actors, context)) = actors else {
        return;
    };
    let hits = actors.hits(text);
    for g in 0..actors.len() {
        match marker_of(g, &hits, context, options, actors) {
            Some(PRESENT) => out.insert(actors.marker(g, true)),
            Some(ABSENT) => out.insert(actors.marker(g, false)),
            Some(IN_DOC) => out.insert(actors.doc_marker(g)),
            _ => false,
        };
    }
    if options.actor_sentences {
        let mut in_focus = Vec::new();
        focus_words(text, &spans, &hits, actors, &mut in_focus);
        for (term, _) in terms.iter().zip(&in_focus).filter(|(_, f)| **f) {
            if let Some(term) = term {
                out.insert(format!("^{term}"));
            }
        }
    }
}

/// Follows documents through paragraphs given in order, the one rule for
/// training, evaluation and the batch engine: a document's paragraphs come
/// one after another, and a paragraph's context is what the paragraphs
/// before it in its document named.
#[derive(Debug, Default)]
pub struct DocTracker<K> {
    key: Option<K>,
    named: Mentions,
}

impl<K: PartialEq> DocTracker<K> {
    /// The context of the next paragraph, of document `key` (`None`: it
    /// stands alone), which names the groups in `named`.
    pub fn next(&mut self, key: Option<K>, named: Mentions) -> Mentions {
        if key.is_none() || key != self.key {
            self.key = key;
            self.named = Mentions::NONE;
        }
        let context = self.named;
        self.named = self.named.union(named);
        context
    }
}

/// The document context of each paragraph (see [`DocTracker`]); `docs[i]`
/// is paragraph `i`'s document id, `None` for one that stands alone.
///
/// # Panics
/// If `docs` and `texts` differ in length.
pub fn doc_contexts<S: AsRef<str>, D: AsRef<str>>(
    texts: &[S],
    docs: &[Option<D>],
    actors: &Gazetteer,
) -> Vec<Mentions> {
    assert_eq!(texts.len(), docs.len(), "one document id per paragraph");
    let mut tracker = DocTracker::default();
    texts
        .iter()
        .zip(docs)
        .map(|(text, doc)| {
            let mut named = Mentions::NONE;
            for (group, _) in actors.hits(text.as_ref()) {
                named.insert(group);
            }
            tracker.next(doc.as_ref().map(AsRef::as_ref), named)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(ngrams: usize, min_df: usize) -> VectorizerOptions {
        VectorizerOptions {
            ngrams,
            min_df,
            max_features: 0,
            ..VectorizerOptions::default()
        }
    }

    #[test]
    fn vocabulary_respects_min_df_and_max_features() {
        let corpus = ["oil oil gas", "oil coal", "gas coal wheat"];
        let tfidf = TfIdf::fit(&corpus, &options(1, 2), None).unwrap();
        assert_eq!(tfidf.terms(), ["coal", "gas", "oil"]);
        let capped = VectorizerOptions {
            max_features: 1,
            ..options(1, 1)
        };
        // four features have df 2 or 1; ties at df=2 go to the first name
        assert_eq!(
            TfIdf::fit(&corpus, &capped, None).unwrap().terms(),
            ["coal"]
        );
    }

    #[test]
    fn idf_is_smoothed() {
        let tfidf = TfIdf::fit(&["oil gas", "oil"], &options(1, 1), None).unwrap();
        let gas = tfidf.terms().iter().position(|t| t == "gas").unwrap();
        let oil = tfidf.terms().iter().position(|t| t == "oil").unwrap();
        assert!((tfidf.idf[oil] - 1.0).abs() < 1e-6);
        assert!((tfidf.idf[gas] - ((3.0f32 / 2.0).ln() + 1.0)).abs() < 1e-6);
    }

    #[test]
    fn transform_counts_what_fit_counted() {
        let corpus = [
            "The oil pipeline to China",
            "An oil pipeline was halted by Moscow. Mr. Aliyev said so; the Kremlin agreed!",
            "Газпром увеличит поставки. Астана согласилась.",
            // A name across a sentence break: both sentences are the actor's.
            "The deal was signed by the Union. State media said so. Astana agreed.",
        ];
        let with_everything = VectorizerOptions {
            char_ngrams: CharNgrams { min: 2, max: 4 },
            actor_sentences: true,
            ..options(2, 1)
        };
        for options in [options(2, 1), with_everything] {
            let tfidf = TfIdf::fit(&corpus, &options, Some(Gazetteer::default_actors())).unwrap();
            fit_and_transform_agree(&tfidf, &corpus);
        }
    }

    fn fit_and_transform_agree(tfidf: &TfIdf, corpus: &[&str]) {
        for &text in corpus {
            let mut expected = FxHashSet::default();
            feature_names(
                text,
                &Analyzer::new(true, false),
                tfidf.options(),
                tfidf.actors().map(|a| (a, Mentions::NONE)),
                &mut expected,
            );
            let got: FxHashSet<String> = tfidf
                .transform(text)
                .into_iter()
                .map(|(f, _)| tfidf.terms()[f as usize].clone())
                .collect();
            assert_eq!(got, expected, "{text}");
        }
    }

    fn names(tfidf: &TfIdf, text: &str) -> Vec<String> {
        let mut names: Vec<String> = tfidf
            .transform(text)
            .into_iter()
            .map(|(f, _)| tfidf.terms()[f as usize].clone())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn actor_sentences_keep_only_the_sentences_that_name_the_focus_actor() {
        let options = VectorizerOptions {
            actor_sentences: true,
            ..options(1, 1)
        };
        let text = "Moscow raised gas prices. Beijing cut tariffs.";
        let tfidf = TfIdf::fit(&[text], &options, Some(Gazetteer::default_actors())).unwrap();
        let focused: Vec<String> = names(&tfidf, text)
            .into_iter()
            .filter(|n| n.starts_with('^'))
            .collect();
        // Beijing names an actor too, but not the focus group (russia).
        assert_eq!(focused, ["^gas", "^moscow", "^price", "^rais"]);
    }

    #[test]
    fn character_grams_are_cached_per_word_and_counted_per_occurrence() {
        let options = VectorizerOptions {
            char_ngrams: CharNgrams { min: 3, max: 3 },
            ..options(1, 1)
        };
        let tfidf = TfIdf::fit(&["gas"], &options, None).unwrap();
        assert_eq!(tfidf.terms(), ["#<ga", "#as>", "#gas", "gas"]);
        // Same word twice (second time from the cache): each gram counted twice,
        // so all three grams have equal weight, and the two blocks have unit length each.
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        tfidf.transform_into("Gas GAS", &mut scratch, &mut out, None);
        let norm: f32 = out.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 2.0).abs() < 1e-5, "{out:?}");
        let grams: Vec<f32> = out
            .iter()
            .filter(|(f, _)| *f < 3)
            .map(|(_, v)| *v)
            .collect();
        assert!(
            grams.iter().all(|v| (v - grams[0]).abs() < 1e-6),
            "{grams:?}"
        );
    }

    #[test]
    fn document_context_replaces_the_absence_marker() {
        let options = VectorizerOptions {
            doc_context: true,
            ..options(1, 1)
        };
        let corpus = [
            "Gazprom raised prices",
            "The two sides met",
            "The two sides met",
        ];
        let actors = Gazetteer::default_actors();
        let contexts = doc_contexts(&corpus, &[Some("a"), Some("a"), None], &actors);
        let tfidf = TfIdf::fit_in_docs(&corpus, &contexts, &options, Some(actors)).unwrap();
        let with_context = |context| {
            let (mut scratch, mut out) = (Scratch::default(), Vec::new());
            tfidf.transform_in_doc("The two sides met", context, &mut scratch, &mut out, None);
            let mut names: Vec<&str> = out
                .iter()
                .map(|(f, _)| tfidf.terms()[*f as usize].as_str())
                .collect();
            names.retain(|n| n.starts_with('@'));
            names
        };
        let russia = tfidf.mentions("Gazprom", &mut Scratch::default());
        assert_eq!(with_context(russia), ["@russia-in-doc"]);
        assert_eq!(with_context(Mentions::NONE), ["@no-russia"]);
    }

    #[test]
    fn markers_flag_who_is_mentioned() {
        let corpus = ["Gazprom raised gas prices", "Astana opened a school"];
        let tfidf = TfIdf::fit(&corpus, &options(1, 1), Some(Gazetteer::default_actors())).unwrap();
        let names = |text: &str| -> Vec<String> {
            tfidf
                .transform(text)
                .into_iter()
                .map(|(f, _)| tfidf.terms()[f as usize].clone())
                .collect()
        };
        assert!(names("Gazprom cut supplies").contains(&"@russia".to_string()));
        assert!(names("The school opened").contains(&"@no-russia".to_string()));
        assert!(!names("Gazprom cut supplies").contains(&"@no-russia".to_string()));
    }

    #[test]
    fn unknown_words_break_ngrams() {
        let tfidf = TfIdf::fit(&["oil pipeline"], &options(2, 1), None).unwrap();
        let features = tfidf.transform("oil new pipeline");
        assert_eq!(
            features.len(),
            2,
            "oil and pipelin, but no bigram across `new`"
        );
    }

    #[test]
    fn packed_words_match_their_lowercase_bytes() {
        let text = "Kazakhstan's KAZMUNAYGAS ab-ZZ@[` 2024 Öskemen x";
        for range in crate::text::words(text) {
            let word = &text[range.clone()];
            let expected = (word.is_ascii() && word.len() <= 16).then(|| {
                let mut bytes = [0u8; 16];
                bytes[..word.len()].copy_from_slice(word.to_ascii_lowercase().as_bytes());
                u128::from_le_bytes(bytes)
            });
            assert_eq!(
                packed_ascii_lowercase(text.as_bytes(), range),
                expected,
                "{word}"
            );
        }
        // Punctuation next to the letters must not be "lowercased".
        let text = "@[`{";
        assert_eq!(
            packed_ascii_lowercase(text.as_bytes(), 0..4),
            Some(u128::from_le_bytes(*b"@[`{\0\0\0\0\0\0\0\0\0\0\0\0"))
        );
    }

    #[test]
    fn explain_spans_point_at_the_words_as_written() {
        let tfidf = TfIdf::fit(&["oil pipelines"], &options(2, 1), None).unwrap();
        let text = "Oil Pipelines";
        let (mut out, mut spans) = (Vec::new(), Vec::new());
        tfidf.transform_into(text, &mut Scratch::default(), &mut out, Some(&mut spans));
        let shown: Vec<&str> = spans.iter().map(|s| &text[s.clone()]).collect();
        assert_eq!(shown, ["Oil", "Oil Pipelines", "Pipelines"]);
    }
}
