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
    /// One slot of single words: every position of a head is an occurrence.
    single_words: bool,
    /// Per slot, (first word, alternative) sorted: the alternatives that can start at a token
    /// are found without trying every term of a large concept, and still in their order.
    firsts: Vec<Box<[(u32, u32)]>>,
    /// Per slot, the distinct words its alternatives start with. Every slot needs one of them
    /// in the answer for the phrase to occur.
    slot_words: Box<[Box<[u32]>]>,
    /// For the leading slots that start a fixed number of tokens into the phrase (all slots
    /// before them have alternatives of one length), that number. Occurrences are found from
    /// whichever of these slots has the rarest words in the answer: "url shortener" is looked
    /// for where "shortener" is, not at every "url".
    offsets: Box<[u32]>,
}

/// A pattern refers to its phrases by id: phrases repeat across patterns (`@cache` is in
/// dozens), and an answer computes each phrase's occurrences once.
#[derive(Debug, Clone)]
pub struct CompiledPattern {
    first: u32,
    near: Vec<(u32, u32)>,
}

impl CompiledPattern {
    /// The ids of the phrases the pattern is made of.
    pub fn phrase_ids(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.first).chain(self.near.iter().map(|&(_, phrase)| phrase))
    }
}

/// Every distinct phrase of the content.
#[derive(Debug, Default)]
pub struct Phrases {
    list: Vec<CompiledPhrase>,
    ids: FxHashMap<Vec<CompiledSlot>, u32>,
    /// Per phrase, a range of `requirements`: for each slot, how many words it may start
    /// with, then those words. Kept apart from `list` and in one array, because asking
    /// whether a phrase may occur is done thousands of times per grade.
    requirement_ranges: Vec<(u32, u32)>,
    requirements: Vec<u32>,
}

impl Phrases {
    fn intern(&mut self, slots: Vec<CompiledSlot>) -> u32 {
        if let Some(&id) = self.ids.get(&slots) {
            return id;
        }
        let id = self.list.len() as u32;
        self.ids.insert(slots.clone(), id);
        let single_words = slots.len() == 1 && slots[0].iter().all(|sequence| sequence.len() == 1);
        let firsts = slots
            .iter()
            .map(|slot| {
                let mut firsts: Vec<(u32, u32)> = slot
                    .iter()
                    .enumerate()
                    .filter_map(|(alternative, sequence)| Some((*sequence.first()?, alternative as u32)))
                    .collect();
                firsts.sort_unstable();
                firsts.into_boxed_slice()
            })
            .collect();
        let slot_words: Box<[Box<[u32]>]> = slots
            .iter()
            .map(|slot| {
                let mut words: Vec<u32> = slot.iter().filter_map(|sequence| sequence.first().copied()).collect();
                words.sort_unstable();
                words.dedup();
                words.into_boxed_slice()
            })
            .collect();
        let mut offsets = vec![0];
        let mut offset = 0;
        for slot in &slots[..slots.len().saturating_sub(1)] {
            let Some(first) = slot.first() else { break };
            if slot.iter().any(|sequence| sequence.len() != first.len()) {
                break;
            }
            offset += first.len() as u32;
            offsets.push(offset);
        }
        let from = self.requirements.len() as u32;
        for words in slot_words.iter() {
            self.requirements.push(words.len() as u32);
            self.requirements.extend_from_slice(words);
        }
        self.requirement_ranges.push((from, self.requirements.len() as u32));
        self.list.push(CompiledPhrase { slots, single_words, firsts, slot_words, offsets: offsets.into_boxed_slice() });
        id
    }
}

/// The one-slot phrases that grading against one question may ask about, by the words they
/// start with: one pass over an answer's tokens finds all their occurrences, where looking
/// each phrase up on its own cost a lookup per word of every concept it names.
#[derive(Debug, Default)]
pub struct Plan {
    /// Word id to where its lists start in `alone` and in `searched`; they end where the next
    /// word's start.
    first: Vec<(u32, u32)>,
    /// Plan indexes of the phrases that the word alone is an occurrence of, with no longer
    /// alternative starting with it: nearly all of them.
    alone: Vec<u32>,
    /// The phrases with longer alternatives starting with the word.
    searched: Vec<PlanSearch>,
    /// Word sequences of the phrases' multi-word alternatives, as ranges of `words`.
    sequences: Vec<(u32, u32)>,
    words: Vec<u32>,
    /// Plan index to phrase id.
    phrases: Vec<u32>,
}

/// A phrase with longer alternatives starting with a word.
#[derive(Debug, Clone, Copy)]
struct PlanSearch {
    /// The phrase's plan index.
    index: u32,
    /// Those alternatives in the phrase's order, as a range of `sequences`: the first that
    /// fits is the occurrence.
    from: u32,
    to: u32,
    /// Whether the word alone is an occurrence when none of them fits.
    word_alone: bool,
}

impl Plan {
    /// A plan for `ids` (any phrase ids, repeats allowed) over a vocabulary of
    /// `vocabulary_size` ids; phrases of several slots are left to be looked up one by one,
    /// from their rarest slot.
    pub fn new(phrases: &Phrases, ids: impl IntoIterator<Item = u32>, vocabulary_size: usize) -> Self {
        let mut ids: Vec<u32> = ids
            .into_iter()
            .filter(|&id| phrases.list.get(id as usize).is_some_and(|phrase| phrase.slots.len() == 1))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut plan = Plan { phrases: ids, ..Plan::default() };
        let mut alone: Vec<(u32, u32)> = Vec::new();
        let mut searched: Vec<(u32, PlanSearch)> = Vec::new();
        for (index, &id) in plan.phrases.iter().enumerate() {
            let index = index as u32;
            let phrase = &phrases.list[id as usize];
            let alternatives = &phrase.slots[0];
            // `firsts` lists the alternatives by first word, each word's in the phrase's order.
            for group in phrase.firsts[0].chunk_by(|a, b| a.0 == b.0) {
                let word = group[0].0;
                let from = plan.sequences.len() as u32;
                let mut word_alone = false;
                for &(_, alternative) in group {
                    let sequence = &alternatives[alternative as usize];
                    if sequence.len() == 1 {
                        // Always fits: later alternatives are never tried.
                        word_alone = true;
                        break;
                    }
                    plan.sequences.push((plan.words.len() as u32, (plan.words.len() + sequence.len()) as u32));
                    plan.words.extend_from_slice(sequence);
                }
                let to = plan.sequences.len() as u32;
                if from == to {
                    alone.push((word, index));
                } else {
                    searched.push((word, PlanSearch { index, from, to, word_alone }));
                }
            }
        }
        alone.sort_unstable();
        searched.sort_by_key(|&(word, search)| (word, search.index));
        plan.first = Vec::with_capacity(vocabulary_size + 1);
        let (mut alone, mut searched) = (alone.iter().peekable(), searched.iter().peekable());
        for word in 0..=vocabulary_size as u32 {
            plan.first.push((plan.alone.len() as u32, plan.searched.len() as u32));
            while let Some(&(_, index)) = alone.next_if(|&&(first_word, _)| first_word == word) {
                plan.alone.push(index);
            }
            while let Some(&(_, search)) = searched.next_if(|&&(first_word, _)| first_word == word) {
                plan.searched.push(search);
            }
        }
        plan
    }

    #[cfg(test)]
    pub fn phrase_ids(&self) -> &[u32] {
        &self.phrases
    }

    /// The phrases that may start with a word: those it alone is an occurrence of, and those to search.
    fn starts_at(&self, word: u32) -> (&[u32], &[PlanSearch]) {
        match (self.first.get(word as usize), self.first.get(word as usize + 1)) {
            (Some(&(alone, searched)), Some(&(alone_end, searched_end))) => (
                self.alone.get(alone as usize..alone_end as usize).unwrap_or_default(),
                self.searched.get(searched as usize..searched_end as usize).unwrap_or_default(),
            ),
            _ => (&[], &[]),
        }
    }
}

/// No phrase spans more tokens than this (patterns have at most 12 words, a concept term a few more).
const MAX_PHRASE_TOKENS: u32 = 32;

/// Token range `[start, end)` of one occurrence.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
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
///
/// A table by phrase id, taken from a per-thread pool and reset where it was written: an
/// answer asks about a few hundred of the many thousand phrases, so allocating and clearing a
/// whole table per answer would cost more than a map, and a map costs more than the table.
pub struct Memo {
    /// Phrase id to a range of `spans`, or `UNKNOWN_RANGE`.
    ranges: Vec<(u32, u32)>,
    /// Phrase ids with a range.
    known: Vec<u32>,
    spans: Vec<Span>,
    /// Ranges of a pattern's near phrases and their longest spans, kept to save an
    /// allocation per pattern.
    near: Vec<(u32, u32, u32)>,
    /// Scratch bitset of token positions for `Index::phrase`, all zero between uses.
    starts: Vec<u64>,
    /// Scratch for `Index::run_plan`: occurrences as (plan index, span), and counts per index.
    found: Vec<(u32, Span)>,
    counts: Vec<u32>,
}

const UNKNOWN_RANGE: (u32, u32) = (u32::MAX, u32::MAX);

/// A dropped memo's buffers, emptied, for the next answer.
struct SpareMemo {
    ranges: Vec<(u32, u32)>,
    known: Vec<u32>,
    spans: Vec<Span>,
    near: Vec<(u32, u32, u32)>,
    starts: Vec<u64>,
    found: Vec<(u32, Span)>,
    counts: Vec<u32>,
}

thread_local! {
    static SPARE_MEMOS: std::cell::RefCell<Vec<SpareMemo>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Memo {
    pub fn new(phrases: &Phrases) -> Self {
        let size = phrases.list.len();
        let spare = SPARE_MEMOS.try_with(|spare| spare.borrow_mut().pop()).ok().flatten();
        match spare.filter(|spare| spare.ranges.len() == size) {
            Some(SpareMemo { ranges, known, spans, near, starts, found, counts }) => {
                Memo { ranges, known, spans, near, starts, found, counts }
            }
            // Sized for a whole-question grade, so that the buffers do not grow step by step.
            None => Memo {
                ranges: vec![UNKNOWN_RANGE; size],
                known: Vec::with_capacity(1024),
                spans: Vec::with_capacity(4096),
                near: Vec::new(),
                starts: Vec::new(),
                found: Vec::new(),
                counts: Vec::new(),
            },
        }
    }
}

impl Drop for Memo {
    fn drop(&mut self) {
        let mut ranges = std::mem::take(&mut self.ranges);
        for &id in &self.known {
            ranges[id as usize] = UNKNOWN_RANGE;
        }
        let mut spare = SpareMemo {
            ranges,
            known: std::mem::take(&mut self.known),
            spans: std::mem::take(&mut self.spans),
            near: std::mem::take(&mut self.near),
            starts: std::mem::take(&mut self.starts),
            found: std::mem::take(&mut self.found),
            counts: std::mem::take(&mut self.counts),
        };
        spare.known.clear();
        spare.spans.clear();
        spare.near.clear();
        spare.found.clear();
        let _ = SPARE_MEMOS.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < MAX_SPARE_TABLES {
                pool.push(spare);
            }
        });
    }
}

/// Where each word of an answer occurs, as a list per word id threaded through the tokens:
/// built in one pass, where sorting positions and hashing ranges cost more than the lookups.
#[derive(Default)]
pub struct WordIndex {
    /// Word id to its occurrences; all zero but for the answer's words.
    words: Vec<WordEntry>,
    /// Token position to one more than the next position of the same word, or 0.
    next: Vec<u32>,
    /// The answer's distinct word ids, to zero their entries again when done.
    present: Vec<u32>,
    /// A bit per word id, set for the answer's words: "is this word in the answer?" is asked
    /// thousands of times per grade, and this table stays in the first-level cache where the
    /// word table does not.
    present_bits: Vec<u64>,
}

#[derive(Debug, Default, Clone, Copy)]
struct WordEntry {
    /// One more than the word's first position, or 0 when the answer lacks the word.
    first: u32,
    count: u32,
}

thread_local! {
    /// Word tables of dropped indexes, zeroed again: zeroing a table the size of the vocabulary
    /// for each answer cost more than filling it in.
    static SPARE_TABLES: std::cell::RefCell<Vec<(Vec<WordEntry>, Vec<u64>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Spare tables kept per thread; one is all a thread grading answers one by one needs.
const MAX_SPARE_TABLES: usize = 4;

impl WordIndex {
    pub fn build(tokens: &[Token], vocabulary_size: usize) -> Self {
        let spare = SPARE_TABLES.try_with(|spare| spare.borrow_mut().pop()).ok().flatten();
        let (mut words, mut present_bits) = spare
            .filter(|(table, _)| table.len() == vocabulary_size)
            .unwrap_or_else(|| (vec![WordEntry::default(); vocabulary_size], vec![0; vocabulary_size.div_ceil(64)]));
        let mut next = vec![0u32; tokens.len()];
        let mut present = Vec::with_capacity(tokens.len() / 2);
        for (i, token) in tokens.iter().enumerate().rev() {
            if token.id == 0 {
                continue;
            }
            if let Some(entry) = words.get_mut(token.id as usize) {
                if entry.first == 0 {
                    present.push(token.id);
                    present_bits[token.id as usize / 64] |= 1 << (token.id % 64);
                }
                next[i] = entry.first;
                entry.first = i as u32 + 1;
                entry.count += 1;
            }
        }
        WordIndex { words, next, present, present_bits }
    }

    fn contains(&self, id: u32) -> bool {
        self.present_bits.get(id as usize / 64).is_some_and(|bits| bits & (1 << (id % 64)) != 0)
    }

    fn entry(&self, id: u32) -> WordEntry {
        self.words.get(id as usize).copied().unwrap_or_default()
    }
}

impl Drop for WordIndex {
    fn drop(&mut self) {
        let mut table = std::mem::take(&mut self.words);
        if table.is_empty() {
            return;
        }
        let mut present_bits = std::mem::take(&mut self.present_bits);
        for &id in &self.present {
            table[id as usize] = WordEntry::default();
            present_bits[id as usize / 64] = 0;
        }
        let _ = SPARE_TABLES.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < MAX_SPARE_TABLES {
                spare.push((table, present_bits));
            }
        });
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
        self.words.contains(id)
    }

    /// Could the phrase occur at all? A cheap test that rules out most patterns of most items.
    fn may_occur(&self, id: u32) -> bool {
        let Some(&(from, to)) = self.phrases.requirement_ranges.get(id as usize) else { return false };
        let mut requirements = self.phrases.requirements.get(from as usize..to as usize).unwrap_or_default();
        while let [count, rest @ ..] = requirements {
            let (words, next) = rest.split_at((*count as usize).min(rest.len()));
            if !words.iter().any(|&word| self.contains(word)) {
                return false;
            }
            requirements = next;
        }
        true
    }

    fn count(&self, id: u32) -> u32 {
        self.words.entry(id).count
    }

    /// The positions of a word, ascending.
    fn positions(&self, id: u32) -> impl Iterator<Item = u32> + '_ {
        let mut at = self.words.entry(id).first;
        std::iter::from_fn(move || {
            let position = at.checked_sub(1)?;
            at = self.words.next[position as usize];
            Some(position)
        })
    }

    fn sequence_at(&self, sequence: &[u32], position: usize, first: bool) -> bool {
        sequence.iter().enumerate().all(|(offset, &id)| {
            self.tokens
                .get(position + offset)
                .is_some_and(|token| token.id == id && (offset == 0 && first || !token.hard_before))
        })
    }

    /// Where the phrase's slots from `slot` on end when matched at `position`: the first
    /// alternatives that fit, in order, as a depth-first search would find them.
    fn slots_from(&self, phrase: &CompiledPhrase, slot: usize, position: usize, first: bool) -> Option<usize> {
        let Some(alternatives) = phrase.slots.get(slot) else { return Some(position) };
        let id = self.tokens.get(position)?.id;
        let firsts = &phrase.firsts[slot];
        let from = firsts.partition_point(|&(word, _)| word < id);
        for &(_, alternative) in firsts[from..].iter().take_while(|&&(word, _)| word == id) {
            let sequence = &alternatives[alternative as usize];
            if self.sequence_at(sequence, position, first)
                && let Some(end) = self.slots_from(phrase, slot + 1, position + sequence.len(), false)
            {
                return Some(end);
            }
        }
        None
    }

    fn phrase(&self, phrase: &CompiledPhrase, out: &mut Vec<Span>, starts: &mut Vec<u64>) {
        // The anchor: of the slots at a fixed offset, the one whose words are rarest here.
        // Every occurrence has one of its words at that offset from its start.
        // A phrase of one slot (most of them) has no choice to make.
        let mut anchor = 0;
        if phrase.offsets.len() > 1 {
            let mut fewest = u32::MAX;
            for slot in 0..phrase.offsets.len() {
                let count: u32 = phrase.slot_words[slot].iter().map(|&id| self.count(id)).sum();
                if count < fewest {
                    anchor = slot;
                    fewest = count;
                }
            }
        }
        let words = &phrase.slot_words[anchor];
        let offset = phrase.offsets[anchor];
        if let [word] = words[..] {
            for position in self.positions(word) {
                if let Some(start) = position.checked_sub(offset) {
                    self.occurrence_at(phrase, start, out);
                }
            }
            return;
        }
        // Several words (a concept's terms): their starts are marked in a bitset over the
        // tokens and read back in order, so that the spans come out sorted by start. A
        // position has one word, so no two words mark the same start.
        starts.resize(self.tokens.len() / 64 + 1, 0);
        for &word in words.iter() {
            for position in self.positions(word) {
                if let Some(start) = position.checked_sub(offset) {
                    starts[start as usize / 64] |= 1 << (start % 64);
                }
            }
        }
        for (block, bits) in starts.iter_mut().enumerate() {
            // Taken, so the bitset is all zero again for the next phrase.
            let mut bits = std::mem::take(bits);
            while bits != 0 {
                let start = block as u32 * 64 + bits.trailing_zeros();
                bits &= bits - 1;
                self.occurrence_at(phrase, start, out);
            }
        }
    }

    fn occurrence_at(&self, phrase: &CompiledPhrase, position: u32, out: &mut Vec<Span>) {
        if phrase.single_words {
            out.push(Span { start: position, end: position + 1 });
        } else if let Some(end) = self.slots_from(phrase, 0, position as usize, true) {
            out.push(Span { start: position, end: end as u32 });
        }
    }

    fn gap(a: Span, b: Span) -> u32 {
        b.start.saturating_sub(a.end).max(a.start.saturating_sub(b.end))
    }

    /// The range in the memo of a phrase's occurrences, sorted by start: computed once per
    /// answer, for a phrase that `could_occur`.
    fn phrase_range(&self, id: u32) -> (u32, u32) {
        if let Some(&range) = self.memo.borrow().ranges.get(id as usize)
            && range != UNKNOWN_RANGE
        {
            return range;
        }
        let mut memo = self.memo.borrow_mut();
        let start = memo.spans.len();
        if let Some(phrase) = self.phrases.list.get(id as usize) {
            let memo = &mut *memo;
            self.phrase(phrase, &mut memo.spans, &mut memo.starts);
        }
        let range = (start as u32, memo.spans.len() as u32);
        if let Some(slot) = memo.ranges.get_mut(id as usize) {
            *slot = range;
            memo.known.push(id);
        }
        range
    }

    /// The occurrences of a phrase, from the memo or looked up on their own.
    #[cfg(test)]
    pub fn spans_of(&self, id: u32) -> Vec<Span> {
        let (start, end) = self.phrase_range(id);
        self.memo.borrow().spans[start as usize..end as usize].to_vec()
    }

    fn could_occur(&self, id: u32) -> bool {
        if let Some(&range) = self.memo.borrow().ranges.get(id as usize)
            && range != UNKNOWN_RANGE
        {
            return range.0 != range.1;
        }
        self.may_occur(id)
    }

    /// Finds the occurrences of every phrase of `plan` not yet known, in one pass over the tokens.
    pub fn run_plan(&self, plan: &Plan) {
        let mut memo = self.memo.borrow_mut();
        let memo = &mut *memo;
        let mut found = std::mem::take(&mut memo.found);
        found.clear();
        // Occurrences per plan index, for a counting sort: each count becomes where its
        // group starts, then, as the spans are placed, where it ends.
        memo.counts.clear();
        memo.counts.resize(plan.phrases.len(), 0);
        // A slice rather than the Vec: a slice's pointer stays in a register across `found.push`.
        let counts = &mut memo.counts[..];
        // A word alone is an occurrence wherever the word is: counted per distinct word.
        for &word in &self.words.present {
            let count = self.words.entry(word).count;
            for &index in plan.starts_at(word).0 {
                counts[index as usize] += count;
            }
        }
        // Longer alternatives are tried token by token; the few found wait in `found`.
        for (position, token) in self.tokens.iter().enumerate() {
            let start = position as u32;
            for search in plan.starts_at(token.id).1 {
                let fits = plan.sequences[search.from as usize..search.to as usize]
                    .iter()
                    .find(|&&(from, to)| self.sequence_at(&plan.words[from as usize..to as usize], position, true));
                let len = match fits {
                    Some(&(from, to)) => to - from,
                    None if search.word_alone => 1,
                    None => continue,
                };
                found.push((search.index, Span { start, end: start + len }));
                counts[search.index as usize] += 1;
            }
        }
        let base = memo.spans.len() as u32;
        let mut next_start = base;
        for count in counts.iter_mut() {
            let start = next_start;
            next_start += *count;
            *count = start;
        }
        memo.spans.resize(next_start as usize, Span::default());
        let spans = &mut memo.spans[..];
        // Placed in token order, so each phrase's group is sorted by start. A phrase is either
        // alone or searched for a given word, so it never has two spans at one position.
        let mut searched = found.iter().peekable();
        for (position, token) in self.tokens.iter().enumerate() {
            let start = position as u32;
            for &index in plan.starts_at(token.id).0 {
                let at = &mut counts[index as usize];
                spans[*at as usize] = Span { start, end: start + 1 };
                *at += 1;
            }
            while let Some(&(index, span)) = searched.next_if(|(_, span)| span.start == start) {
                let at = &mut counts[index as usize];
                spans[*at as usize] = span;
                *at += 1;
            }
        }
        let mut start = base;
        for (&id, &end) in plan.phrases.iter().zip(counts.iter()) {
            if let Some(range) = memo.ranges.get_mut(id as usize)
                && *range == UNKNOWN_RANGE
            {
                *range = (start, end);
                memo.known.push(id);
            }
            start = end;
        }
        memo.found = found;
    }

    /// Every occurrence of `pattern`, sorted by start.
    pub fn occurrences(&self, pattern: &CompiledPattern, out: &mut Vec<Span>) {
        out.clear();
        if !self.could_occur(pattern.first) || pattern.near.iter().any(|&(_, phrase)| !self.could_occur(phrase)) {
            return;
        }
        let (start, end) = self.phrase_range(pattern.first);
        if start == end {
            return;
        }
        let mut near = std::mem::take(&mut self.memo.borrow_mut().near);
        near.clear();
        for &(_, phrase) in &pattern.near {
            let range = self.phrase_range(phrase);
            if range.0 == range.1 {
                self.memo.borrow_mut().near = near;
                return;
            }
            // The longest candidate bounds how far before a span a near one may start.
            let longest = self.memo.borrow().spans[range.0 as usize..range.1 as usize]
                .iter()
                .map(|span| span.end - span.start)
                .max()
                .unwrap_or(0);
            near.push((range.0, range.1, longest));
        }
        let memo = self.memo.borrow();
        let spans = &memo.spans;
        let firsts = &spans[start as usize..end as usize];
        if pattern.near.is_empty() {
            out.extend_from_slice(firsts);
        } else {
            let (distance, _) = pattern.near[0];
            let (first_near, end_near, longest) = near[0];
            let candidates = &spans[first_near as usize..end_near as usize];
            // Where the first near phrase's candidates may start, for the span before: spans
            // come by start, so it only moves forward.
            let mut cursor = 0;
            for &span in firsts {
                // One that ends `distance` before the span starts at most `longest` tokens earlier.
                let lowest = span.start.saturating_sub(distance + longest.min(MAX_PHRASE_TOKENS));
                while candidates.get(cursor).is_some_and(|candidate| candidate.start < lowest) {
                    cursor += 1;
                }
                // Most spans have no candidate at all in reach.
                if candidates.get(cursor).is_none_or(|candidate| candidate.start > span.end + distance) {
                    continue;
                }
                if let Some(span) = self.near_chain(span, pattern, &near, spans, cursor) {
                    out.push(span);
                }
            }
        }
        drop(memo);
        self.memo.borrow_mut().near = near;
    }

    /// `span` extended over the closest candidate of each near phrase in turn, or None when
    /// one of them has no candidate close enough in the span's sentence. The first near
    /// phrase's candidates that may be close start at `first_candidate`.
    fn near_chain(
        &self,
        span: Span,
        pattern: &CompiledPattern,
        near: &[(u32, u32, u32)],
        spans: &[Span],
        first_candidate: usize,
    ) -> Option<Span> {
        // Looked up only for a candidate that could be chosen: most spans have none.
        let mut sentence = None;
        let mut merged = span;
        let mut previous = span;
        for (k, (&(distance, _), &(start, end, longest))) in pattern.near.iter().zip(near).enumerate() {
            let candidates = &spans[start as usize..end as usize];
            let mut i = if k == 0 {
                first_candidate
            } else {
                // Candidates are sorted by start; only those starting near `previous` can be
                // close: one that ends `distance` before it starts at most `longest` tokens earlier.
                let lowest = previous.start.saturating_sub(distance + longest.min(MAX_PHRASE_TOKENS));
                candidates.partition_point(|candidate| candidate.start < lowest)
            };
            let highest = previous.end + distance;
            // The closest candidate in the sentence, the first of equals.
            let mut best: Option<(u32, Span)> = None;
            while let Some(&candidate) = candidates.get(i) {
                if candidate.start > highest {
                    break;
                }
                i += 1;
                // Past `previous`, each candidate is further than the one before, so the first
                // that is not in an earlier sentence settles the search.
                let after = candidate.start >= previous.end;
                // A phrase is never "near" itself: the two must not overlap.
                if !after && previous.start < candidate.end {
                    continue;
                }
                let gap = Self::gap(previous, candidate);
                if gap > distance || best.is_some_and(|(closest, _)| gap >= closest) {
                    if after {
                        break;
                    }
                    continue;
                }
                let sentence = *sentence.get_or_insert_with(|| self.tokens[span.start as usize].sentence);
                let candidate_sentence = self.tokens[candidate.start as usize].sentence;
                if candidate_sentence == sentence {
                    best = Some((gap, candidate));
                }
                if after && candidate_sentence >= sentence {
                    break;
                }
            }
            let (_, found) = best?;
            merged.start = merged.start.min(found.start);
            merged.end = merged.end.max(found.end);
            previous = found;
        }
        Some(merged)
    }
}
