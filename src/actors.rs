//! The actor gazetteer: names and phrases → marker terms such as `@russia`.
//!
//! Stance hinges on *who* a paragraph mentions (a paragraph that never names
//! Moscow or a stand-in is `neutral` by the label scheme), so the vectorizer
//! adds one marker term per actor group mentioned, and `@no-<group>` for
//! groups marked `absence = true` when the paragraph names none of them.
//! Matching is case-insensitive, runs on whole words before stemming, and
//! multi-word phrases match across words (`Russian Railways`).
//!
//! The file format is TOML, one table per group:
//!
//! ```
//! let actors = vektor::actors::Gazetteer::from_toml_str(r#"
//!     [russia]
//!     absence = true
//!     names = ["Russia", "Moscow", "Gazprom", "Russian Railways"]
//! "#).unwrap();
//! let mentions = actors.mentions("Gazprom and Russian Railways signed");
//! assert_eq!(mentions, [("russia".to_string(), 2)]);
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::text::{lowercase_into, words};

/// The gazetteer shipped with vektor (`training/actors.toml`).
pub const DEFAULT_ACTORS_TOML: &str = include_str!("../training/actors.toml");

/// One group of actors: a marker name and the phrases that refer to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorGroup {
    /// Add `@no-<group>` when a paragraph mentions none of this group.
    #[serde(default)]
    pub absence: bool,
    /// Names and phrases, matched case-insensitively on whole words.
    pub names: Vec<String>,
}

/// Marker-term lookups built from the groups; not serialised.
#[derive(Debug, Clone, Default)]
struct Matcher {
    /// Lowercase word → id in the phrase alphabet.
    word_ids: FxHashMap<String, u32>,
    /// First word id → (phrase as word ids, group index), longest phrase first.
    phrases: FxHashMap<u32, Vec<(Vec<u32>, usize)>>,
}

/// A set of actor groups, as read from `actors.toml` or a model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    from = "BTreeMap<String, ActorGroup>",
    into = "BTreeMap<String, ActorGroup>"
)]
pub struct Gazetteer {
    groups: Vec<(String, ActorGroup)>,
    matcher: Matcher,
}

impl PartialEq for Gazetteer {
    fn eq(&self, other: &Self) -> bool {
        self.groups == other.groups
    }
}

impl From<BTreeMap<String, ActorGroup>> for Gazetteer {
    fn from(groups: BTreeMap<String, ActorGroup>) -> Self {
        let groups: Vec<_> = groups.into_iter().collect();
        let matcher = Matcher::build(&groups);
        Gazetteer { groups, matcher }
    }
}

impl From<Gazetteer> for BTreeMap<String, ActorGroup> {
    fn from(gazetteer: Gazetteer) -> Self {
        gazetteer.groups.into_iter().collect()
    }
}

impl Matcher {
    fn build(groups: &[(String, ActorGroup)]) -> Matcher {
        let mut matcher = Matcher::default();
        let mut lower = String::new();
        for (group_index, (_, group)) in groups.iter().enumerate() {
            for name in &group.names {
                let phrase: Vec<u32> = words(name)
                    .map(|range| {
                        lowercase_into(&name[range], &mut lower);
                        let next_id = matcher.word_ids.len() as u32;
                        *matcher.word_ids.entry(lower.clone()).or_insert(next_id)
                    })
                    .collect();
                if let Some(&first) = phrase.first() {
                    matcher
                        .phrases
                        .entry(first)
                        .or_default()
                        .push((phrase, group_index));
                }
            }
        }
        for candidates in matcher.phrases.values_mut() {
            candidates.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.cmp(b)));
            candidates.dedup();
        }
        matcher
    }
}

/// Sentinel for a word that appears in no phrase.
pub(crate) const NOT_AN_ACTOR_WORD: u32 = u32::MAX;

impl Gazetteer {
    /// The gazetteer that ships with vektor.
    pub fn default_actors() -> Gazetteer {
        Gazetteer::from_toml_str(DEFAULT_ACTORS_TOML)
            .expect("the shipped training/actors.toml is valid (checked by a unit test)")
    }

    /// Parses a gazetteer from TOML text; errors carry the line.
    pub fn from_toml_str(text: &str) -> std::result::Result<Gazetteer, String> {
        let groups: BTreeMap<String, ActorGroup> = toml::from_str(text).map_err(|e| {
            let place = e
                .span()
                .map(|span| {
                    let line = text[..span.start].matches('\n').count() + 1;
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            format!("{place}{}", e.message())
        })?;
        if groups.is_empty() {
            return Err("no actor groups defined".into());
        }
        for (name, group) in &groups {
            if !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
            {
                return Err(format!(
                    "group name `{name}` must be lowercase ASCII letters, digits or `_`"
                ));
            }
            if let Some(bad) = group.names.iter().find(|n| words(n).next().is_none()) {
                return Err(format!(
                    "group `{name}`: name {bad:?} has no letters or digits"
                ));
            }
        }
        let mut owner: BTreeMap<String, &str> = BTreeMap::new();
        for (name, group) in &groups {
            for entry in &group.names {
                let key = entry.to_lowercase();
                if let Some(first) = owner.insert(key, name) {
                    return Err(format!(
                        "name {entry:?} is listed in both `{first}` and `{name}`"
                    ));
                }
            }
        }
        Ok(Gazetteer::from(groups))
    }

    /// Reads a gazetteer file.
    pub fn load(path: &Path) -> Result<Gazetteer> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Gazetteer::from_toml_str(&text).map_err(|message| Error::Actors {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Group names, in the order marker ids use.
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|(name, _)| name.as_str())
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// True if there are no groups (never the case for a loaded gazetteer).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Marker term for group `index` present (`@name`) or absent (`@no-name`).
    pub fn marker(&self, index: usize, present: bool) -> String {
        let name = &self.groups[index].0;
        if present {
            format!("@{name}")
        } else {
            format!("@no-{name}")
        }
    }

    /// Marker term for group `index` named earlier in the document (`@name-in-doc`).
    pub fn doc_marker(&self, index: usize) -> String {
        format!("@{}-in-doc", self.groups[index].0)
    }

    /// Does group `index` get an absence marker?
    pub fn marks_absence(&self, index: usize) -> bool {
        self.groups[index].1.absence
    }

    /// Id of a lowercase word in the phrase alphabet, or `NOT_AN_ACTOR_WORD`.
    pub(crate) fn word_id(&self, lowercase_word: &str) -> u32 {
        self.matcher
            .word_ids
            .get(lowercase_word)
            .copied()
            .unwrap_or(NOT_AN_ACTOR_WORD)
    }

    /// Finds phrase matches in a sequence of word ids (from [`Gazetteer::word_id`]),
    /// leftmost-longest and non-overlapping; calls `found(group, word range)`.
    pub(crate) fn scan(&self, word_ids: &[u32], mut found: impl FnMut(usize, Range<usize>)) {
        let mut i = 0;
        while i < word_ids.len() {
            // Most words name no actor; skip them without hashing.
            if word_ids[i] == NOT_AN_ACTOR_WORD {
                i += 1;
                continue;
            }
            let matched = self
                .matcher
                .phrases
                .get(&word_ids[i])
                .and_then(|candidates| {
                    candidates
                        .iter()
                        .find(|(phrase, _)| word_ids[i..].starts_with(phrase))
                });
            match matched {
                Some((phrase, group)) => {
                    found(*group, i..i + phrase.len());
                    i += phrase.len();
                }
                None => i += 1,
            }
        }
    }

    /// Every mention in `text`: the group's index and the range of the
    /// mention's words (indices into [`words`]`(text)`), in text order.
    pub fn hits(&self, text: &str) -> Vec<(usize, Range<usize>)> {
        let mut lower = String::new();
        let ids: Vec<u32> = words(text)
            .map(|range| {
                lowercase_into(&text[range], &mut lower);
                self.word_id(&lower)
            })
            .collect();
        let mut hits = Vec::new();
        self.scan(&ids, |group, range| hits.push((group, range)));
        hits
    }

    /// Counts mentions per group in `text`: `(group, count)` for groups
    /// mentioned at least once, in group order.
    pub fn mentions(&self, text: &str) -> Vec<(String, usize)> {
        let mut counts = vec![0; self.groups.len()];
        for (group, _) in self.hits(text) {
            counts[group] += 1;
        }
        counts
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .map(|(g, n)| (self.groups[g].0.clone(), n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_gazetteer_parses_and_knows_russian_companies() {
        let actors = Gazetteer::default_actors();
        assert_eq!(
            actors.mentions("Gazprom raised prices"),
            [("russia".to_string(), 1)]
        );
        assert!(actors
            .mentions("Astana and Tashkent agreed")
            .iter()
            .all(|(g, _)| g != "russia"));
    }

    #[test]
    fn longest_phrase_wins_and_matches_do_not_overlap() {
        let actors = Gazetteer::from_toml_str(
            "[russia]\nnames = [\"Russian\", \"Russian Railways\"]\n[west]\nnames = [\"Railways Act\"]\n",
        )
        .unwrap();
        assert_eq!(
            actors.mentions("Russian Railways Act"),
            [("russia".to_string(), 1)]
        );
    }

    #[test]
    fn a_name_in_two_groups_is_refused() {
        let err = Gazetteer::from_toml_str(
            "[russia]\nnames = [\"Union State\"]\n[belarus]\nnames = [\"union state\"]\n",
        )
        .unwrap_err();
        assert!(
            err.contains("listed in both `belarus` and `russia`"),
            "{err}"
        );
    }

    #[test]
    fn malformed_file_names_its_line() {
        let err = Gazetteer::from_toml_str("[russia]\nnames = [\"Moscow\"\nabsence = true\n")
            .unwrap_err();
        assert!(err.starts_with("line "), "{err}");
        let err = Gazetteer::from_toml_str("[russia]\nnaems = []\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("naems"), "{err}");
    }
}
