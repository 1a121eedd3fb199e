//! Vocabulary and TF-IDF: paragraph → sparse, l2-normalised feature vector.
//!
//! A feature is a word n-gram of terms (`oil`, `oil pipelin`) or an actor
//! marker (`@russia`, `@no-russia`, see [`crate::actors`]). [`TfIdf::fit`]
//! chooses the vocabulary from a corpus by document frequency and stores
//! smoothed idf (`ln((1 + n) / (1 + df)) + 1`, as scikit-learn does); the
//! transform weighs each feature by its count (or `1 + ln(count)` with
//! sublinear tf) times idf and scales the vector to unit length.
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
use crate::text::{lowercase_into, words, Analyzer};

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
    /// Keep at most this many features, the most frequent (0 = no limit).
    pub max_features: usize,
    /// Use `1 + ln(count)` instead of the raw count.
    pub sublinear_tf: bool,
    /// Stem words with the English Snowball stemmer.
    pub stem: bool,
    /// Drop English stop words before forming n-grams.
    pub stop_words: bool,
}

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
        Ok(())
    }
}

/// Stem code of a stop word: dropped from the n-gram sequence.
const STOP: u32 = u32::MAX - 1;
/// Stem code of a word the vocabulary has never seen: breaks n-grams.
const UNKNOWN: u32 = u32::MAX;

/// The word cache is cleared when it grows past this many distinct words,
/// which bounds memory on endless streams of unusual text.
const WORD_CACHE_LIMIT: usize = 200_000;

/// Lookups derived from the vocabulary when it is built or loaded.
#[derive(Debug, Clone)]
struct Lookup {
    analyzer: Analyzer,
    stems: FxHashMap<String, u32>,
    ngrams: NgramIndex,
    /// Per actor group: feature of `@no-group` and of `@group`, if in the vocabulary.
    markers: Vec<[Option<u32>; 2]>,
    /// Per feature: is it an actor marker (whose count is capped)?
    is_marker: Vec<bool>,
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
    /// Word as written (not ASCII, or longer than 16 bytes) → (stem code,
    /// actor word id); each distinct spelling is lowercased and stemmed once.
    word_cache: FxHashMap<String, (u32, u32)>,
    /// The same for ASCII words of up to 16 bytes, keyed by their lowercase
    /// bytes packed into an integer: no string copy, no heap access to compare.
    short_word_cache: FxHashMap<u128, (u32, u32)>,
    word_spans: Vec<Range<usize>>,
    stem_codes: Vec<u32>,
    actor_words: Vec<u32>,
    counts: Vec<f32>,
    touched: Vec<u32>,
    first_span: Vec<Range<usize>>,
    kept_words: Vec<usize>,
    group_mentioned: Vec<bool>,
    actor_hits: Vec<(usize, Range<usize>)>,
}

/// A feature occurrence: feature id and the byte range of the words that made it.
pub type Occurrence = (u32, Range<usize>);

impl TfIdf {
    /// Fits the vocabulary and idf on `texts`.
    ///
    /// Features are kept if `min_df <= df <= max_df * n`; if more than
    /// `max_features` remain, the most frequent are kept, ties broken by name,
    /// so the same corpus always gives the same vocabulary.
    pub fn fit<S: AsRef<str>>(
        texts: &[S],
        options: &VectorizerOptions,
        actors: Option<Gazetteer>,
    ) -> Result<TfIdf> {
        options.check()?;
        if texts.is_empty() {
            return Err(Error::Data(
                "cannot fit a vocabulary on no paragraphs".into(),
            ));
        }
        let analyzer = Analyzer::new(options.stem, options.stop_words);
        let mut doc_freq: FxHashMap<String, usize> = FxHashMap::default();
        let mut seen = FxHashSet::default();
        for text in texts {
            seen.clear();
            feature_names(
                text.as_ref(),
                &analyzer,
                options.ngrams,
                actors.as_ref(),
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
            kept.truncate(options.max_features);
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
        let mut stems = FxHashMap::default();
        let mut ngrams = NgramIndex::default();
        for (feature, term) in terms.iter().enumerate() {
            if term.starts_with('@') {
                continue;
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
            is_marker: terms.iter().map(|t| t.starts_with('@')).collect(),
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
        mut spans: Option<&mut Vec<Range<usize>>>,
    ) {
        if scratch.owner != self.id {
            *scratch = Scratch {
                owner: self.id,
                counts: vec![0.0; self.terms.len()],
                first_span: vec![0..0; self.terms.len()],
                ..Scratch::default()
            };
        }
        scratch.touched.clear();
        let explain = spans.is_some();
        self.occurrences(text, scratch, |scratch, feature, span| {
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
        let mut norm = 0.0f32;
        for &feature in &scratch.touched {
            let f = feature as usize;
            let mut tf = scratch.counts[f];
            scratch.counts[f] = 0.0;
            if self.lookup.is_marker[f] {
                tf = tf.min(MARKER_COUNT_CAP);
            }
            if self.options.sublinear_tf {
                tf = sublinear(tf);
            }
            let value = tf * self.idf[f];
            norm += value * value;
            out.push((feature, value));
        }
        if norm > 0.0 {
            let scale = norm.sqrt().recip();
            out.iter_mut().for_each(|(_, v)| *v *= scale);
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
    }

    /// Dense TF-IDF matrix (paragraphs × features) for training.
    pub fn transform_dense<S: AsRef<str>>(&self, texts: &[S]) -> Array2<f64> {
        let mut matrix = Array2::zeros((texts.len(), self.terms.len()));
        let mut scratch = Scratch::default();
        let mut row = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            self.transform_into(text.as_ref(), &mut scratch, &mut row, None);
            for &(feature, value) in &row {
                matrix[[i, feature as usize]] = f64::from(value);
            }
        }
        matrix
    }

    /// Calls `found(scratch, feature, span)` for every feature occurrence in `text`.
    fn occurrences(
        &self,
        text: &str,
        scratch: &mut Scratch,
        mut found: impl FnMut(&mut Scratch, u32, Range<usize>),
    ) {
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
        self.marker_occurrences(scratch, found);
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

    /// Calls `found` for every actor marker: a mention, or a group's absence.
    fn marker_occurrences(
        &self,
        scratch: &mut Scratch,
        mut found: impl FnMut(&mut Scratch, u32, Range<usize>),
    ) {
        let Some(actors) = &self.actors else { return };
        let mut mentioned = std::mem::take(&mut scratch.group_mentioned);
        let mut hits = std::mem::take(&mut scratch.actor_hits);
        mentioned.clear();
        mentioned.resize(actors.len(), false);
        hits.clear();
        actors.scan(&scratch.actor_words, |group, range| {
            mentioned[group] = true;
            hits.push((group, range));
        });
        for (group, range) in hits.drain(..) {
            if let Some(feature) = self.lookup.markers[group][1] {
                let span =
                    scratch.word_spans[range.start].start..scratch.word_spans[range.end - 1].end;
                found(scratch, feature, span);
            }
        }
        for (group, &was_mentioned) in mentioned.iter().enumerate() {
            if !was_mentioned && actors.marks_absence(group) {
                if let Some(feature) = self.lookup.markers[group][0] {
                    found(scratch, feature, 0..0);
                }
            }
        }
        scratch.group_mentioned = mentioned;
        scratch.actor_hits = hits;
    }

    /// Fills `scratch` with the spans, stem codes and actor word ids of `text`'s words.
    fn read_words(&self, text: &str, scratch: &mut Scratch) {
        scratch.word_spans.clear();
        scratch.stem_codes.clear();
        scratch.actor_words.clear();
        if scratch.word_cache.len() + scratch.short_word_cache.len() > WORD_CACHE_LIMIT {
            scratch.word_cache.clear();
            scratch.short_word_cache.clear();
        }
        for range in words(text) {
            let word = || &text[range.clone()];
            let codes = match packed_ascii_lowercase(text.as_bytes(), range.clone()) {
                Some(key) => match scratch.short_word_cache.get(&key) {
                    Some(&codes) => codes,
                    None => {
                        let codes = self.word_codes(&word().to_ascii_lowercase());
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
                        let codes = self.word_codes(&scratch.lower);
                        scratch.word_cache.insert(word().to_string(), codes);
                        codes
                    }
                },
            };
            scratch.word_spans.push(range);
            scratch.stem_codes.push(codes.0);
            scratch.actor_words.push(codes.1);
        }
    }

    fn word_codes(&self, lowercase_word: &str) -> (u32, u32) {
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
        (stem, actor)
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

/// All feature names of one text, for fitting: n-grams of terms and markers.
fn feature_names(
    text: &str,
    analyzer: &Analyzer,
    ngrams: usize,
    actors: Option<&Gazetteer>,
    out: &mut FxHashSet<String>,
) {
    let terms = analyzer.terms(text);
    for start in 0..terms.len() {
        for len in 1..=ngrams.min(terms.len() - start) {
            out.insert(terms[start..start + len].join(" "));
        }
    }
    if let Some(actors) = actors {
        let mentioned: Vec<String> = actors.mentions(text).into_iter().map(|(g, _)| g).collect();
        for (g, name) in actors.group_names().enumerate() {
            if mentioned.iter().any(|m| m == name) {
                out.insert(actors.marker(g, true));
            } else if actors.marks_absence(g) {
                out.insert(actors.marker(g, false));
            }
        }
    }
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
            "An oil pipeline was halted by Moscow",
        ];
        let tfidf = TfIdf::fit(&corpus, &options(2, 1), Some(Gazetteer::default_actors())).unwrap();
        for text in corpus {
            let mut expected = FxHashSet::default();
            feature_names(
                text,
                &Analyzer::new(true, false),
                2,
                tfidf.actors(),
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
