//! Explainable rubric grading: pure, no I/O. A `Grader` compiles all content once; grading an
//! answer tokenises it once and then looks patterns up by word id.

mod matcher;
pub mod text;

use crate::content::{Content, Question, RubricItem};
use matcher::{CompiledPattern, Compiler, Index, Span};
use serde::Serialize;
use text::{Token, WordClasses};

/// Words before a match that may negate it ("we do not need a cache").
const NEGATION_WINDOW_BEFORE: usize = 3;
/// Words after a match that may dismiss it ("a cache is not needed").
const DISMISSAL_WINDOW_AFTER: usize = 4;
/// Credit for an item whose only evidence stands in a bare list, once the answer is flagged.
const BARE_CREDIT: f64 = 0.2;
/// Highest score of an answer flagged as a buzzword list.
const BUZZWORD_CAP: u32 = 25;
/// A flagged answer has at least this many bare hits, and they are most of its hits.
const BUZZWORD_MIN_BARE_HITS: usize = 3;
/// Quotes kept per item; more would not help the learner.
const MAX_EVIDENCE: usize = 3;
/// Longest quote, in characters.
const MAX_QUOTE_CHARS: usize = 90;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GradeError {
    #[error("unknown question `{wanted}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownQuestion { wanted: String, suggestion: Option<String> },
    #[error("question `{question}` has no step `{wanted}`; its steps are {steps}")]
    UnknownStep { question: String, wanted: String, steps: String },
}

struct CompiledItem {
    patterns: Vec<CompiledPattern>,
    /// Does the item belong to a step whose bare lists count toward the buzzword flag?
    design_step: bool,
}

struct CompiledQuestion {
    items: Vec<CompiledItem>,
    /// Made on the first grade against the question, so that loading stays quick.
    plan: std::sync::OnceLock<matcher::Plan>,
}

struct CompiledCheck {
    patterns: Vec<CompiledPattern>,
}

struct CompiledFlag {
    any: Vec<CompiledPattern>,
    unless: Vec<CompiledPattern>,
    with_any: Vec<CompiledPattern>,
}

/// Per-word-id properties the grader consults while scanning.
#[derive(Default)]
struct WordSets {
    negation: Vec<bool>,
    dismissal: Vec<bool>,
    dismissal_verb: Vec<bool>,
    function: Vec<bool>,
    unit: Vec<bool>,
}

fn has(set: &[bool], id: u32) -> bool {
    set.get(id as usize).copied().unwrap_or(false)
}

/// All content compiled for grading.
pub struct Grader {
    content: Content,
    vocabulary: text::Vocabulary,
    phrases: matcher::Phrases,
    classes: WordClasses,
    words: WordSets,
    reasoning: Vec<CompiledPattern>,
    questions: Vec<CompiledQuestion>,
    checks: Vec<CompiledCheck>,
    flags: Vec<CompiledFlag>,
}

/// Words of evidence quoted from the answer. Nearly every quote is a few words, kept inline:
/// a heap string per quote made allocation a tenth of the cost of a grade.
pub type Quote = compact_str::CompactString;

/// How an answer fared on one rubric item. The item's text is read through it rather than
/// copied: a whole-question grade has ~150 results, and copying five shared strings into each
/// was a twentieth of the grade's time.
#[derive(Debug, Clone)]
pub struct ItemResult {
    rubric: std::sync::Arc<RubricItem>,
    pub hit: bool,
    pub weight: f64,
    /// The share of the weight earned: 1, 0 or, for bare-list evidence in a flagged answer, less.
    pub credit: f64,
    pub evidence: Vec<Quote>,
}

impl ItemResult {
    pub fn id(&self) -> &str {
        &self.rubric.id
    }

    pub fn step(&self) -> &str {
        &self.rubric.step
    }

    pub fn label(&self) -> &str {
        &self.rubric.label
    }

    /// What to add: for a missed item only (None when the item was covered).
    pub fn hint(&self) -> Option<&str> {
        (!self.hit).then_some(&*self.rubric.hint)
    }

    pub fn why(&self) -> &str {
        &self.rubric.why
    }

    pub fn generic(&self) -> bool {
        self.rubric.generic
    }
}

impl PartialEq for ItemResult {
    fn eq(&self, other: &Self) -> bool {
        (self.id(), self.step(), self.label(), self.hint(), self.why(), self.generic())
            == (other.id(), other.step(), other.label(), other.hint(), other.why(), other.generic())
            && (self.hit, self.weight, self.credit) == (other.hit, other.weight, other.credit)
            && self.evidence == other.evidence
    }
}

impl Serialize for ItemResult {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut item = serializer.serialize_struct("ItemResult", 10)?;
        item.serialize_field("id", self.id())?;
        item.serialize_field("step", self.step())?;
        item.serialize_field("label", self.label())?;
        item.serialize_field("hit", &self.hit)?;
        item.serialize_field("weight", &self.weight)?;
        item.serialize_field("credit", &self.credit)?;
        item.serialize_field("evidence", &self.evidence)?;
        item.serialize_field("hint", &self.hint())?;
        item.serialize_field("why", self.why())?;
        item.serialize_field("generic", &self.generic())?;
        item.end()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RedFlagResult {
    pub id: String,
    pub label: String,
    pub why: String,
    pub evidence: Vec<Quote>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckResult {
    pub id: String,
    pub label: String,
    pub ticked: bool,
    pub evidence: Vec<Quote>,
    /// For an unticked check only.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Grade {
    pub question: String,
    /// The step graded, or None when the answer was graded against the whole question.
    pub step: Option<String>,
    pub framework: String,
    pub score: u32,
    pub items: Vec<ItemResult>,
    pub red_flags: Vec<RedFlagResult>,
    pub checklist: Vec<CheckResult>,
    /// Numbers with units found ("10K RPS", "99.9%").
    pub quantities: Vec<Quote>,
    pub words: usize,
}

impl Grade {
    pub fn hits(&self) -> impl Iterator<Item = &ItemResult> {
        self.items.iter().filter(|item| item.hit)
    }

    pub fn misses(&self) -> impl Iterator<Item = &ItemResult> {
        self.items.iter().filter(|item| !item.hit)
    }

    /// Missed items in [`by_importance`] order, so a learner reads what costs most first.
    pub fn misses_by_importance(&self) -> Vec<&ItemResult> {
        let mut misses: Vec<_> = self.misses().collect();
        misses.sort_by(|a, b| by_importance((a.weight, a.generic()), (b.weight, b.generic())));
        misses
    }
}

/// The order missed items are listed and hinted in, given each one's (weight, generic): the
/// heaviest first, and the question's own before generic ones of the same weight.
pub fn by_importance((weight, generic): (f64, bool), (other_weight, other_generic): (f64, bool)) -> std::cmp::Ordering {
    other_weight.total_cmp(&weight).then(generic.cmp(&other_generic))
}

/// The answer's text in `range`, on one line and shortened around the middle if long.
fn quote_range(text: &str, (start, end): (usize, usize)) -> Quote {
    let raw = &text[start..end];
    // Most quotes are a short run of ASCII words with single spaces: already what the general
    // path below would make of them.
    if raw.len() <= MAX_QUOTE_CHARS && is_plain(raw.as_bytes()) {
        return Quote::new(raw);
    }
    collapse_quote(raw)
}

/// ASCII without line breaks or tabs, and no space at either end or next to another: one
/// pass, where searching for a double space alone cost more. Eight bytes at a time while none
/// of them is a control character, as in nearly every quote.
fn is_plain(raw: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // True at the start, so that a leading space fails like a double one.
    let mut after_space = true;
    let mut chunks = raw.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // High bit set per byte that is non-ASCII or below 0x20 (exact for ASCII bytes).
        let unusual = (word | word.wrapping_sub(ONES * 0x20)) & HIGH;
        if unusual != 0 {
            // Rare: check this chunk byte by byte.
            for &byte in chunk {
                if !plain_byte(byte, &mut after_space) {
                    return false;
                }
            }
            continue;
        }
        // High bit set per space byte: `spaces` is exact once every byte is ASCII.
        let flipped = word ^ (ONES * b' ' as u64);
        let spaces = !((flipped & !HIGH).wrapping_add(!HIGH) | flipped) & HIGH;
        let space_before = (spaces << 8) | u64::from(after_space) << 7;
        if spaces & space_before != 0 {
            return false;
        }
        after_space = spaces >> 63 != 0;
    }
    for &byte in chunks.remainder() {
        if !plain_byte(byte, &mut after_space) {
            return false;
        }
    }
    !after_space
}

/// One byte of `is_plain`.
fn plain_byte(byte: u8, after_space: &mut bool) -> bool {
    if !byte.is_ascii() || matches!(byte, b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        return false;
    }
    let space = byte == b' ';
    if space && *after_space {
        return false;
    }
    *after_space = space;
    true
}

/// `raw` on one line with single spaces, shortened around the middle if long.
fn collapse_quote(raw: &str) -> Quote {
    let mut collapsed = Quote::with_capacity(raw.len());
    let mut chars = 0;
    for word in raw.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
            chars += 1;
        }
        collapsed.push_str(word);
        chars += word.chars().count();
    }
    if chars <= MAX_QUOTE_CHARS {
        return collapsed;
    }
    let half = MAX_QUOTE_CHARS / 2;
    let head: String = collapsed.chars().take(half).collect();
    let tail: String = collapsed.chars().skip(chars - half).collect();
    compact_str::format_compact!("{} \u{2026} {}", head.trim_end(), tail.trim_start())
}

/// Bytes that may make a line notation; all others are skipped with one table lookup.
#[cfg(test)]
const NOTATION_CANDIDATE: [bool; 256] = {
    let mut special = [false; 256];
    let bytes = b"\n{}()=/>\xe2";
    let mut i = 0;
    while i < bytes.len() {
        special[bytes[i] as usize] = true;
        i += 1;
    }
    special
};

/// The expert answers and the held-out answers of `tests/fixtures`, for tests that compare two
/// ways of computing one thing over real text.
#[cfg(test)]
fn fixture_texts() -> Vec<String> {
    let mut texts = Vec::new();
    for dir in ["tests/fixtures/answers", "tests/fixtures/holdout"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(dir).unwrap() {
            texts.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
    }
    texts
}

/// Per line of the first `lines`, whether the tokenizer found notation on it; lines past
/// the last word's are left out.
fn notation_by_line(notation_lines: &[u32], lines: usize) -> Vec<bool> {
    let mut notation = vec![false; lines];
    for &line in notation_lines {
        if let Some(notation) = notation.get_mut(line as usize) {
            *notation = true;
        }
    }
    notation
}

/// Per line, for the first `lines` lines: is it notation? Reads every byte: the oracle that the
/// tokenizer's notation lines are tested against.
#[cfg(test)]
fn notation_lines_reference(text: &str, lines: usize) -> Vec<bool> {
    let mut notation = vec![false; lines];
    if lines == 0 {
        return notation;
    }
    let bytes = text.as_bytes();
    let mut line = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        if !NOTATION_CANDIDATE[byte as usize] {
            continue;
        }
        match byte {
            b'\n' => {
                line += 1;
                if line == lines {
                    break;
                }
            }
            b'{' | b'}' | b'(' | b')' | b'=' | b'/' => notation[line] = true,
            b'>' if i > 0 && bytes[i - 1] == b'-' => notation[line] = true,
            // E2 86 92 is "\u{2192}" and only that, in valid UTF-8.
            0xe2 if bytes[i + 1..].starts_with(&[0x86, 0x92]) => notation[line] = true,
            _ => {}
        }
    }
    notation
}

/// An answer tokenised once, ready to be graded against any question or step.
pub struct Answer<'t> {
    text: &'t str,
    phrases: &'t matcher::Phrases,
    memo: std::cell::RefCell<matcher::Memo>,
    tokens: Vec<Token>,
    words: matcher::WordIndex,
    /// Per line: does it read as a bare list (no sentence, no reasoning)?
    bare_line: Vec<bool>,
    /// Fewer than a quarter of the lines give a reason: a precondition of the buzzword flag, so
    /// terse notes with some reasoning are not taken for a list of buzzwords.
    mostly_unreasoned: bool,
    quantities: Vec<(usize, usize)>,
}

impl Answer<'_> {
    pub fn word_count(&self) -> usize {
        self.tokens.len()
    }

    fn index(&self) -> Index<'_> {
        Index::new(&self.tokens, &self.words, self.phrases, &self.memo)
    }
}

/// The spans an evaluation quotes, at most `MAX_EVIDENCE`: kept inline, as a vector for them
/// was an allocation per rubric item.
#[derive(Default)]
struct EvidenceSpans {
    spans: [Span; MAX_EVIDENCE],
    len: usize,
}

impl EvidenceSpans {
    fn len(&self) -> usize {
        self.len
    }

    fn spans(&self) -> &[Span] {
        &self.spans[..self.len]
    }

    /// Adds a span; the caller keeps to `MAX_EVIDENCE`.
    fn push(&mut self, span: Span) {
        self.spans[self.len] = span;
        self.len += 1;
    }
}

/// Which rubric steps to grade.
enum Scope<'s> {
    Whole,
    Steps(&'s [String]),
}

impl Grader {
    pub fn new(content: Content) -> Self {
        let mut compiler = Compiler::new(&content.concepts);
        let compile_all = |compiler: &mut Compiler<'_>, patterns: &[crate::content::pattern::Pattern]| {
            patterns.iter().map(|pattern| compiler.pattern(pattern)).collect::<Vec<_>>()
        };
        let questions = content
            .questions
            .iter()
            .map(|question| CompiledQuestion {
                items: question
                    .items
                    .iter()
                    .map(|item| CompiledItem {
                        patterns: compile_all(&mut compiler, &item.any),
                        design_step: content.lexicon.buzzword_flag.steps.iter().any(|step| **step == *item.step),
                    })
                    .collect(),
                plan: std::sync::OnceLock::new(),
            })
            .collect();
        let checks = content
            .checklist
            .iter()
            .map(|check| CompiledCheck { patterns: compile_all(&mut compiler, &check.any) })
            .collect();
        let flags = content
            .red_flags
            .iter()
            .map(|flag| CompiledFlag {
                any: compile_all(&mut compiler, &flag.any),
                unless: compile_all(&mut compiler, &flag.unless),
                with_any: compile_all(&mut compiler, &flag.with_any),
            })
            .collect();
        let reasoning = compile_all(&mut compiler, &content.lexicon.reasoning);
        let lexicon = &content.lexicon;
        let mut intern_set =
            |words: &[String]| -> Vec<u32> { words.iter().map(|w| compiler.vocabulary.intern(w)).collect() };
        let negation = intern_set(&lexicon.negations);
        let dismissal = intern_set(&lexicon.dismissals);
        let dismissal_verb = intern_set(&lexicon.dismissal_verbs);
        let clause_break = intern_set(&lexicon.clause_breaks);
        let function = intern_set(&lexicon.function_words);
        // "10K", "5 TB" and "200ms" all reach the grader as a number followed by a unit word.
        let unit = intern_set(&lexicon.units);
        let dictionary_word = compiler.dictionary_words;
        let phrases = compiler.phrases;
        let vocabulary = compiler.vocabulary;
        let size = vocabulary.len() + 1;
        let to_set = |ids: &[u32]| {
            let mut set = vec![false; size];
            for &id in ids {
                set[id as usize] = true;
            }
            set
        };
        Grader {
            classes: WordClasses { clause_break: to_set(&clause_break), dictionary_word: to_set(&dictionary_word) },
            words: WordSets {
                negation: to_set(&negation),
                dismissal: to_set(&dismissal),
                dismissal_verb: to_set(&dismissal_verb),
                function: to_set(&function),
                unit: to_set(&unit),
            },
            reasoning,
            questions,
            checks,
            flags,
            vocabulary,
            phrases,
            content,
        }
    }

    pub fn content(&self) -> &Content {
        &self.content
    }

    #[cfg(test)]
    pub(crate) fn tokenizer_parts(&self) -> (&text::Vocabulary, &WordClasses) {
        (&self.vocabulary, &self.classes)
    }

    /// Finds a question by id, suggesting the closest id when there is none.
    pub fn question(&self, id: &str) -> Result<&Question, GradeError> {
        self.content.question(id).ok_or_else(|| GradeError::UnknownQuestion {
            wanted: id.to_string(),
            suggestion: crate::content::closest(id, self.content.questions.iter().map(|q| q.id.as_str()))
                .map(str::to_string),
        })
    }

    /// Tokenises an answer and classifies its lines, once for any number of gradings.
    pub fn analyze<'t>(&'t self, text: &'t str) -> Answer<'t> {
        let mut tokens = Vec::with_capacity(text.len() / 5 + 1);
        let notation_lines = text::tokenize(text, &self.vocabulary, &self.classes, &mut tokens);
        let words = matcher::WordIndex::build(&tokens, self.vocabulary.len() + 1);
        let mut answer = Answer {
            text,
            phrases: &self.phrases,
            memo: std::cell::RefCell::new(matcher::Memo::new(&self.phrases)),
            tokens,
            words,
            bare_line: Vec::new(),
            mostly_unreasoned: false,
            quantities: Vec::new(),
        };
        answer.quantities = self.find_quantities(&answer);
        let (bare_line, written, with_reasons) = self.classify_lines(&answer, &notation_lines);
        answer.bare_line = bare_line;
        answer.mostly_unreasoned = with_reasons * 4 < written;
        answer
    }

    /// Numbers with units, as byte ranges of the answer: "10K RPS", "3 TB", "99.9%", "$5".
    fn find_quantities(&self, answer: &Answer<'_>) -> Vec<(usize, usize)> {
        let text = answer.text;
        let tokens = &answer.tokens;
        let mut found = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            if !token.numeric {
                continue;
            }
            let (start, mut end) = (token.start as usize, token.end as usize);
            // Up to three unit words may follow: "10K RPS", "5 TB per year".
            let mut units = 0;
            while units < 3 {
                let Some(next) = tokens.get(i + 1 + units) else { break };
                let gap = &text[end..next.start as usize];
                if !has(&self.words.unit, next.id) || next.hard_before || gap.len() > 2 || gap.contains('\n') {
                    break;
                }
                end = next.end as usize;
                units += 1;
            }
            let percent = units == 0 && text[end..].starts_with('%');
            let dollar = text[..start].ends_with('$');
            if units > 0 || percent || dollar {
                let start = if dollar { start - 1 } else { start };
                let end = if percent { end + 1 } else { end };
                found.push((start, end));
            }
        }
        found
    }

    /// Per line, whether it reads as a bare list; and how many lines have words and reasons.
    fn classify_lines(&self, answer: &Answer<'_>, notation_lines: &[u32]) -> (Vec<bool>, usize, usize) {
        let lines = answer.tokens.last().map_or(0, |token| token.line as usize + 1);
        let mut words = vec![0usize; lines];
        let mut function = vec![0usize; lines];
        let mut separators = vec![0usize; lines];
        let mut reasoned = vec![false; lines];
        let notation = notation_by_line(notation_lines, lines);
        for (i, token) in answer.tokens.iter().enumerate() {
            let line = token.line as usize;
            words[line] += 1;
            if has(&self.words.function, token.id) {
                function[line] += 1;
            }
            let same_line_before = i > 0 && answer.tokens[i - 1].line == token.line;
            if token.hard_before && same_line_before {
                separators[line] += 1;
            }
        }
        let index = answer.index();
        let mut spans = Vec::new();
        for pattern in &self.reasoning {
            index.occurrences(pattern, &mut spans);
            for span in &spans {
                reasoned[answer.tokens[span.start as usize].line as usize] = true;
            }
        }
        let bare: Vec<bool> = (0..lines)
            .map(|line| {
                let comma_list = separators[line] >= 2 && separators[line] * 3 >= words[line];
                !reasoned[line] && !notation[line] && (function[line] < 2 || comma_list)
            })
            .collect();
        let written = (0..lines).filter(|&line| words[line] > 0).count();
        let with_reasons = (0..lines).filter(|&line| words[line] > 0 && reasoned[line]).count();
        (bare, written, with_reasons)
    }

    fn quote(&self, answer: &Answer<'_>, span: Span) -> Quote {
        let first = &answer.tokens[span.start as usize];
        let last = &answer.tokens[span.end.saturating_sub(1).max(span.start) as usize];
        quote_range(answer.text, (first.start as usize, last.end as usize))
    }

    fn negated(&self, tokens: &[Token], span: Span) -> bool {
        let start = span.start as usize;
        let clause = tokens[start].clause;
        for i in (start.saturating_sub(NEGATION_WINDOW_BEFORE)..start).rev() {
            if tokens[i].clause != clause {
                break;
            }
            if has(&self.words.negation, tokens[i].id) {
                return true;
            }
        }
        let end = span.end as usize;
        let clause = tokens[end - 1].clause;
        let after = &tokens[end..tokens.len().min(end + DISMISSAL_WINDOW_AFTER)];
        for (offset, token) in after.iter().enumerate() {
            if token.clause != clause {
                break;
            }
            if has(&self.words.dismissal, token.id) {
                return true;
            }
            if has(&self.words.negation, token.id)
                && after[offset + 1..]
                    .iter()
                    .take(2)
                    .any(|next| next.clause == clause && has(&self.words.dismissal_verb, next.id))
            {
                return true;
            }
        }
        false
    }

    /// Distinct patterns credited (counted up to `enough`), the spans to quote, and whether all
    /// of the evidence is bare. Stops early once the outcome and the quotes cannot change.
    fn evaluate(
        &self,
        answer: &Answer<'_>,
        patterns: &[CompiledPattern],
        negatable: bool,
        enough: usize,
        spans: &mut Vec<Span>,
    ) -> (usize, EvidenceSpans, bool) {
        let index = answer.index();
        let mut matched = 0;
        let mut evidence = EvidenceSpans::default();
        let mut bare = true;
        for pattern in patterns {
            if matched >= enough && evidence.len() >= MAX_EVIDENCE && !bare {
                break;
            }
            index.occurrences(pattern, spans);
            let mut credited = false;
            for &span in spans.iter() {
                if negatable && self.negated(&answer.tokens, span) {
                    continue;
                }
                credited = true;
                if !answer.bare_line[answer.tokens[span.start as usize].line as usize] {
                    bare = false;
                }
                if evidence.len() < MAX_EVIDENCE && !evidence.spans().contains(&span) {
                    evidence.push(span);
                }
                if !bare && evidence.len() >= MAX_EVIDENCE {
                    break;
                }
            }
            if credited {
                matched += 1;
            }
        }
        (matched, evidence, bare)
    }

    /// Quotes for evidence spans, one per distinct text. Only credited items show evidence,
    /// so callers quote only then: quoting is much of the cost of a grade.
    fn quotes(&self, answer: &Answer<'_>, evidence: &[Span]) -> Vec<Quote> {
        let mut quotes: Vec<Quote> = Vec::with_capacity(evidence.len());
        for &span in evidence {
            let quote = self.quote(answer, span);
            if !quotes.contains(&quote) {
                quotes.push(quote);
            }
        }
        quotes
    }

    /// Grades `text` against one step of a question (its rubric steps are those the step
    /// covers in the question's default framework), or against the whole question.
    pub fn grade(&self, question_id: &str, step: Option<&str>, text: &str) -> Result<Grade, GradeError> {
        let answer = self.analyze(text);
        self.grade_answer(question_id, step, &answer)
    }

    pub fn grade_answer(
        &self,
        question_id: &str,
        step: Option<&str>,
        answer: &Answer<'_>,
    ) -> Result<Grade, GradeError> {
        let question = self.question(question_id)?;
        let scope = match step {
            None => Scope::Whole,
            Some(step_id) => Scope::Steps(self.step_covers(question, step_id)?),
        };
        Ok(self.grade_scope(question, step.map(str::to_string), scope, answer))
    }

    /// The rubric steps a step id stands for: a step of the question's own framework, or of
    /// any other framework (practising the question in, say, the 4-step framework).
    fn step_covers<'s>(&'s self, question: &'s Question, step_id: &str) -> Result<&'s [String], GradeError> {
        let own = self.content.framework(&question.framework);
        if let Some(step) = own.and_then(|framework| framework.step(step_id)) {
            return Ok(std::slice::from_ref(&step.id));
        }
        self.content
            .frameworks
            .iter()
            .find_map(|framework| framework.step(step_id))
            .map(|step| step.covers.as_slice())
            .ok_or_else(|| GradeError::UnknownStep {
                question: question.id.clone(),
                wanted: step_id.to_string(),
                steps: own
                    .map(|framework| framework.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
            })
    }

    /// Grades against the rubric steps that a framework step covers.
    pub fn grade_covered(&self, question: &Question, step: &str, covers: &[String], answer: &Answer<'_>) -> Grade {
        self.grade_scope(question, Some(step.to_string()), Scope::Steps(covers), answer)
    }

    /// The plan for grading against a question: its items', the checklist's and the red flags'
    /// phrases.
    fn plan<'g>(&'g self, compiled: &'g CompiledQuestion) -> &'g matcher::Plan {
        compiled.plan.get_or_init(|| {
            let items = compiled.items.iter().flat_map(|item| &item.patterns);
            let checks = self.checks.iter().flat_map(|check| &check.patterns);
            let flags = self.flags.iter().flat_map(|flag| flag.any.iter().chain(&flag.unless).chain(&flag.with_any));
            matcher::Plan::new(
                &self.phrases,
                items.chain(checks).chain(flags).flat_map(CompiledPattern::phrase_ids),
                self.vocabulary.len() + 1,
            )
        })
    }

    fn grade_scope(&self, question: &Question, step: Option<String>, scope: Scope<'_>, answer: &Answer<'_>) -> Grade {
        let question_index = self
            .content
            .questions
            .iter()
            .position(|q| std::ptr::eq(q, question))
            .or_else(|| self.content.questions.iter().position(|q| q.id == question.id))
            .unwrap_or(0);
        let compiled = &self.questions[question_index];
        // A step asks about a fraction of the question's phrases: looking those up one by one
        // costs less than finding all of them.
        if matches!(scope, Scope::Whole) {
            answer.index().run_plan(self.plan(compiled));
        }
        let in_scope = |item: &RubricItem| match scope {
            Scope::Whole => true,
            Scope::Steps(steps) => steps.iter().any(|step| **step == *item.step),
        };
        let mut spans = Vec::new();
        // Sized up front: growing a vector of item results step by step cost more than
        // grading some of the items.
        let mut items = Vec::with_capacity(question.items.len());
        let mut bare_flags = Vec::with_capacity(question.items.len());
        let mut design_hits = 0;
        for (item, compiled_item) in question.items.iter().zip(&compiled.items) {
            if !in_scope(item) {
                continue;
            }
            let (matched, evidence, bare) =
                self.evaluate(answer, &compiled_item.patterns, item.negatable, item.at_least, &mut spans);
            let hit = matched >= item.at_least;
            let design_step = compiled_item.design_step;
            bare_flags.push(hit && bare && design_step);
            design_hits += usize::from(hit && design_step);
            items.push(ItemResult {
                rubric: item.clone(),
                hit,
                weight: item.weight,
                credit: if hit { 1.0 } else { 0.0 },
                evidence: if hit { self.quotes(answer, evidence.spans()) } else { Vec::new() },
            });
        }
        let bare_hits = bare_flags.iter().filter(|&&bare| bare).count();
        let buzzword_list =
            answer.mostly_unreasoned && bare_hits >= BUZZWORD_MIN_BARE_HITS && bare_hits * 2 > design_hits;
        let mut red_flags = self.red_flags(answer, &mut spans);
        if buzzword_list {
            let flag = &self.content.lexicon.buzzword_flag;
            let evidence = items
                .iter()
                .zip(&bare_flags)
                .filter(|(_, bare)| **bare)
                .filter_map(|(item, _)| item.evidence.first().cloned())
                .take(MAX_EVIDENCE + 2)
                .collect();
            red_flags.push(RedFlagResult {
                id: flag.id.clone(),
                label: flag.label.clone(),
                why: flag.why.clone(),
                evidence,
            });
            for (item, bare) in items.iter_mut().zip(&bare_flags) {
                if *bare {
                    item.credit = BARE_CREDIT;
                }
            }
        }
        let total: f64 = items.iter().map(|item| item.weight).sum();
        let earned: f64 = items.iter().map(|item| item.weight * item.credit).sum();
        let mut score = if total > 0.0 { (100.0 * earned / total).round() as u32 } else { 0 };
        if buzzword_list {
            score = score.min(BUZZWORD_CAP);
        }
        Grade {
            question: question.id.clone(),
            step,
            framework: question.framework.clone(),
            score: score.min(100),
            items,
            red_flags,
            checklist: self.checklist(answer, &mut spans),
            quantities: answer.quantities.iter().map(|&range| quote_range(answer.text, range)).collect(),
            words: answer.word_count(),
        }
    }

    fn checklist(&self, answer: &Answer<'_>, spans: &mut Vec<Span>) -> Vec<CheckResult> {
        self.content
            .checklist
            .iter()
            .zip(&self.checks)
            .map(|(check, compiled)| {
                let (matched, spans_to_quote, _) =
                    self.evaluate(answer, &compiled.patterns, true, check.at_least, spans);
                let quantities_ok = answer.quantities.len() >= check.quantities_at_least;
                let ticked = matched >= check.at_least && quantities_ok;
                let mut evidence = Vec::new();
                if ticked {
                    evidence = self.quotes(answer, spans_to_quote.spans());
                    if check.quantities_at_least > 0 {
                        evidence.extend(
                            answer.quantities.iter().take(MAX_EVIDENCE).map(|&range| quote_range(answer.text, range)),
                        );
                    }
                }
                CheckResult {
                    id: check.id.clone(),
                    label: check.label.clone(),
                    ticked,
                    evidence,
                    hint: (!ticked && !check.hint.is_empty()).then(|| check.hint.clone()),
                }
            })
            .collect()
    }

    fn red_flags(&self, answer: &Answer<'_>, spans: &mut Vec<Span>) -> Vec<RedFlagResult> {
        let index = answer.index();
        let mut raised = Vec::new();
        let mut unless_spans = Vec::new();
        for (flag, compiled) in self.content.red_flags.iter().zip(&self.flags) {
            if flag.without_quantities && !answer.quantities.is_empty() {
                continue;
            }
            if !compiled.with_any.is_empty()
                && !compiled.with_any.iter().any(|pattern| {
                    index.occurrences(pattern, spans);
                    !spans.is_empty()
                })
            {
                continue;
            }
            let mut excused_sentences = Vec::new();
            for pattern in &compiled.unless {
                index.occurrences(pattern, &mut unless_spans);
                excused_sentences.extend(unless_spans.iter().map(|span| answer.tokens[span.start as usize].sentence));
            }
            excused_sentences.sort_unstable();
            excused_sentences.dedup();
            let mut evidence: Vec<Quote> = Vec::new();
            for pattern in &compiled.any {
                index.occurrences(pattern, spans);
                for &span in spans.iter() {
                    if excused_sentences.binary_search(&answer.tokens[span.start as usize].sentence).is_ok() {
                        continue;
                    }
                    if evidence.len() >= MAX_EVIDENCE {
                        break;
                    }
                    let quote = self.quote(answer, span);
                    if !evidence.contains(&quote) {
                        evidence.push(quote);
                    }
                }
            }
            if !evidence.is_empty() {
                raised.push(RedFlagResult {
                    id: flag.id.clone(),
                    label: flag.label.clone(),
                    why: flag.why.clone(),
                    evidence,
                });
            }
        }
        raised
    }

    /// Does `text` credit the item on its own? Used to check a rubric's examples.
    pub fn credits(&self, question: &Question, item_id: &str, text: &str) -> Option<bool> {
        let question_index = self.content.questions.iter().position(|q| q.id == question.id)?;
        let position = question.items.iter().position(|item| &*item.id == item_id)?;
        let item = &question.items[position];
        let answer = self.analyze(text);
        let mut spans = Vec::new();
        let (matched, _, _) = self.evaluate(
            &answer,
            &self.questions[question_index].items[position].patterns,
            item.negatable,
            item.at_least,
            &mut spans,
        );
        Some(matched >= item.at_least)
    }

    /// Every rubric example that is not credited and near miss that is, as
    /// (origin, item id, problem) lines for `check` and the content tests.
    pub fn example_failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let mut seen_generic = Vec::new();
        for question in &self.content.questions {
            for item in &question.items {
                if item.generic {
                    if seen_generic.contains(&item.id) {
                        continue;
                    }
                    seen_generic.push(item.id.clone());
                }
                for example in item.examples.iter() {
                    if self.credits(question, &item.id, example) == Some(false) {
                        failures
                            .push(format!("{}: item `{}`: example is not credited: {example:?}", item.origin, item.id));
                    }
                }
                for near_miss in item.near_misses.iter() {
                    if self.credits(question, &item.id, near_miss) == Some(true) {
                        failures
                            .push(format!("{}: item `{}`: near miss is credited: {near_miss:?}", item.origin, item.id));
                    }
                }
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_quotes_are_what_collapsing_would_make() {
        let long = "word ".repeat(30);
        for raw in [
            "a short quote",
            "two  spaces",
            "line\nbreak",
            "tab\there",
            " lead",
            "trail ",
            "caf\u{e9} au lait",
            "x",
            long.trim_end(),
            "vertical\x0btab",
            "no\u{a0}break",
            "",
            " ",
            "a ",
            "a  b c",
            "a b  ",
            "eight ch  double space across a chunk boundary",
            "seven c  x",
            "a tab\tafter eight bytes and more words",
            " a leading space before a long quote",
            "a trailing space after a long quote ",
            "control \x01 byte and caf\u{e9} later in a longer quote",
            "1234567 12345678 123456789 a b c d e f g h",
        ] {
            assert_eq!(quote_range(raw, (0, raw.len())), collapse_quote(raw), "{raw:?}");
        }
    }

    #[test]
    fn plain_quotes_agree_with_collapsing_at_every_offset() {
        // Spaces, tabs, line breaks, control and non-ASCII characters at every position of
        // quotes up to a few chunks long, from a fixed pseudo-random sequence.
        let alphabet = [" ", " ", "a", "b", "\t", "\n", "\x01", "\u{e9}", "\u{a0}", "~"];
        let mut state = 0x2545_f491_u32;
        for _ in 0..20_000 {
            let mut raw = String::new();
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let len = state % 40;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                // Mostly letters and single spaces, as in answers.
                let pick = state % 40;
                raw.push_str(if pick < 30 {
                    alphabet[(pick % 3) as usize + 1]
                } else {
                    alphabet[(pick - 30) as usize]
                });
            }
            assert_eq!(quote_range(&raw, (0, raw.len())), collapse_quote(&raw), "{raw:?}");
        }
    }

    #[test]
    fn phrases_found_in_one_pass_are_those_found_one_by_one() {
        let grader = Grader::new(crate::content::load(&crate::content::Source::Embedded).unwrap());
        let mut texts = fixture_texts();
        texts.push("Read-\nreplicas, read replica; no cache. URL shortener: url, URLs, a 301 redirect".to_string());
        let mut compared = 0;
        for (question, compiled) in grader.questions.iter().enumerate().step_by(3) {
            let plan = grader.plan(compiled);
            for text in texts.iter().skip(question % 4).step_by(4) {
                let planned = grader.analyze(text);
                planned.index().run_plan(plan);
                let alone = grader.analyze(text);
                for &id in plan.phrase_ids() {
                    let spans = planned.index().spans_of(id);
                    compared += spans.len();
                    assert_eq!(spans, alone.index().spans_of(id), "phrase {id} in {text:?}");
                }
            }
        }
        assert!(compared > 10_000, "only {compared} occurrences compared");
    }

    #[test]
    fn notation_lines_are_those_with_notation_characters() {
        let mut texts = fixture_texts();
        texts.extend(
            [
                "",
                "\n",
                "a -> b\nc - > d\n-\n>",
                "x \u{2192} y\n\u{2190}\n\u{2191}",
                "f(x)\n\n/\n=\n{}",
                "\u{e9}\u{2192}",
            ]
            .map(str::to_string),
        );
        for text in &texts {
            for lines in [0, 1, 2, 3, text.split('\n').count(), text.split('\n').count() + 1] {
                let mut expected = vec![false; lines];
                for (line, text) in text.split('\n').enumerate().take(lines) {
                    expected[line] = text.contains(['{', '}', '(', ')', '=', '/', '\u{2192}']) || text.contains("->");
                }
                assert_eq!(notation_lines_reference(text, lines), expected, "{text:?} {lines}");
            }
        }
        let grader = Grader::new(crate::content::load(&crate::content::Source::Embedded).unwrap());
        let mut tokens = Vec::new();
        for text in &texts {
            let notation_lines = text::tokenize(text, &grader.vocabulary, &grader.classes, &mut tokens);
            let lines = tokens.last().map_or(0, |token| token.line as usize + 1);
            assert_eq!(notation_by_line(&notation_lines, lines), notation_lines_reference(text, lines), "{text:?}");
        }
    }
}
