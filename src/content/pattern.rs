//! The pattern language of rubric items, concepts, checks and red flags (see CONTENT.md).
//!
//! Parsing lives with the content because the syntax is part of the file format: a broken
//! pattern is a content error with a file and a line. Matching lives in `grading`.

use std::fmt;

/// One word position of a phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// Alternative words, as written (lower-case, not yet normalised).
    Words(Vec<String>),
    /// Any term of a concept.
    Concept(String),
}

/// Words that must stand next to each other in the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    pub slots: Vec<Slot>,
}

/// A phrase, optionally followed by more phrases that must each occur within a number of
/// words of the previous one (`A ~N B`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub first: Phrase,
    pub near: Vec<(u8, Phrase)>,
}

impl Pattern {
    pub fn concepts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&self.first)
            .chain(self.near.iter().map(|(_, phrase)| phrase))
            .flat_map(|phrase| phrase.slots.iter())
            .filter_map(|slot| match slot {
                Slot::Concept(id) => Some(id.as_str()),
                Slot::Words(_) => None,
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The largest `~N` distance; further than this, two words are no longer "near".
pub const MAX_NEAR: u8 = 20;

/// Longest pattern accepted, in words; longer ones are almost certainly a pasted sentence.
const MAX_WORDS: usize = 12;

/// Characters a pattern word may contain besides lower-case letters and digits.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !c.is_uppercase() || c == '\''
}

/// Parses one pattern. `allow_operators` is false for concept terms, which are plain phrases.
pub fn parse(source: &str, allow_operators: bool) -> Result<Pattern, PatternError> {
    let source = source.trim();
    if source.is_empty() {
        return Err(PatternError("empty pattern".into()));
    }
    let mut phrases: Vec<(u8, Phrase)> = Vec::new();
    let mut current = Phrase { slots: Vec::new() };
    let mut pending_distance: u8 = 0;
    let mut words = 0usize;
    for raw in source.split_whitespace() {
        if let Some(distance) = raw.strip_prefix('~') {
            if !allow_operators {
                return Err(PatternError(format!(
                    "`{raw}`: a concept term is a plain phrase; use `~N` in rubric items"
                )));
            }
            let distance: u8 = distance.parse().ok().filter(|n| (1..=MAX_NEAR).contains(n)).ok_or_else(|| {
                PatternError(format!("`{raw}`: write `~N` with N a number of words from 1 to {MAX_NEAR}"))
            })?;
            if current.slots.is_empty() {
                return Err(PatternError(format!("`{raw}` needs a phrase on both sides")));
            }
            phrases.push((pending_distance, std::mem::replace(&mut current, Phrase { slots: Vec::new() })));
            pending_distance = distance;
            continue;
        }
        words += 1;
        if let Some(concept) = raw.strip_prefix('@') {
            if !allow_operators {
                return Err(PatternError(format!("`{raw}`: a concept term cannot refer to another concept")));
            }
            if concept.is_empty() || !concept.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(PatternError(format!(
                    "`{raw}`: a concept reference is `@` followed by a concept id such as `@load-balancer`"
                )));
            }
            current.slots.push(Slot::Concept(concept.to_string()));
            continue;
        }
        // Hyphens, underscores and slashes separate words in answers, so they do in patterns too.
        let pieces: Vec<&str> = raw.split(['-', '_', '/']).collect();
        for piece in pieces {
            if piece.is_empty() {
                return Err(PatternError(format!("`{raw}`: a separator needs a word on both sides")));
            }
            if piece.contains('|') && !allow_operators {
                return Err(PatternError(format!("`{raw}`: list alternatives as separate terms, not with `|`")));
            }
            let mut alternatives = Vec::new();
            for alternative in piece.split('|') {
                let number = alternative.starts_with(|c: char| c.is_ascii_digit());
                let valid = alternative.chars().all(|c| is_word_char(c) || number && (c == '.' || c == ','));
                if alternative.is_empty() || !valid || alternative.ends_with(['.', ',']) {
                    return Err(PatternError(format!(
                        "`{raw}`: pattern words are lower-case letters and digits (got `{alternative}`)"
                    )));
                }
                alternatives.push(alternative.to_string());
            }
            current.slots.push(Slot::Words(alternatives));
        }
    }
    if current.slots.is_empty() {
        return Err(PatternError("a `~N` at the end needs a phrase after it".into()));
    }
    if words > MAX_WORDS {
        return Err(PatternError(format!("pattern has {words} words; keep patterns to {MAX_WORDS} words or fewer")));
    }
    phrases.push((pending_distance, current));
    let mut phrases = phrases.into_iter();
    let (_, first) = phrases.next().ok_or_else(|| PatternError("empty pattern".into()))?;
    Ok(Pattern { first, near: phrases.collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrase_with_alternatives_and_concept() {
        let pattern = parse("301|302 @cache redirect", true).unwrap();
        assert_eq!(
            pattern.first.slots,
            vec![
                Slot::Words(vec!["301".into(), "302".into()]),
                Slot::Concept("cache".into()),
                Slot::Words(vec!["redirect".into()]),
            ]
        );
        assert!(pattern.near.is_empty());
    }

    #[test]
    fn proximity_chain() {
        let pattern = parse("@sharding ~4 user id ~2 hash", true).unwrap();
        assert_eq!(pattern.near.len(), 2);
        assert_eq!(pattern.near[0].0, 4);
        assert_eq!(pattern.near[0].1.slots.len(), 2);
    }

    #[test]
    fn hyphens_split_words() {
        let pattern = parse("read-replica", true).unwrap();
        assert_eq!(pattern.first.slots.len(), 2);
    }

    #[test]
    fn rejects_broken_patterns() {
        for bad in ["", "~3 cache", "cache ~", "cache ~0 db", "cache ~99 db", "Cache", "a||b", "@", "@Cache", "x.y"] {
            assert!(parse(bad, true).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse("@cache", false).is_err());
        assert!(parse("a ~2 b", false).is_err());
    }
}
