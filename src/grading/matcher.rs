//! Patterns compiled to word ids, and finding their occurrences in an analysed answer.

use super::text::{Token, Vocabulary};
use crate::content::pattern::{Pattern, Phrase, Slot};
use rustc_hash::FxHashMap;

/// A word slot: alternative word-id sequences (a concept term may be several words).
/// Shared, because a concept's slot appears in many patterns.
type CompiledSlot = std::sync::Arc<[Box<[u32]>]>;

#[derive(Debug, Clone)]
pub struct CompiledPhrase {
    slots: Vec<CompiledSlot>,
    /// Every word id that can start the phrase: if none is in the answer, nothing matches.
    heads: Box<[u32]>,
}

/// A pattern refers to its phrases by id: phrases repeat across patterns (`@cache` is in
/// dozens), and an answer computes each phrase's occurrences once.
#[derive(Debug, Clone)]
pub struct CompiledPattern {
    first: u32,
    near: Vec<(u32, u32)>,
}

/// Every distinct phrase of the content.
#[derive(Debug, Default)]
pub struct Phrases {
    list: Vec<CompiledPhrase>,
    ids: FxHashMap<Vec<CompiledSlot>, u32>,
}

impl Phrases {
    fn intern(&mut self, slots: Vec<CompiledSlot>) -> u32 {
        if let Some(&id) = self.ids.get(&slots) {
            return id;
        }
        let mut heads: Vec<u32> = slots
            .first()
            .map(|slot| slot.iter().filter_map(|sequence| sequence.first().copied()).collect())
            .unwrap_or_default();
        heads.sort_unstable();
        heads.dedup();
        let id = self.list.len() as u32;
        self.ids.insert(slots.clone(), id);
        self.list.push(CompiledPhrase { slots, heads: heads.into_boxed_slice() });
        id
    }
}

/// No phrase spans more tokens than this (patterns have at most 12 words, a concept term a few more).
const MAX_PHRASE_TOKENS: u32 = 32;

/// Token range `[start, end)` of one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

/// Compiles patterns against a growing vocabulary; concepts expand to their terms.
pub struct Compiler<'c> {
    pub vocabulary: Vocabulary,
    pub phrases: Phrases,
    concepts: FxHashMap<&'c str, CompiledSlot>,
    /// Ids of the concept dictionary's words.
    pub dictionary_words: Vec<u32>,
}

impl<'c> Compiler<'c> {
    pub fn new(concepts: &'c [crate::content::Concept]) -> Self {
        let mut compiler = Compiler {
            vocabulary: Vocabulary::default(),
            phrases: Phrases::default(),
            concepts: FxHashMap::default(),
            dictionary_words: Vec::new(),
        };
        for concept in concepts {
            let mut slot: Vec<Box<[u32]>> = Vec::new();
            for term in &concept.terms {
                // Concept terms are plain phrases of plain words (checked at load).
                let mut sequence = Vec::new();
                for word_slot in &term.first.slots {
                    if let Slot::Words(words) = word_slot
                        && let Some(word) = words.first()
                    {
                        let ids = compiler.word(word);
                        compiler.dictionary_words.extend(ids.iter());
                        sequence.extend(ids.iter());
                    }
                }
                if !sequence.is_empty() && !slot.iter().any(|existing| existing[..] == sequence[..]) {
                    slot.push(sequence.into_boxed_slice());
                }
            }
            // Longer terms first, so "read replica" is preferred over "read" when both fit.
            slot.sort_by_key(|sequence| std::cmp::Reverse(sequence.len()));
            compiler.concepts.insert(concept.id.as_str(), slot.into());
        }
        compiler
    }

    /// A pattern word as the tokenizer will see it: "10k" is the number 10 then the word "k".
    fn word(&mut self, word: &str) -> Box<[u32]> {
        let number = super::text::number_prefix_len(word);
        if number == 0 {
            return vec![self.vocabulary.intern(word)].into_boxed_slice();
        }
        let digits: String = word[..number].chars().filter(|&c| c != ',').collect();
        let mut sequence = vec![self.vocabulary.intern_normalized(&digits)];
        if number < word.len() {
            sequence.push(self.vocabulary.intern(&word[number..]));
        }
        sequence.into_boxed_slice()
    }

    fn phrase(&mut self, phrase: &Phrase) -> u32 {
        let slots = phrase
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Words(words) => words.iter().map(|word| self.word(word)).collect::<Vec<_>>().into(),
                // Unknown concepts are rejected at load; an empty slot simply never matches.
                Slot::Concept(id) => self.concepts.get(id.as_str()).cloned().unwrap_or_else(|| Vec::new().into()),
            })
            .collect::<Vec<CompiledSlot>>();
        self.phrases.intern(slots)
    }

    pub fn pattern(&mut self, pattern: &Pattern) -> CompiledPattern {
        CompiledPattern {
            first: self.phrase(&pattern.first),
            near: pattern.near.iter().map(|(distance, phrase)| (u32::from(*distance), self.phrase(phrase))).collect(),
        }
    }
}

/// Occurrences of the phrases an answer has been asked about so far.
/// (A map rather than a table by phrase id: an answer asks about a few hundred of the many
/// thousand phrases, and clearing a table that size per answer costs more than it saves.)
#[derive(Default)]
pub struct Memo {
    /// Phrase id to a range of `spans`.
    ranges: FxHashMap<u32, (u32, u32)>,
    spans: Vec<Span>,
}

/// Sorts by start and removes duplicates; phrases with one alternative come out sorted already.
fn sort_spans(spans: &mut Vec<Span>) {
    let key = |span: &Span| (span.start, span.end);
    if !spans.windows(2).all(|pair| key(&pair[0]) < key(&pair[1])) {
        spans.sort_unstable_by_key(key);
        spans.dedup();
    }
}

/// Where each word of an answer occurs: positions grouped by word id.
#[derive(Default)]
pub struct WordIndex {
    positions: Vec<u32>,
    /// Word id to its range of `positions`.
    ranges: FxHashMap<u32, (u32, u32)>,
    /// Bit per word id: does the answer contain it?
    present: Vec<u64>,
}

impl WordIndex {
    pub fn build(tokens: &[Token], vocabulary_size: usize) -> Self {
        let mut keys: Vec<u64> = tokens
            .iter()
            .enumerate()
            .filter(|(_, token)| token.id != 0)
            .map(|(i, token)| (u64::from(token.id) << 32) | i as u64)
            .collect();
        keys.sort_unstable();
        let mut index = WordIndex {
            positions: keys.iter().map(|&key| key as u32).collect(),
            ranges: FxHashMap::default(),
            present: vec![0u64; vocabulary_size / 64 + 1],
        };
        let mut start = 0;
        while start < keys.len() {
            let id = (keys[start] >> 32) as u32;
            let end = start + keys[start..].iter().take_while(|&&key| (key >> 32) as u32 == id).count();
            index.ranges.insert(id, (start as u32, end as u32));
            if let Some(bits) = index.present.get_mut(id as usize / 64) {
                *bits |= 1 << (id % 64);
            }
            start = end;
        }
        index
    }
}

/// An answer's tokens and word index, with the phrase table and the answer's memo.
pub struct Index<'a> {
    pub tokens: &'a [Token],
    words: &'a WordIndex,
    phrases: &'a Phrases,
    memo: &'a std::cell::RefCell<Memo>,
}

impl<'a> Index<'a> {
    pub fn new(
        tokens: &'a [Token],
        words: &'a WordIndex,
        phrases: &'a Phrases,
        memo: &'a std::cell::RefCell<Memo>,
    ) -> Self {
        Index { tokens, words, phrases, memo }
    }

    fn contains(&self, id: u32) -> bool {
        self.words.present.get(id as usize / 64).is_some_and(|bits| bits & (1 << (id % 64)) != 0)
    }

    /// Could the phrase occur at all? A cheap test that rules out most patterns of most items.
    fn may_occur(&self, phrase: &CompiledPhrase) -> bool {
        phrase.heads.iter().any(|&id| self.contains(id))
    }

    fn positions(&self, id: u32) -> &[u32] {
        match self.words.ranges.get(&id) {
            Some(&(start, end)) => &self.words.positions[start as usize..end as usize],
            None => &[],
        }
    }

    fn sequence_at(&self, sequence: &[u32], position: usize, first: bool) -> bool {
        sequence.iter().enumerate().all(|(offset, &id)| {
            self.tokens
                .get(position + offset)
                .is_some_and(|token| token.id == id && (offset == 0 && first || !token.hard_before))
        })
    }

    fn slots_from(&self, slots: &[CompiledSlot], position: usize, first: bool) -> Option<usize> {
        let Some((slot, rest)) = slots.split_first() else { return Some(position) };
        slot.iter().find_map(|sequence| {
            if self.sequence_at(sequence, position, first) {
                self.slots_from(rest, position + sequence.len(), false)
            } else {
                None
            }
        })
    }

    fn phrase(&self, phrase: &CompiledPhrase, out: &mut Vec<Span>) {
        // Each distinct first word once: a concept's terms often share it ("load balancer",
        // "load balancing").
        for &head in phrase.heads.iter() {
            if !self.contains(head) {
                continue;
            }
            for &position in self.positions(head) {
                if let Some(end) = self.slots_from(&phrase.slots, position as usize, true) {
                    out.push(Span { start: position, end: end as u32 });
                }
            }
        }
    }

    fn gap(a: Span, b: Span) -> u32 {
        b.start.saturating_sub(a.end).max(a.start.saturating_sub(b.end))
    }

    /// The occurrences of a phrase, sorted by start: computed once per answer, then copied.
    fn phrase_spans(&self, id: u32, out: &mut Vec<Span>) {
        out.clear();
        {
            let memo = self.memo.borrow();
            if let Some(&(start, end)) = memo.ranges.get(&id) {
                out.extend_from_slice(&memo.spans[start as usize..end as usize]);
                return;
            }
        }
        if let Some(phrase) = self.phrases.list.get(id as usize)
            && self.may_occur(phrase)
        {
            self.phrase(phrase, out);
            sort_spans(out);
        }
        let mut memo = self.memo.borrow_mut();
        let start = memo.spans.len() as u32;
        memo.spans.extend_from_slice(out);
        let end = memo.spans.len() as u32;
        memo.ranges.insert(id, (start, end));
    }

    fn could_occur(&self, id: u32) -> bool {
        self.phrases.list.get(id as usize).is_some_and(|phrase| self.may_occur(phrase))
    }

    /// Every occurrence of `pattern`, sorted by start.
    pub fn occurrences(&self, pattern: &CompiledPattern, out: &mut Vec<Span>) {
        out.clear();
        if !self.could_occur(pattern.first) || pattern.near.iter().any(|&(_, phrase)| !self.could_occur(phrase)) {
            return;
        }
        self.phrase_spans(pattern.first, out);
        if pattern.near.is_empty() || out.is_empty() {
            return;
        }
        let mut candidates = Vec::new();
        let mut near_occurrences: Vec<Vec<Span>> = Vec::with_capacity(pattern.near.len());
        for &(_, phrase) in &pattern.near {
            self.phrase_spans(phrase, &mut candidates);
            if candidates.is_empty() {
                out.clear();
                return;
            }
            near_occurrences.push(std::mem::take(&mut candidates));
        }
        out.retain_mut(|span| {
            let sentence = self.tokens[span.start as usize].sentence;
            let mut previous = *span;
            for ((distance, _), candidates) in pattern.near.iter().zip(&near_occurrences) {
                // Candidates are sorted by start; only those starting near `previous` can be close.
                let lowest = previous.start.saturating_sub(*distance + MAX_PHRASE_TOKENS);
                let first = candidates.partition_point(|candidate| candidate.start < lowest);
                let highest = previous.end + *distance;
                // A phrase is never "near" itself: the two must not overlap.
                let found =
                    candidates[first..].iter().copied().take_while(|c| c.start <= highest).filter(|candidate| {
                        (candidate.start >= previous.end || previous.start >= candidate.end)
                            && Self::gap(previous, *candidate) <= *distance
                            && self.tokens[candidate.start as usize].sentence == sentence
                    });
                let Some(found) = found.min_by_key(|candidate| Self::gap(previous, *candidate)) else {
                    return false;
                };
                span.start = span.start.min(found.start);
                span.end = span.end.max(found.end);
                previous = found;
            }
            true
        });
    }
}
