//! Text → words → terms, and text → paragraphs.
//!
//! The pipeline is small and fixed: find word spans (runs of letters and
//! digits), lowercase them, drop stop words if asked, and stem them with the
//! English Snowball stemmer. Every punctuation mark is a separator, including
//! typographic quotes and dashes (“ ” ‘ ’ – —), so `Kazakhstan’s` and
//! `Kazakhstan's` give the same term. A lone `s` after an apostrophe (the
//! possessive) is dropped.
//!
//! ```
//! use vektor::text::Analyzer;
//! let analyzer = Analyzer::new(true, false);
//! assert_eq!(
//!     analyzer.terms("Kazakhstan halts oil via CPC’s pipelines"),
//!     ["kazakhstan", "halt", "oil", "via", "cpc", "pipelin"]
//! );
//! ```

use std::ops::Range;

use rust_stemmers::{Algorithm, Stemmer};

/// Iterates over the byte ranges of the words in `text`.
///
/// A word is a maximal run of alphanumeric characters (Unicode-aware, with an
/// ASCII fast path); the possessive `s` after an apostrophe is skipped.
///
/// ```
/// let text = "Astana’s “multi-vector” line, 2024";
/// let words: Vec<&str> = vektor::text::words(text).map(|r| &text[r]).collect();
/// assert_eq!(words, ["Astana", "multi", "vector", "line", "2024"]);
/// ```
pub fn words(text: &str) -> Words<'_> {
    let mut words = Words {
        text,
        window: 0,
        transitions: 0,
        carry: false,
        start: None,
    };
    words.load(0);
    words
}

/// Iterator returned by [`words`].
///
/// It classifies 64 bytes at a time into a bit mask (1 = part of a word)
/// and walks the mask's transitions, so that finding a word costs a few
/// bit operations instead of a branch per byte.
#[derive(Debug, Clone)]
pub struct Words<'a> {
    text: &'a str,
    /// Start of the 64-byte window being walked.
    window: usize,
    /// Bit `i` set: byte `window + i` starts or ends a word (not yet visited).
    transitions: u64,
    /// Whether the window's last byte is part of a word.
    carry: bool,
    /// Start of the word being read, if inside one.
    start: Option<usize>,
}

/// Class of each byte: 0 ends a word, 1 is an ASCII letter or digit, 2 is
/// part of a multi-byte character, which is decoded and classified by Unicode.
const BYTE_CLASS: [u8; 256] = {
    let mut class = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        class[b] = if b >= 0x80 {
            2
        } else if (b as u8).is_ascii_alphanumeric() {
            1
        } else {
            0
        };
        b += 1;
    }
    class
};

/// Eight copies of the byte 1.
const ONES: u64 = 0x0101_0101_0101_0101;

/// Bit `k` set where byte `k` of the ASCII chunk `chunk` (little-endian) is a
/// letter or a digit. Every byte is below 0x80, so the sums below never carry
/// from one byte into the next.
#[inline]
fn ascii_word_bits(chunk: u64) -> u64 {
    // High bit of each byte: `lo <= byte <= hi`.
    let in_range = |v: u64, lo: u8, hi: u8| {
        v.wrapping_add(ONES * u64::from(0x80 - lo)) & !v.wrapping_add(ONES * u64::from(0x7F - hi))
    };
    // Setting 0x20 folds upper case onto lower case and no other byte onto a letter.
    let letters = in_range(chunk | (ONES * 0x20), b'a', b'z');
    let high_bits = (in_range(chunk, b'0', b'9') | letters) & (ONES * 0x80);
    // Gather the eight high bits into the low byte.
    (high_bits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

impl Words<'_> {
    /// Classifies the window starting at byte `base`, eight ASCII bytes at a
    /// time where it can.
    fn load(&mut self, base: usize) {
        let bytes = self.text.as_bytes();
        let window = &bytes[base.min(bytes.len())..(base + 64).min(bytes.len())];
        let mut mask = 0u64;
        let mut i = 0;
        while i < window.len() {
            if let Some(chunk) = window.get(i..i + 8) {
                let chunk = u64::from_le_bytes(chunk.try_into().expect("an 8-byte chunk"));
                if chunk & (ONES * 0x80) == 0 {
                    mask |= ascii_word_bits(chunk) << i;
                    i += 8;
                    continue;
                }
            }
            // Two-byte Cyrillic: lead bytes D0, D1 and D3 start only letters
            // (U+0400–U+047F, U+04C0–U+04FF); D2 also starts signs and
            // combining marks, so it takes the Unicode path.
            if matches!(window[i], 0xD0 | 0xD1 | 0xD3) && i + 1 < window.len() {
                mask |= 0b11 << i;
                i += 2;
                continue;
            }
            let is_word = match BYTE_CLASS[usize::from(window[i])] {
                0 => false,
                1 => true,
                _ => self.is_word_char_at(base + i),
            };
            mask |= u64::from(is_word) << i;
            i += 1;
        }
        // A transition is a byte whose class differs from the one before it.
        self.transitions = mask ^ ((mask << 1) | u64::from(self.carry));
        self.carry = mask >> 63 == 1;
        self.window = base;
    }

    /// Whether the (multi-byte) character containing byte `at` is alphanumeric.
    fn is_word_char_at(&self, mut at: usize) -> bool {
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        self.text[at..]
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric)
    }

    /// `start..end` unless it is the possessive `s` after an apostrophe.
    fn word(&self, start: usize, end: usize) -> Option<Range<usize>> {
        let is_possessive = end - start == 1
            && self.text.as_bytes()[start] == b's'
            && self.text[..start].ends_with(['\'', '’']);
        (!is_possessive).then_some(start..end)
    }
}

impl Iterator for Words<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        loop {
            while self.transitions != 0 {
                let at = self.window + self.transitions.trailing_zeros() as usize;
                self.transitions &= self.transitions - 1;
                match self.start.take() {
                    None => self.start = Some(at),
                    Some(start) => {
                        if let Some(word) = self.word(start, at) {
                            return Some(word);
                        }
                    }
                }
            }
            let next = self.window + 64;
            if next >= self.text.len() {
                // A word running to the end of the text ends there.
                let start = self.start.take()?;
                if let Some(word) = self.word(start, self.text.len()) {
                    return Some(word);
                }
                continue;
            }
            self.load(next);
        }
    }
}

/// Lowercases `word` into `out`, replacing its contents, and folds `ё` to
/// `е` (Russian text writes either, and the stemmer treats them apart).
///
/// ASCII words, the vast majority in English news, skip Unicode case mapping.
///
/// ```
/// let mut out = String::new();
/// vektor::text::lowercase_into("ЁЛКИ", &mut out);
/// assert_eq!(out, "елки");
/// ```
pub fn lowercase_into(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.push_str(word);
        out.make_ascii_lowercase();
    } else {
        out.extend(
            word.chars()
                .flat_map(char::to_lowercase)
                .map(|c| if c == 'ё' { 'е' } else { c }),
        );
    }
}

/// Whether `c` is a Cyrillic letter (the Cyrillic block, U+0400–U+04FF).
fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04FF}').contains(&c)
}

/// Letters of Kazakh, Kyrgyz, Tajik, Tatar and other Cyrillic alphabets that
/// Russian does not use: their presence means the text is not Russian.
const NON_RUSSIAN_CYRILLIC: &str = "әғқңөұүһіїєўјљњћђџҳӯӣ";

/// The language of a paragraph, as far as vektor can tell from its script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English (mostly Latin letters).
    En,
    /// Russian (mostly Cyrillic letters, none of other Cyrillic alphabets).
    Ru,
    /// Anything else: other scripts (Chinese, Arabic …), Cyrillic of other
    /// languages (Kazakh, Kyrgyz …), or no letters at all.
    Other,
}

impl Lang {
    /// `en`, `ru` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Other => "other",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "en" => Ok(Lang::En),
            "ru" => Ok(Lang::Ru),
            _ => Err(format!("unknown language `{s}` (expected en or ru)")),
        }
    }
}

/// Detects a paragraph's language by script share: the language of the
/// majority of its letters, Latin for English and Cyrillic for Russian, so
/// Latin names inside Russian text (or the reverse) do not change it.
/// Cyrillic with more than one letter in twenty from other alphabets
/// (Kazakh `қ`, `ә` …) is [`Lang::Other`]; so is text with no letters.
/// A statistical detector (e.g. `whatlang`) is not needed to tell two
/// scripts apart, and this one costs one `is_ascii` pass on English.
///
/// ```
/// use vektor::text::{language, Lang};
/// assert_eq!(language("Astana refused to recognise the annexation."), Lang::En);
/// assert_eq!(language("Астана отказалась признать аннексию, заявил МИД."), Lang::Ru);
/// assert_eq!(language("Газпром и CNPC подписали соглашение по Power of Siberia"), Lang::Ru);
/// assert_eq!(language("Қазақстан Ресеймен келісімге қол қойды"), Lang::Other);
/// assert_eq!(
///     language("Грузооборот «Қазақстан темір жолы» за девять месяцев вырос на 4%, сообщили в компании"),
///     Lang::Ru
/// );
/// assert_eq!(language("哈萨克斯坦与俄罗斯签署协议"), Lang::Other);
/// assert_eq!(language("2024 — 15%"), Lang::Other);
/// ```
pub fn language(text: &str) -> Lang {
    if text.is_ascii() {
        return if text.bytes().any(|b| b.is_ascii_alphabetic()) {
            Lang::En
        } else {
            Lang::Other
        };
    }
    // One pass over the characters; the Unicode letter test only for
    // characters outside the Latin and Cyrillic blocks and common punctuation.
    let (mut latin, mut cyrillic, mut foreign, mut other) = (0usize, 0usize, 0usize, 0usize);
    for c in text.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' => latin += 1,
            '\u{0400}'..='\u{04FF}' => {
                cyrillic += 1;
                foreign += usize::from(
                    NON_RUSSIAN_CYRILLIC.contains(c.to_lowercase().next().unwrap_or(c)),
                );
            }
            '\0'..='\u{00BF}' | '\u{2000}'..='\u{206F}' => {}
            c if c.is_alphabetic() => other += 1,
            _ => {}
        }
    }
    let letters = latin + cyrillic + other;
    if letters == 0 {
        Lang::Other
    } else if cyrillic * 2 > letters {
        // A Kazakh name in a Russian sentence is a few letters in a hundred;
        // Kazakh text has one in seven or so.
        if foreign * 20 > cyrillic {
            Lang::Other
        } else {
            Lang::Ru
        }
    } else if latin * 2 > letters {
        Lang::En
    } else {
        Lang::Other
    }
}

/// English stop words: function words that carry no theme or stance.
///
/// Negations and prepositions of direction (`not`, `against`, `without`,
/// `between`) are deliberately kept out: they carry stance.
pub const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "being", "but", "by", "can", "could", "did", "do", "does", "during", "each", "for",
    "from", "had", "has", "have", "he", "her", "here", "hers", "him", "his", "how", "i", "if",
    "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "of", "on",
    "once", "only", "or", "other", "our", "ours", "out", "over", "own", "same", "she", "should",
    "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "then", "there",
    "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very",
    "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
    "with", "would", "you", "your",
];

/// Russian stop words: function words and pronouns, sorted. As in English,
/// negations and prepositions of direction (`не`, `против`, `без`, `между`)
/// are kept: they carry stance.
pub const RUSSIAN_STOP_WORDS: &[&str] = &[
    "а",
    "бы",
    "был",
    "была",
    "были",
    "было",
    "быть",
    "в",
    "во",
    "вот",
    "все",
    "всех",
    "где",
    "да",
    "для",
    "до",
    "его",
    "ее",
    "если",
    "есть",
    "же",
    "за",
    "и",
    "из",
    "или",
    "им",
    "их",
    "к",
    "как",
    "ко",
    "когда",
    "которые",
    "который",
    "кто",
    "ли",
    "мы",
    "на",
    "над",
    "о",
    "об",
    "он",
    "она",
    "они",
    "оно",
    "от",
    "по",
    "при",
    "с",
    "со",
    "так",
    "также",
    "тем",
    "то",
    "того",
    "тоже",
    "только",
    "том",
    "у",
    "уже",
    "что",
    "это",
    "этого",
    "этой",
    "этом",
    "я",
];

/// Is `lowercase_word` in [`STOP_WORDS`] or [`RUSSIAN_STOP_WORDS`]?
pub fn is_stop_word(lowercase_word: &str) -> bool {
    STOP_WORDS.binary_search(&lowercase_word).is_ok()
        || RUSSIAN_STOP_WORDS.binary_search(&lowercase_word).is_ok()
}

/// Turns lowercase words into terms: stop-word filter, then the Snowball
/// stemmer of the word's script: Russian for a word with Cyrillic letters,
/// English for any other. Choosing per word, not per paragraph, lets a
/// Russian paragraph keep its Latin names (`CPC`, `Tengizchevroil`) as
/// English terms, and the reverse.
pub struct Analyzer {
    stemmers: Option<(Stemmer, Stemmer)>,
    stop_words: bool,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("stem", &self.stemmers.is_some())
            .field("stop_words", &self.stop_words)
            .finish()
    }
}

impl Clone for Analyzer {
    // rust-stemmers' Stemmer is not Clone; it holds no state, so a new one is the same.
    fn clone(&self) -> Self {
        Analyzer::new(self.stemmers.is_some(), self.stop_words)
    }
}

impl Analyzer {
    /// An analyzer that stems (English or Russian Snowball) if `stem` and
    /// drops stop words ([`is_stop_word`]) if `stop_words`.
    pub fn new(stem: bool, stop_words: bool) -> Self {
        Analyzer {
            stemmers: stem.then(|| {
                (
                    Stemmer::create(Algorithm::English),
                    Stemmer::create(Algorithm::Russian),
                )
            }),
            stop_words,
        }
    }

    /// The term for one lowercase word, or `None` if it is a dropped stop word.
    pub fn term<'w>(&self, lowercase_word: &'w str) -> Option<std::borrow::Cow<'w, str>> {
        if self.stop_words && is_stop_word(lowercase_word) {
            return None;
        }
        Some(match &self.stemmers {
            Some((english, russian)) => {
                if !lowercase_word.is_ascii() && lowercase_word.chars().any(is_cyrillic) {
                    russian.stem(lowercase_word)
                } else {
                    english.stem(lowercase_word)
                }
            }
            None => std::borrow::Cow::Borrowed(lowercase_word),
        })
    }

    /// All terms of `text`, in order. Convenient for tests and exploration;
    /// the vectorizer uses [`words`] and [`Analyzer::term`] with its own buffers.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut lower = String::new();
        words(text)
            .filter_map(|range| {
                lowercase_into(&text[range], &mut lower);
                self.term(&lower).map(|t| t.into_owned())
            })
            .collect()
    }
}

/// Calls `found` with every character n-gram of `min..=max` characters of a
/// lowercase word framed as `<word>`, as fastText and scikit-learn's
/// `char_wb` see words: the frame tells a gram that starts or ends the word
/// (`<sanc`, `ions>`) from one inside it. Grams that would need characters
/// beyond the frame are not formed, so short words give fewer grams.
///
/// ```
/// let mut grams = Vec::new();
/// vektor::text::char_grams("gas", 3, 4, |g| grams.push(g.to_string()));
/// assert_eq!(grams, ["<ga", "gas", "as>", "<gas", "gas>"]);
/// ```
pub fn char_grams(lowercase_word: &str, min: usize, max: usize, mut found: impl FnMut(&str)) {
    let mut framed = String::with_capacity(lowercase_word.len() + 2);
    framed.push('<');
    framed.push_str(lowercase_word);
    framed.push('>');
    let bounds: Vec<usize> = framed
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(framed.len()))
        .collect();
    let chars = bounds.len() - 1;
    for n in min.max(1)..=max.min(chars) {
        for start in 0..=chars - n {
            found(&framed[bounds[start]..bounds[start + n]]);
        }
    }
}

/// Short words that end with a full stop without ending a sentence.
const ABBREVIATIONS: [&str; 12] = [
    "mr", "mrs", "ms", "dr", "st", "gen", "col", "lt", "sgt", "jr", "vs", "no",
];

/// Whether a sentence ends between the word `before` and the word starting
/// at `next_start`: the gap holds `.`, `!`, `?` or `…` followed by white
/// space, and a full stop does not close an initial or a title (`U.S.`,
/// `Mr.`, `В.`). The one rule both fitting and labelling use to find the
/// sentences that name an actor.
///
/// ```
/// use vektor::text::{ends_sentence, words};
/// let text = "Mr. Putin spoke. Astana listened";
/// let spans: Vec<_> = words(text).collect();
/// let breaks: Vec<bool> = spans.windows(2).map(|w| ends_sentence(text, w[0].clone(), w[1].start)).collect();
/// assert_eq!(breaks, [false, false, true, false]);
/// ```
pub fn ends_sentence(text: &str, before: Range<usize>, next_start: usize) -> bool {
    let gap = &text[before.end..next_start];
    let Some(stop) = gap.find(['.', '!', '?', '…']) else {
        return false;
    };
    if !gap[stop..].contains(char::is_whitespace) {
        return false;
    }
    if gap[stop..].starts_with('.') {
        let word = &text[before];
        let is_title = ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(word));
        if word.chars().count() == 1 || is_title {
            return false;
        }
    }
    true
}

/// How a text is cut into paragraphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParagraphMode {
    /// Every non-blank line is one paragraph (the default: most crawled text
    /// puts one paragraph per line).
    #[default]
    Line,
    /// Blocks separated by blank lines; the lines of a block are joined with a
    /// space (for hard-wrapped text).
    Blank,
}

/// A paragraph cut from a text, with the 1-based line where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    /// Line of the input where the paragraph starts (1-based).
    pub line: u64,
    /// The paragraph's text, trimmed.
    pub text: String,
}

/// Cuts a stream of lines into paragraphs, one line at a time, so that the
/// same rules serve whole texts ([`paragraphs`]) and streamed input.
///
/// Whitespace-only lines never make a paragraph; in [`ParagraphMode::Blank`]
/// they end the block being built.
#[derive(Debug, Clone, Default)]
pub struct ParagraphSplitter {
    mode: ParagraphMode,
    block: Option<Paragraph>,
}

impl ParagraphSplitter {
    /// A splitter for `mode`.
    pub fn new(mode: ParagraphMode) -> Self {
        ParagraphSplitter { mode, block: None }
    }

    /// Takes line `line_no` (1-based); returns a paragraph if one is complete.
    pub fn push_line(&mut self, line_no: u64, line: &str) -> Option<Paragraph> {
        let trimmed = line.trim();
        match self.mode {
            ParagraphMode::Line if trimmed.is_empty() => None,
            ParagraphMode::Line => Some(Paragraph {
                line: line_no,
                text: trimmed.to_string(),
            }),
            ParagraphMode::Blank if trimmed.is_empty() => self.block.take(),
            ParagraphMode::Blank => {
                match &mut self.block {
                    Some(paragraph) => {
                        paragraph.text.push(' ');
                        paragraph.text.push_str(trimmed);
                    }
                    None => {
                        self.block = Some(Paragraph {
                            line: line_no,
                            text: trimmed.to_string(),
                        })
                    }
                }
                None
            }
        }
    }

    /// Ends the input; returns the block still being built, if any.
    pub fn finish(&mut self) -> Option<Paragraph> {
        self.block.take()
    }
}

/// Cuts `text` into paragraphs; whitespace-only lines never make a paragraph.
///
/// ```
/// use vektor::text::{paragraphs, ParagraphMode};
/// let text = "Headline here\n\nFirst line of a\nwrapped paragraph.\n";
/// let blocks = paragraphs(text, ParagraphMode::Blank);
/// assert_eq!(blocks[1].text, "First line of a wrapped paragraph.");
/// assert_eq!(blocks[1].line, 3);
/// assert_eq!(paragraphs(text, ParagraphMode::Line).len(), 3);
/// ```
pub fn paragraphs(text: &str, mode: ParagraphMode) -> Vec<Paragraph> {
    let mut splitter = ParagraphSplitter::new(mode);
    let mut out: Vec<Paragraph> = text
        .lines()
        .enumerate()
        .filter_map(|(index, line)| splitter.push_line(index as u64 + 1, line))
        .collect();
    out.extend(splitter.finish());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word rule spelled out one character at a time, to check the
    /// bit-mask scanner against.
    fn reference_words(text: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = None;
        let ends = text.char_indices().map(|(i, c)| (i, c.is_alphanumeric()));
        for (i, is_word) in ends.chain(std::iter::once((text.len(), false))) {
            match (start, is_word) {
                (None, true) => start = Some(i),
                (Some(s), false) => {
                    start = None;
                    let possessive = &text[s..i] == "s" && text[..s].ends_with(['\'', '’']);
                    if !possessive {
                        out.push(s..i);
                    }
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn ascii_chunks_are_classified_byte_by_byte() {
        for b in 0u8..0x80 {
            for k in 0..8 {
                let mut chunk = [b' '; 8];
                chunk[k] = b;
                let expected = u64::from(b.is_ascii_alphanumeric()) << k;
                assert_eq!(
                    ascii_word_bits(u64::from_le_bytes(chunk)),
                    expected,
                    "byte {b:#x} at {k}"
                );
            }
        }
        assert_eq!(
            ascii_word_bits(u64::from_le_bytes(*b"aZ09 -zA")),
            0b1100_1111
        );
    }

    #[test]
    fn words_across_window_edges_match_the_rule() {
        let long =
            "word ".repeat(12) + "abcdefghij" + &"x".repeat(70) + " Astana’s s 'S Öskemen’s “x”";
        for text in ["", "a", " ", "ab cd", &long, &long[1..], &long[3..]] {
            assert_eq!(
                words(text).collect::<Vec<_>>(),
                reference_words(text),
                "{text:?}"
            );
        }
        for len in 60..=130 {
            let text: String = "ab ’s Қа".chars().cycle().take(len).collect();
            assert_eq!(
                words(&text).collect::<Vec<_>>(),
                reference_words(&text),
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn words_match_the_rule_on_any_text(text in proptest::prelude::any::<String>()) {
            proptest::prop_assert_eq!(words(&text).collect::<Vec<_>>(), reference_words(&text));
        }

        #[test]
        fn words_match_the_rule_on_news_like_text(text in "[a-zA-Z0-9 ,.'’s\\-]{0,200}") {
            proptest::prop_assert_eq!(words(&text).collect::<Vec<_>>(), reference_words(&text));
        }

        #[test]
        fn words_match_the_rule_on_mixed_russian_text(
            text in "[а-яА-ЯёЁәқңөұүіһa-zA-Z0-9 ,.«»—\\-]{0,200}"
        ) {
            proptest::prop_assert_eq!(words(&text).collect::<Vec<_>>(), reference_words(&text));
        }

        #[test]
        fn cyrillic_lowercasing_matches_the_unicode_rule(word in "[а-яА-ЯёЁәӘқҚa-zA-Z]{1,20}") {
            let mut out = String::new();
            lowercase_into(&word, &mut out);
            proptest::prop_assert_eq!(out, word.to_lowercase().replace('ё', "е"));
        }

        #[test]
        fn cyrillic_words_take_the_russian_stemmer(word in "[а-я]{1,15}") {
            let russian = Stemmer::create(Algorithm::Russian);
            let term = Analyzer::new(true, false).term(&word).map(|t| t.into_owned());
            proptest::prop_assert_eq!(term, Some(russian.stem(&word).into_owned()));
        }

        #[test]
        fn language_is_defined_for_any_text(text in proptest::prelude::any::<String>()) {
            let lang = language(&text);
            if !text.chars().any(char::is_alphabetic) {
                proptest::prop_assert_eq!(lang, Lang::Other);
            }
        }
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(RUSSIAN_STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn russian_words_are_stemmed_and_mixed_paragraphs_keep_latin_names() {
        let a = Analyzer::new(true, false);
        assert_eq!(
            a.terms("Россия и Казахстан продлили соглашение о поставках нефти через CPC"),
            [
                "росс",
                "и",
                "казахста",
                "продл",
                "соглашен",
                "о",
                "поставк",
                "нефт",
                "через",
                "cpc"
            ]
        );
        // `ё` and `е` give one term.
        assert_eq!(a.terms("Объём"), a.terms("объем"));
    }

    #[test]
    fn typographic_punctuation_separates_words() {
        let a = Analyzer::new(false, false);
        assert_eq!(
            a.terms("“Moscow’s” line—a shift"),
            ["moscow", "line", "a", "shift"]
        );
    }

    #[test]
    fn unicode_words_are_lowercased() {
        let a = Analyzer::new(false, false);
        assert_eq!(a.terms("ÖSKEMEN Қазақстан"), ["öskemen", "қазақстан"]);
    }

    #[test]
    fn stop_words_are_dropped_only_when_asked() {
        assert_eq!(
            Analyzer::new(false, true).terms("the talks with Moscow"),
            ["talks", "moscow"]
        );
        assert_eq!(Analyzer::new(false, false).terms("the talks").len(), 2);
    }

    #[test]
    fn numbers_are_kept() {
        assert_eq!(
            Analyzer::new(true, false).terms("1.4 million barrels"),
            ["1", "4", "million", "barrel"]
        );
    }

    #[test]
    fn whitespace_only_lines_are_skipped() {
        let ps = paragraphs("a\n   \n\tb\n", ParagraphMode::Line);
        assert_eq!(ps.iter().map(|p| p.line).collect::<Vec<_>>(), [1, 3]);
    }
}
