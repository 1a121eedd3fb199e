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
    Words { text, pos: 0 }
}

/// Iterator returned by [`words`].
#[derive(Debug, Clone)]
pub struct Words<'a> {
    text: &'a str,
    pos: usize,
}

/// Class of each byte for the word scanner: 0 ends a word, 1 is an ASCII
/// letter or digit, 2 starts (or continues) a multi-byte character, which is
/// decoded and classified by Unicode.
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

impl Words<'_> {
    /// Advances from byte `at` while `is_word_char(c) == inside`; returns
    /// where that stops. ASCII bytes are classified by table, without decoding.
    #[inline]
    fn advance(&self, mut at: usize, inside: bool) -> usize {
        let bytes = self.text.as_bytes();
        let want = u8::from(inside);
        while let Some(&byte) = bytes.get(at) {
            match BYTE_CLASS[usize::from(byte)] {
                2 => {
                    let c = self.text[at..]
                        .chars()
                        .next()
                        .expect("`at` is on a char boundary");
                    if c.is_alphanumeric() != inside {
                        break;
                    }
                    at += c.len_utf8();
                }
                class if class == want => at += 1,
                _ => break,
            }
        }
        at
    }
}

impl Iterator for Words<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        loop {
            let start = self.advance(self.pos, false);
            if start == self.text.len() {
                self.pos = start;
                return None;
            }
            let end = self.advance(start, true);
            self.pos = end;
            let is_possessive =
                &self.text[start..end] == "s" && self.text[..start].ends_with(['\'', '’']);
            if !is_possessive {
                return Some(start..end);
            }
        }
    }
}

/// Lowercases `word` into `out`, replacing its contents.
///
/// ASCII words, the vast majority in English news, skip Unicode case mapping.
pub fn lowercase_into(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.push_str(word);
        out.make_ascii_lowercase();
    } else {
        out.extend(word.chars().flat_map(char::to_lowercase));
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

/// Is `lowercase_word` in [`STOP_WORDS`]?
pub fn is_stop_word(lowercase_word: &str) -> bool {
    STOP_WORDS.binary_search(&lowercase_word).is_ok()
}

/// Turns lowercase words into terms: stop-word filter, then stemmer.
pub struct Analyzer {
    stemmer: Option<Stemmer>,
    stop_words: bool,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("stem", &self.stemmer.is_some())
            .field("stop_words", &self.stop_words)
            .finish()
    }
}

impl Analyzer {
    /// An analyzer that stems (English Snowball) if `stem` and drops
    /// [`STOP_WORDS`] if `stop_words`.
    pub fn new(stem: bool, stop_words: bool) -> Self {
        Analyzer {
            stemmer: stem.then(|| Stemmer::create(Algorithm::English)),
            stop_words,
        }
    }

    /// The term for one lowercase word, or `None` if it is a dropped stop word.
    pub fn term<'w>(&self, lowercase_word: &'w str) -> Option<std::borrow::Cow<'w, str>> {
        if self.stop_words && is_stop_word(lowercase_word) {
            return None;
        }
        Some(match &self.stemmer {
            Some(stemmer) => stemmer.stem(lowercase_word),
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

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
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
