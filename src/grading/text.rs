//! Turning text into comparable words: lower-casing, inflection stripping, tokenising with
//! clause, sentence and line boundaries, and spotting numbers with units.

use rustc_hash::FxHashMap;

/// Lower-cases `word` into `out` and strips plural and common inflections, so that "caches",
/// "cached" and "caching" all become "cach", and "replicas" becomes "replica".
///
/// The result is a key, not an English word: patterns and answers both go through it, so all
/// that matters is that forms of one word meet and different words stay apart.
pub fn normalize_word(word: &str, out: &mut String) {
    out.clear();
    let mut buffer = [0u8; MAX_FAST_WORD];
    if let Some(len) = normalize_ascii(word, &mut buffer) {
        out.extend(buffer[..len].iter().map(|&byte| char::from(byte)));
        return;
    }
    normalize_general(word, out);
}

/// `normalize_word` for any word, one char at a time.
fn normalize_general(word: &str, out: &mut String) {
    out.clear();
    for c in word.chars() {
        match c {
            '\u{2019}' | '\u{2018}' | '`' => out.push('\''),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
    }
    if let Some(stem) = out.strip_suffix("'s") {
        let len = stem.len();
        out.truncate(len);
    }
    if out.len() < 3 || !out.bytes().all(|b| b.is_ascii_lowercase()) {
        return;
    }
    let (len, ends_in_y) = stem(out.as_bytes());
    out.truncate(len);
    if ends_in_y {
        out.pop();
        out.push('y');
    }
}

/// Longest word normalised on the stack; longer or non-ASCII words take the general path.
const MAX_FAST_WORD: usize = 32;

/// `normalize_word` for a short ASCII word, into `buffer` without allocating: nearly every word
/// of an answer comes this way. Returns the length, or None for other words.
fn normalize_ascii(word: &str, buffer: &mut [u8; MAX_FAST_WORD]) -> Option<usize> {
    let bytes = word.as_bytes();
    if bytes.len() > MAX_FAST_WORD || !bytes.is_ascii() {
        return None;
    }
    for (to, &byte) in buffer.iter_mut().zip(bytes) {
        *to = if byte == b'`' { b'\'' } else { byte.to_ascii_lowercase() };
    }
    let mut len = bytes.len();
    if buffer[..len].ends_with(b"'s") {
        len -= 2;
    }
    if len < 3 || !buffer[..len].iter().all(u8::is_ascii_lowercase) {
        return Some(len);
    }
    let (stemmed, ends_in_y) = stem(&buffer[..len]);
    if ends_in_y {
        buffer[stemmed - 1] = b'y';
    }
    Some(stemmed)
}

fn has_vowel(word: &[u8]) -> bool {
    word.iter().any(|b| b"aeiouy".contains(b))
}

/// The length of a lower-case word without its inflection, and whether its last letter then
/// becomes "y" ("queries" -> "query").
#[inline(always)]
fn stem(word: &[u8]) -> (usize, bool) {
    let n = word.len();
    let Some(&last) = word.last() else { return (0, false) };
    let before_last = if n >= 2 { word[n - 2] } else { 0 };
    // Every rule strips an ending in "s", "d", "g" or "e", so the last letter picks the rule.
    let mut len = match last {
        b's' => {
            if n >= 5 && before_last == b'e' && word[n - 3] == b'i' {
                return (n - 2, true);
            }
            if matches!(before_last, b's' | b'u' | b'i') { n } else { n - 1 }
        }
        b'd' if before_last == b'e' && n >= 5 => {
            if word[n - 3] == b'i' {
                return (n - 2, true);
            }
            if has_vowel(&word[..n - 2]) { undouble(&word[..n - 2]) } else { n }
        }
        b'g' if n >= 6 && word[n - 3..n - 1] == *b"in" && has_vowel(&word[..n - 3]) => undouble(&word[..n - 3]),
        b'd' | b'g' | b'e' => n,
        _ => return (n, false),
    };
    if len >= 4 && word[len - 1] == b'e' {
        len -= 1;
    }
    (len, false)
}

/// "running" -> "runn" -> "run", "shipped" -> "shipp" -> "ship"; but "polling" keeps "poll".
fn undouble(word: &[u8]) -> usize {
    let n = word.len();
    if n >= 3 && word[n - 1] == word[n - 2] && !b"aeioulsz".contains(&word[n - 1]) { n - 1 } else { n }
}

/// Word ids: every word a pattern or the lexicon mentions gets one; all other words are 0.
#[derive(Debug, Default, Clone)]
pub struct Vocabulary {
    ids: FxHashMap<Box<str>, u32>,
    /// The words of up to 15 bytes again, keyed by `short_key`: nearly all words are that short,
    /// and this table is looked up once per word of every answer.
    short: ShortWords,
}

/// A word of up to 15 bytes and its length, packed into two integers: its first 8 bytes, then
/// the next 7 with the length on top.
type ShortKey = (u64, u64);

fn short_key(word: &[u8]) -> Option<ShortKey> {
    if word.len() > 15 {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..word.len()].copy_from_slice(word);
    bytes[15] = word.len() as u8;
    Some(split_key(bytes))
}

fn split_key(bytes: [u8; 16]) -> ShortKey {
    let key = u128::from_le_bytes(bytes);
    (key as u64, (key >> 64) as u64)
}

/// An open-addressing table from `ShortKey`s to ids, probed linearly and never more than half
/// full. It does what an `FxHashMap<u128, u32>` did at a fraction of the instructions per
/// lookup: one multiply to hash and two compares per probe, with no control bytes.
#[derive(Debug, Clone)]
struct ShortWords {
    /// A power of two long; an id of `UNKNOWN` marks a free slot, which ends every probe.
    slots: Vec<ShortSlot>,
    /// 64 minus log2 of the slot count: the hash's top bits pick the first slot.
    shift: u32,
    len: usize,
}

#[derive(Debug, Default, Clone, Copy)]
struct ShortSlot {
    key: ShortKey,
    id: u32,
}

impl Default for ShortWords {
    fn default() -> Self {
        Self::with_slots(16)
    }
}

impl ShortWords {
    fn with_slots(count: usize) -> Self {
        ShortWords { slots: vec![ShortSlot::default(); count], shift: 64 - count.trailing_zeros(), len: 0 }
    }

    fn first_slot(&self, (low, high): ShortKey) -> usize {
        // Fibonacci hashing: the top bits of the product depend on every bit of the key.
        ((low ^ high.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    fn get(&self, key: ShortKey) -> u32 {
        let mask = self.slots.len() - 1;
        let mut index = self.first_slot(key);
        loop {
            let slot = self.slots[index];
            if slot.key == key || slot.id == UNKNOWN {
                return slot.id;
            }
            index = (index + 1) & mask;
        }
    }

    fn insert(&mut self, key: ShortKey, id: u32) {
        if 2 * (self.len + 1) > self.slots.len() {
            let old = std::mem::replace(self, Self::with_slots(2 * self.slots.len()));
            for slot in old.slots.into_iter().filter(|slot| slot.id != UNKNOWN) {
                self.insert(slot.key, slot.id);
            }
        }
        let mask = self.slots.len() - 1;
        let mut index = self.first_slot(key);
        while self.slots[index].id != UNKNOWN && self.slots[index].key != key {
            index = (index + 1) & mask;
        }
        if self.slots[index].id == UNKNOWN {
            self.len += 1;
        }
        self.slots[index] = ShortSlot { key, id };
    }
}

pub const UNKNOWN: u32 = 0;

/// Masks keeping the first `len` bytes of a word's two key halves, by `len` up to 15.
const KEY_MASKS: [ShortKey; 16] = {
    let mut masks = [(0, 0); 16];
    let mut len = 1;
    while len < 16 {
        masks[len] = if len <= 8 { (u64::MAX >> (64 - 8 * len), 0) } else { (u64::MAX, u64::MAX >> (128 - 8 * len)) };
        len += 1;
    }
    masks
};

impl Vocabulary {
    /// The id of an already-normalised word, adding it if new.
    pub fn intern_normalized(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.ids.len() as u32 + 1;
        self.ids.insert(word.into(), id);
        if let Some(key) = short_key(word.as_bytes()) {
            self.short.insert(key, id);
        }
        id
    }

    pub fn intern(&mut self, word: &str) -> u32 {
        let mut normalized = String::new();
        normalize_word(word, &mut normalized);
        self.intern_normalized(&normalized)
    }

    pub fn get(&self, normalized: &str) -> u32 {
        match short_key(normalized.as_bytes()) {
            Some(key) => self.short.get(key),
            None => self.ids.get(normalized).copied().unwrap_or(UNKNOWN),
        }
    }

    /// The id of an answer's word, normalising it first.
    fn lookup(&self, raw: &str, scratch: &mut String) -> u32 {
        let mut buffer = [0u8; MAX_FAST_WORD];
        match normalize_ascii(raw, &mut buffer) {
            Some(len) => self.get_buffered(&buffer, len),
            None => {
                normalize_word(raw, scratch);
                self.get(scratch)
            }
        }
    }

    /// `get` for a normalised word known to be ASCII.
    fn get_ascii(&self, normalized: &[u8]) -> u32 {
        match short_key(normalized) {
            Some(key) => self.short.get(key),
            None => std::str::from_utf8(normalized).map_or(UNKNOWN, |word| self.get(word)),
        }
    }

    /// `get_ascii` for the first `len` bytes of `buffer`: its key is read whole and masked
    /// rather than copied byte by byte. Bytes past `len` may be anything.
    #[inline(always)]
    fn get_buffered(&self, buffer: &[u8; MAX_FAST_WORD], len: usize) -> u32 {
        let Some(&(low_mask, high_mask)) = KEY_MASKS.get(len) else {
            return self.get_ascii(&buffer[..len.min(MAX_FAST_WORD)]);
        };
        let mut head = [0u8; 16];
        head.copy_from_slice(&buffer[..16]);
        let (low, high) = split_key(head);
        self.short.get((low & low_mask, high & high_mask | (len as u64) << 56))
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// One word of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub id: u32,
    /// Byte range in the answer.
    pub start: u32,
    pub end: u32,
    /// Punctuation such as `,` `:` `(` stands between this token and the previous one, so a
    /// phrase may not run across.
    pub hard_before: bool,
    pub clause: u32,
    pub sentence: u32,
    pub line: u32,
    /// Digits first: "10k", "99.9", "301".
    pub numeric: bool,
}

/// What the tokenizer needs to know about words beyond their ids.
#[derive(Debug, Default, Clone)]
pub struct WordClasses {
    /// Indexed by word id.
    pub clause_break: Vec<bool>,
    /// Words of the concept dictionary: "WebSocket" stays one word because "websocket" is one,
    /// while an unknown "VehicleFactory" is read as "vehicle factory".
    pub dictionary_word: Vec<bool>,
}

impl WordClasses {
    fn breaks_clause(&self, id: u32) -> bool {
        self.clause_break.get(id as usize).copied().unwrap_or(false)
    }

    fn in_dictionary(&self, id: u32) -> bool {
        self.dictionary_word.get(id as usize).copied().unwrap_or(false)
    }
}

/// Length of the leading number of a word that starts with a digit: "10" of "10k",
/// "99.9" of "99.9", "1,000" of "1,000rps".
pub fn number_prefix_len(word: &str) -> usize {
    let bytes = word.as_bytes();
    let mut end = 0;
    while end < bytes.len() {
        let byte = bytes[end];
        let joins = (byte == b'.' || byte == b',') && end > 0 && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if byte.is_ascii_digit() || joins {
            end += 1;
        } else {
            break;
        }
    }
    end
}

/// Splits a word at its camel-case humps: "ParkingLot" -> "Parking", "Lot"; "HTTPServer" ->
/// "HTTP", "Server". A word without humps is one piece.
fn camel_case_pieces(text: &str, start: usize, end: usize, pieces: &mut Vec<(usize, usize, bool)>) {
    let word = &text[start..end];
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut piece_start = 0;
    for i in 1..chars.len() {
        let (offset, c) = chars[i];
        let previous = chars[i - 1].1;
        let next_is_lower = chars.get(i + 1).is_some_and(|(_, n)| n.is_lowercase());
        // "URLs", "APIs", "ISPs" are plural acronyms, not "UR Ls".
        let plural_acronym = chars.len() == i + 2 && chars[i + 1].1 == 's';
        let hump = c.is_uppercase()
            && (previous.is_lowercase() || previous.is_uppercase() && next_is_lower && !plural_acronym);
        if hump && !word[..offset].contains('\'') {
            pieces.push((start + piece_start, start + offset, false));
            piece_start = offset;
        }
    }
    pieces.push((start + piece_start, end, false));
}

/// Whether `camel_case_pieces` would split `word`, a run of ASCII letters.
fn has_camel_hump(word: &[u8]) -> bool {
    (1..word.len()).any(|i| {
        let previous = word[i - 1];
        let next_is_lower = word.get(i + 1).is_some_and(u8::is_ascii_lowercase);
        let plural_acronym = word.len() == i + 2 && word[i + 1] == b's';
        word[i].is_ascii_uppercase()
            && (previous.is_ascii_lowercase() || previous.is_ascii_uppercase() && next_is_lower && !plural_acronym)
    })
}

fn is_bullet_start(rest: &str) -> bool {
    let rest = rest.trim_start_matches([' ', '\t']);
    let mut chars = rest.chars();
    match chars.next() {
        Some('-' | '*' | '+' | '#' | '>' | '|' | '\u{2022}') => true,
        Some(c) if c.is_ascii_digit() => {
            let tail = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            tail.starts_with(". ") || tail.starts_with(") ")
        }
        _ => false,
    }
}

/// The character at byte `index` of `text` (a char boundary), if any. Answers are nearly all
/// ASCII, so a byte is tried before decoding.
fn char_at(text: &str, index: usize) -> Option<char> {
    match text.as_bytes().get(index) {
        None => None,
        Some(&byte) if byte < 0x80 => Some(char::from(byte)),
        Some(_) => text[index..].chars().next(),
    }
}

/// Boundaries seen so far, and since the previous token.
#[derive(Default)]
struct Boundaries {
    clause: u32,
    sentence: u32,
    line: u32,
    pending_clause: bool,
    pending_sentence: bool,
    /// The lines with a notation character, in order.
    notation_lines: Vec<u32>,
}

/// Whether the non-word character `c` at byte `index` makes its line notation: endpoints, code
/// and arrow diagrams are notation, not lists of buzzwords.
fn is_notation(text: &str, index: usize, c: char) -> bool {
    matches!(c, '{' | '}' | '(' | ')' | '=' | '/' | '\u{2192}') || c == '>' && text.as_bytes()[..index].ends_with(b"-")
}

impl Boundaries {
    fn note_notation(&mut self) {
        if self.notation_lines.last() != Some(&self.line) {
            self.notation_lines.push(self.line);
        }
    }

    /// Notes the non-word character `c` at byte `index`.
    fn punctuation(&mut self, text: &str, index: usize, c: char) {
        if is_notation(text, index, c) {
            self.note_notation();
        }
        match c {
            '\n' => {
                self.line += 1;
                let rest = &text[index + 1..];
                let blank = rest.bytes().find(|byte| !matches!(byte, b' ' | b'\t' | b'\r')) == Some(b'\n');
                // Only these bytes can begin a bullet ('\u{2022}' begins with 0xe2), so most
                // lines need no closer look.
                let may_be_bullet = rest
                    .bytes()
                    .find(|byte| !matches!(byte, b' ' | b'\t'))
                    .is_some_and(|byte| matches!(byte, b'-' | b'*' | b'+' | b'#' | b'>' | b'|' | b'0'..=b'9' | 0xe2));
                if blank || may_be_bullet && is_bullet_start(rest) {
                    self.pending_sentence = true;
                }
            }
            '.' | '!' | '?' => {
                // "bit.ly" and "node.js" are not sentence ends.
                let next = text[index + 1..].chars().next();
                if next.is_none_or(|n| !n.is_alphanumeric()) {
                    self.pending_sentence = true;
                }
            }
            ';' => self.pending_sentence = true,
            // "100:1" and "10:30" keep their numbers together.
            ':' if text[..index].ends_with(|c: char| c.is_ascii_digit())
                && text[index + 1..].starts_with(|c: char| c.is_ascii_digit()) => {}
            ',' | ':' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | '\u{201c}' | '\u{201d}' | '=' | '<' | '>'
            | '\u{2192}' | '\u{2190}' => self.pending_clause = true,
            _ => {}
        }
    }

    /// Starts a word: returns whether a hard boundary stands before it.
    fn start_word(&mut self) -> bool {
        if self.pending_sentence {
            self.sentence += 1;
        }
        let hard_before = self.pending_clause || self.pending_sentence;
        self.pending_clause = false;
        self.pending_sentence = false;
        hard_before
    }

    fn push(
        &mut self,
        tokens: &mut Vec<Token>,
        classes: &WordClasses,
        piece: (usize, usize, bool),
        id: u32,
        hard_before: bool,
    ) {
        if hard_before || classes.breaks_clause(id) {
            self.clause += 1;
        }
        tokens.push(Token {
            id,
            start: piece.0 as u32,
            end: piece.1 as u32,
            hard_before,
            clause: self.clause,
            sentence: self.sentence,
            line: self.line,
            numeric: piece.2,
        });
    }
}

/// What the tokenizer's main loop does with a byte.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ByteClass {
    /// Spaces and the ASCII punctuation that marks no boundary.
    Skip,
    Letter,
    /// ASCII punctuation that always ends a clause, as `Boundaries::punctuation` would find.
    ClauseMark,
    /// ".", "!" and "?", which end a sentence unless a word goes on ("bit.ly", "node.js").
    SentenceMark,
    /// Other ASCII punctuation that `Boundaries::punctuation` acts on.
    Boundary,
    /// Digits and the bytes of non-ASCII characters: the general path decodes them.
    General,
    /// "/", which only makes its line notation.
    Slash,
}

const BYTE_CLASSES: [ByteClass; 256] = {
    let mut classes = [ByteClass::Skip; 256];
    let mut byte = 0;
    while byte < 256 {
        classes[byte] = match byte as u8 {
            b'a'..=b'z' | b'A'..=b'Z' => ByteClass::Letter,
            b'0'..=b'9' | 0x80.. => ByteClass::General,
            b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b'=' | b'<' | b'>' => ByteClass::ClauseMark,
            b'.' | b'!' | b'?' => ByteClass::SentenceMark,
            b'\n' | b';' | b':' => ByteClass::Boundary,
            b'/' => ByteClass::Slash,
            _ => ByteClass::Skip,
        };
        byte += 1;
    }
    classes
};

/// Eight copies of a byte value, for working on eight bytes of text at once.
const fn lanes(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// The eight bytes of `bytes` from `at`, little-endian, padded with zeros past the end.
fn chunk_at(bytes: &[u8], at: usize) -> u64 {
    let rest = bytes.get(at..).unwrap_or_default();
    match rest.first_chunk::<8>() {
        Some(chunk) => u64::from_le_bytes(*chunk),
        None => {
            let mut padded = [0u8; 8];
            padded[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(padded)
        }
    }
}

/// The top bit of each byte of `chunk` that is an ASCII letter, the others clear.
fn letter_lanes(chunk: u64) -> u64 {
    // Folded to lower case with the top bit cleared, each byte is at most 0x7f, so adding at
    // most 0x1f carries into its own top bit and never into the next byte.
    let folded = (chunk | lanes(0x20)) & lanes(0x7f);
    let at_least_a = folded + lanes(0x80 - b'a');
    let past_z = folded + lanes(0x80 - b'z' - 1);
    at_least_a & !past_z & !chunk & lanes(0x80)
}

/// Splits `text` into tokens, looking each word up in `vocabulary`.
///
/// Nearly every word of an answer is a short run of ASCII letters: those are lower-cased and
/// stemmed as they are scanned, in one pass. Numbers, contractions, non-ASCII and camel-case
/// words take the general path.
/// Returns the lines with notation characters between the words, in order.
pub fn tokenize(text: &str, vocabulary: &Vocabulary, classes: &WordClasses, tokens: &mut Vec<Token>) -> Vec<u32> {
    tokens.clear();
    let bytes = text.as_bytes();
    let mut word = String::with_capacity(32);
    let mut pieces: Vec<(usize, usize, bool)> = Vec::with_capacity(4);
    let mut boundaries = Boundaries::default();
    let mut index = 0usize;
    while let Some(&byte) = bytes.get(index) {
        // One table read classes the byte; letters, which start nearly every token, come first.
        let class = BYTE_CLASSES[usize::from(byte)];
        if class == ByteClass::Letter {
            if let Some(resume) = plain_word(bytes, index, vocabulary, classes, &mut boundaries, tokens) {
                index = resume;
                continue;
            }
        } else if class == ByteClass::Skip {
            index += 1;
            continue;
        } else if class == ByteClass::ClauseMark {
            boundaries.pending_clause = true;
            if is_notation(text, index, char::from(byte)) {
                boundaries.note_notation();
            }
            index += 1;
            continue;
        } else if class == ByteClass::SentenceMark {
            let word_goes_on = match bytes.get(index + 1) {
                None => false,
                Some(&next) if next < 0x80 => next.is_ascii_alphanumeric(),
                Some(_) => text[index + 1..].chars().next().is_some_and(char::is_alphanumeric),
            };
            boundaries.pending_sentence |= !word_goes_on;
            index += 1;
            continue;
        } else if class == ByteClass::Boundary {
            boundaries.punctuation(text, index, char::from(byte));
            index += 1;
            continue;
        } else if class == ByteClass::Slash {
            boundaries.note_notation();
            index += 1;
            continue;
        } else if byte.is_ascii_digit()
            && let Some(end) = plain_number(bytes, index, vocabulary, classes, &mut boundaries, tokens)
        {
            index = end;
            continue;
        }
        let c = if byte < 0x80 {
            char::from(byte)
        } else {
            text[index..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER)
        };
        if c.is_alphanumeric() {
            index = general_word(text, index, c, vocabulary, classes, &mut boundaries, &mut word, &mut pieces, tokens);
            continue;
        }
        boundaries.punctuation(text, index, c);
        index += c.len_utf8();
    }
    boundaries.notation_lines
}

/// Tokenises the word starting with the ASCII letter at byte `start` if it is a plain one:
/// ASCII letters only, at most `MAX_FAST_WORD` of them, and no unknown camel-case compound.
/// Returns where the main loop resumes, or None for the general path.
///
/// The letters are read, lower-cased and checked for upper case eight at a time.
fn plain_word(
    bytes: &[u8],
    start: usize,
    vocabulary: &Vocabulary,
    classes: &WordClasses,
    boundaries: &mut Boundaries,
    tokens: &mut Vec<Token>,
) -> Option<usize> {
    let mut buffer = [0u8; MAX_FAST_WORD];
    let mut len = 0;
    // Nonzero once a letter after the first is upper case.
    let mut upper_case = 0u64;
    // The first letter's case does not matter: "Cache" is no compound.
    let mut first_letter = 0x80u64;
    for slot in buffer.chunks_exact_mut(8) {
        let chunk = chunk_at(bytes, start + len);
        let letters = letter_lanes(chunk);
        let others = !letters & lanes(0x80);
        let run = others.trailing_zeros() / 8;
        let before_others = others.wrapping_sub(1) & !others;
        slot.copy_from_slice(&(chunk | lanes(0x20)).to_le_bytes());
        // Upper-case letters lack bit 5, which the shift moves to the top of its byte.
        upper_case |= letters & !(chunk << 2) & before_others & !first_letter;
        first_letter = 0;
        len += run as usize;
        if run < 8 {
            break;
        }
    }
    let end = start + len;
    // A digit, an apostrophe or a non-ASCII character may continue the word, and a word of
    // more letters than the buffer holds is left to the general path.
    let resume = match bytes.get(end) {
        None => end,
        // The usual space after a word is passed over here, saving the main loop a round.
        Some(b' ') => end + 1,
        Some(&next)
            if matches!(
                BYTE_CLASSES[usize::from(next)],
                ByteClass::Skip
                    | ByteClass::ClauseMark
                    | ByteClass::SentenceMark
                    | ByteClass::Boundary
                    | ByteClass::Slash
            ) && next != b'\'' =>
        {
            end
        }
        Some(_) => return None,
    };
    let stemmed = stem_in_place(&mut buffer, len);
    let id = vocabulary.get_buffered(&buffer, stemmed);
    // Acronyms such as "URL" and "APIs" have no hump and stay one word like any other.
    if upper_case != 0 && !classes.in_dictionary(id) && has_camel_hump(&bytes[start..end]) {
        return None;
    }
    let hard_before = boundaries.start_word();
    boundaries.push(tokens, classes, (start, end, false), id, hard_before);
    Some(resume)
}

/// Stems the lower-case word in the first `len` bytes of `buffer` where it stands; returns the
/// stem's length. Words under three letters are left as they are.
#[inline(always)]
fn stem_in_place(buffer: &mut [u8; MAX_FAST_WORD], len: usize) -> usize {
    if len < 3 {
        return len;
    }
    let (stemmed, ends_in_y) = stem(&buffer[..len]);
    if ends_in_y {
        buffer[stemmed - 1] = b'y';
    }
    stemmed
}

/// Tokenises the number starting with the ASCII digit at byte `start` if it is a plain one:
/// digits with points or commas between them ("99.9", "1,000"), then maybe a unit of ASCII
/// letters ("10K", "200ms"). Returns its end, or None for the general path.
fn plain_number(
    bytes: &[u8],
    start: usize,
    vocabulary: &Vocabulary,
    classes: &WordClasses,
    boundaries: &mut Boundaries,
    tokens: &mut Vec<Token>,
) -> Option<usize> {
    let joins_digits =
        |at: usize| matches!(bytes.get(at), Some(b'.' | b',')) && bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
    // A number is looked up without its commas.
    let mut digits = [0u8; MAX_FAST_WORD];
    let mut digit_count = 0;
    let mut number_end = start;
    while let Some(&byte) = bytes.get(number_end) {
        if byte.is_ascii_digit() || joins_digits(number_end) {
            if byte != b',' {
                *digits.get_mut(digit_count)? = byte;
                digit_count += 1;
            }
            number_end += 1;
        } else {
            break;
        }
    }
    let mut unit = [0u8; MAX_FAST_WORD];
    let mut end = number_end;
    while let Some(&byte) = bytes.get(end).filter(|byte| byte.is_ascii_alphabetic()) {
        *unit.get_mut(end - number_end)? = byte.to_ascii_lowercase();
        end += 1;
    }
    // A digit, a non-ASCII character or a point before a digit would continue the word.
    let ends_here = bytes.get(end).is_none_or(|&next| next < 0x80 && !next.is_ascii_digit() && !joins_digits(end));
    if !ends_here {
        return None;
    }
    let hard_before = boundaries.start_word();
    let number_id = vocabulary.get_buffered(&digits, digit_count);
    boundaries.push(tokens, classes, (start, number_end, true), number_id, hard_before);
    if end > number_end {
        let stemmed = stem_in_place(&mut unit, end - number_end);
        let unit_id = vocabulary.get_buffered(&unit, stemmed);
        boundaries.push(tokens, classes, (number_end, end, false), unit_id, false);
    }
    Some(end)
}

/// Tokenises the word that starts at byte `start` with `c`, any word at all; returns its end.
#[allow(clippy::too_many_arguments)]
fn general_word(
    text: &str,
    start: usize,
    c: char,
    vocabulary: &Vocabulary,
    classes: &WordClasses,
    boundaries: &mut Boundaries,
    word: &mut String,
    pieces: &mut Vec<(usize, usize, bool)>,
    tokens: &mut Vec<Token>,
) -> usize {
    let numeric = c.is_ascii_digit();
    let mut end = start + c.len_utf8();
    while let Some(next) = char_at(text, end) {
        if next.is_alphanumeric() {
            end += next.len_utf8();
            continue;
        }
        let after = char_at(text, end + next.len_utf8());
        let joins = match next {
            // 99.9, 1,000 and 3.5 stay one number.
            '.' | ',' => numeric && after.is_some_and(|a| a.is_ascii_digit()),
            // don't, it's, user's
            '\'' | '\u{2019}' => !numeric && after.is_some_and(char::is_alphabetic),
            _ => false,
        };
        if !joins {
            break;
        }
        end += next.len_utf8();
    }
    let hard_before = boundaries.start_word();
    pieces.clear();
    if numeric {
        // "5TB", "10K" and "200ms" are a number and a unit word.
        let number_end = start + number_prefix_len(&text[start..end]);
        pieces.push((start, number_end, true));
        if number_end < end {
            pieces.push((number_end, end, false));
        }
    } else {
        let raw = &text[start..end];
        let humped = if raw.is_ascii() {
            raw.bytes().skip(1).any(|b| b.is_ascii_uppercase())
        } else {
            raw.chars().skip(1).any(char::is_uppercase)
        };
        if humped && !classes.in_dictionary(vocabulary.lookup(raw, word)) {
            // "VehicleFactory" is two words, unless the whole is known ("WebSocket").
            camel_case_pieces(text, start, end, pieces);
        } else {
            pieces.push((start, end, false));
        }
    }
    for &(piece_start, piece_end, piece_numeric) in pieces.iter() {
        let raw = &text[piece_start..piece_end];
        let id = if piece_numeric {
            // A number's piece is ASCII digits, points and commas.
            let mut digits = [0u8; MAX_FAST_WORD];
            let mut len = 0;
            for &byte in raw.as_bytes().iter().filter(|&&byte| byte != b',') {
                if let Some(slot) = digits.get_mut(len) {
                    *slot = byte;
                }
                len += 1;
            }
            if len <= MAX_FAST_WORD {
                vocabulary.get_buffered(&digits, len)
            } else {
                word.clear();
                word.extend(raw.chars().filter(|&c| c != ','));
                vocabulary.get(word)
            }
        } else {
            vocabulary.lookup(raw, word)
        };
        let first = piece_start == start;
        boundaries.push(tokens, classes, (piece_start, piece_end, piece_numeric), id, first && hard_before);
    }
    end
}

/// `stem` as first written, rule by rule: the oracle the one that dispatches on the last
/// letter is tested against.
#[cfg(test)]
fn stem_reference(word: &[u8]) -> (usize, bool) {
    let n = word.len();
    if n >= 5 && (word.ends_with(b"ies") || word.ends_with(b"ied")) {
        return (n - 2, true);
    }
    let mut len = n;
    if word.ends_with(b"s") && !word.ends_with(b"ss") && !word.ends_with(b"us") && !word.ends_with(b"is") {
        len = n - 1;
    } else if n >= 6 && word.ends_with(b"ing") && has_vowel(&word[..n - 3]) {
        len = undouble(&word[..n - 3]);
    } else if n >= 5 && word.ends_with(b"ed") && has_vowel(&word[..n - 2]) {
        len = undouble(&word[..n - 2]);
    }
    if len >= 4 && word[len - 1] == b'e' {
        len -= 1;
    }
    (len, false)
}

/// The tokenizer before its fast path for plain ASCII words: the oracle the fast one is
/// tested against.
#[cfg(test)]
fn tokenize_reference(text: &str, vocabulary: &Vocabulary, classes: &WordClasses, tokens: &mut Vec<Token>) {
    tokens.clear();
    let bytes = text.as_bytes();
    let mut word = String::with_capacity(32);
    let mut pieces: Vec<(usize, usize, bool)> = Vec::with_capacity(4);
    let mut clause = 0u32;
    let mut sentence = 0u32;
    let mut line = 0u32;
    // Boundaries seen since the previous token.
    let mut pending_clause = false;
    let mut pending_sentence = false;
    let mut index = 0usize;
    while index < bytes.len() {
        let Some(c) = char_at(text, index) else { break };
        if c.is_alphanumeric() {
            let start = index;
            let numeric = c.is_ascii_digit();
            let mut end = index + c.len_utf8();
            while let Some(next) = char_at(text, end) {
                if next.is_alphanumeric() {
                    end += next.len_utf8();
                    continue;
                }
                let after = char_at(text, end + next.len_utf8());
                let joins = match next {
                    // 99.9, 1,000 and 3.5 stay one number.
                    '.' | ',' => numeric && after.is_some_and(|a| a.is_ascii_digit()),
                    // don't, it's, user's
                    '\'' | '\u{2019}' => !numeric && after.is_some_and(char::is_alphabetic),
                    _ => false,
                };
                if !joins {
                    break;
                }
                end += next.len_utf8();
            }
            if pending_sentence {
                sentence += 1;
            }
            let hard_before = pending_clause || pending_sentence;
            pieces.clear();
            if numeric {
                // "5TB", "10K" and "200ms" are a number and a unit word.
                let number_end = start + number_prefix_len(&text[start..end]);
                pieces.push((start, number_end, true));
                if number_end < end {
                    pieces.push((number_end, end, false));
                }
            } else {
                let raw = &text[start..end];
                let humped = if raw.is_ascii() {
                    raw.bytes().skip(1).any(|b| b.is_ascii_uppercase())
                } else {
                    raw.chars().skip(1).any(char::is_uppercase)
                };
                if humped && !classes.in_dictionary(vocabulary.lookup(raw, &mut word)) {
                    // "VehicleFactory" is two words, unless the whole is known ("WebSocket").
                    camel_case_pieces(text, start, end, &mut pieces);
                } else {
                    pieces.push((start, end, false));
                }
            }
            for &(piece_start, piece_end, piece_numeric) in &pieces {
                let raw = &text[piece_start..piece_end];
                let id = if piece_numeric {
                    // A number's piece is ASCII digits, points and commas.
                    let mut digits = [0u8; MAX_FAST_WORD];
                    let mut len = 0;
                    for &byte in raw.as_bytes().iter().filter(|&&byte| byte != b',') {
                        if let Some(slot) = digits.get_mut(len) {
                            *slot = byte;
                        }
                        len += 1;
                    }
                    if len <= MAX_FAST_WORD {
                        vocabulary.get_ascii(&digits[..len])
                    } else {
                        word.clear();
                        word.extend(raw.chars().filter(|&c| c != ','));
                        vocabulary.get(&word)
                    }
                } else {
                    vocabulary.lookup(raw, &mut word)
                };
                let first = piece_start == start;
                if first && hard_before || classes.breaks_clause(id) {
                    clause += 1;
                }
                tokens.push(Token {
                    id,
                    start: piece_start as u32,
                    end: piece_end as u32,
                    hard_before: first && hard_before,
                    clause,
                    sentence,
                    line,
                    numeric: piece_numeric,
                });
            }
            pending_clause = false;
            pending_sentence = false;
            index = end;
            continue;
        }
        match c {
            '\n' => {
                line += 1;
                let rest = &text[index + 1..];
                let blank = rest.trim_start_matches([' ', '\t', '\r']).starts_with('\n');
                if blank || is_bullet_start(rest) {
                    pending_sentence = true;
                }
            }
            '.' | '!' | '?' => {
                // "bit.ly" and "node.js" are not sentence ends.
                let next = text[index + 1..].chars().next();
                if next.is_none_or(|n| !n.is_alphanumeric()) {
                    pending_sentence = true;
                }
            }
            ';' => pending_sentence = true,
            // "100:1" and "10:30" keep their numbers together.
            ':' if text[..index].ends_with(|c: char| c.is_ascii_digit())
                && text[index + 1..].starts_with(|c: char| c.is_ascii_digit()) => {}
            ',' | ':' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | '\u{201c}' | '\u{201d}' | '=' | '<' | '>'
            | '\u{2192}' | '\u{2190}' => pending_clause = true,
            _ => {}
        }
        index += c.len_utf8();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(word: &str) -> String {
        let mut out = String::new();
        normalize_word(word, &mut out);
        out
    }

    #[test]
    fn inflections_meet() {
        for group in [
            &["cache", "caches", "cached", "caching", "Cache"][..],
            &["replica", "replicas"],
            &["replicate", "replicated", "replicating", "replicates"],
            &["shard", "shards", "sharded", "sharding"],
            &["queue", "queues", "queued", "queuing", "queueing"],
            &["index", "indexes", "indexed", "indexing"],
            &["query", "queries", "queried"],
            &["retry", "retries", "retried", "retrying"],
            &["db", "dbs", "DBs"],
            &["poll", "polling", "polled"],
            &["ship", "shipping", "shipped"],
            &["database", "databases"],
            &["class", "classes"],
            &["user", "users", "user's"],
            &["partition", "partitions", "partitioned", "partitioning"],
        ] {
            let first = norm(group[0]);
            for word in group {
                assert_eq!(norm(word), first, "{word} should normalise like {}", group[0]);
            }
        }
    }

    #[test]
    fn the_ascii_path_normalises_like_the_general_one() {
        let words = [
            "Caches",
            "cached",
            "CACHING",
            "queries",
            "tied",
            "dies",
            "ies",
            "running",
            "shipped",
            "polling",
            "sing",
            "bed",
            "red",
            "user's",
            "USER'S",
            "it`s",
            "'s",
            "s",
            "ss",
            "us",
            "is",
            "bus",
            "status",
            "axis",
            "made",
            "the",
            "be",
            "free",
            "10k",
            "99.9",
            "don't",
            "x",
            "",
            "ThisIsAVeryLongIdentifierOfMoreThanThirtyTwoBytes",
        ];
        for word in words {
            let mut general = String::new();
            normalize_general(word, &mut general);
            assert_eq!(norm(word), general, "{word:?}");
        }
    }

    #[test]
    fn stem_agrees_with_the_reference() {
        // Every word of up to six letters from an alphabet that spells all the endings, vowels
        // and doubled consonants the rules look at.
        const LETTERS: &[u8] = b"aeiousdgnylt";
        let mut word = Vec::with_capacity(6);
        for len in 0..=6u32 {
            for mut number in 0..LETTERS.len().pow(len) {
                word.clear();
                for _ in 0..len {
                    word.push(LETTERS[number % LETTERS.len()]);
                    number /= LETTERS.len();
                }
                assert_eq!(stem(&word), stem_reference(&word), "{:?}", String::from_utf8_lossy(&word));
            }
        }
    }

    #[test]
    fn different_words_stay_apart() {
        for (a, b) in [("redis", "red"), ("status", "state"), ("string", "str"), ("server", "serve"), ("need", "ne")] {
            assert_ne!(norm(a), norm(b));
        }
    }

    #[test]
    fn camel_case_splits_unless_the_whole_word_is_known() {
        let mut vocabulary = Vocabulary::default();
        for word in ["websocket", "vehicle", "factory", "http", "server", "vehiclefactory"] {
            vocabulary.intern(word);
        }
        let mut tokens = Vec::new();
        let text = "WebSocket VehicleFactory HTTPServer iPhone URLs ISPs";
        let mut dictionary_word = vec![false; vocabulary.len() + 1];
        dictionary_word[vocabulary.get("websocket") as usize] = true;
        let classes = WordClasses { dictionary_word, ..WordClasses::default() };
        tokenize(text, &vocabulary, &classes, &mut tokens);
        let words: Vec<&str> = tokens.iter().map(|t| &text[t.start as usize..t.end as usize]).collect();
        assert_eq!(words, ["WebSocket", "Vehicle", "Factory", "HTTP", "Server", "i", "Phone", "URLs", "ISPs"]);
        assert!(!tokens[2].hard_before && !tokens[4].hard_before);
    }

    #[test]
    fn tokens_keep_numbers_contractions_and_boundaries() {
        let mut vocabulary = Vocabulary::default();
        for word in ["we", "don't", "need", "a", "cache", "99.9", "10k", "bit", "ly", "read", "replica"] {
            vocabulary.intern(word);
        }
        let classes = WordClasses::default();
        let mut tokens = Vec::new();
        let text = "We don't need a cache, 99.9% at 10K. bit.ly read-\nreplicas";
        tokenize(text, &vocabulary, &classes, &mut tokens);
        let words: Vec<&str> = tokens.iter().map(|t| &text[t.start as usize..t.end as usize]).collect();
        assert_eq!(
            words,
            ["We", "don't", "need", "a", "cache", "99.9", "at", "10", "K", "bit", "ly", "read", "replicas"]
        );
        assert!(
            tokens
                .iter()
                .all(|t| t.id != UNKNOWN || ["at", "10", "K"].contains(&&text[t.start as usize..t.end as usize]))
        );
        assert!(tokens[5].hard_before, "comma before 99.9");
        assert!(!tokens[8].hard_before, "10K is a number and its unit");
        assert!(!tokens[10].hard_before, "bit.ly is one clause");
        assert!(!tokens[12].hard_before, "hyphen and line break join a phrase");
        assert_eq!(tokens[9].sentence, tokens[8].sentence + 1);
        assert!(tokens[5].numeric && tokens[7].numeric && !tokens[8].numeric);
    }

    #[test]
    fn the_fast_tokenizer_agrees_with_the_reference() {
        let grader = crate::grading::Grader::new(crate::content::load(&crate::content::Source::Embedded).unwrap());
        let (vocabulary, classes) = grader.tokenizer_parts();
        let mut texts = crate::grading::fixture_texts();
        texts.extend(
            [
                "WebSocket VehicleFactory HTTPServer iPhone URLs ISPs APIs DBs TTL",
                "We don't need a cache, 99.9% at 10K. bit.ly read-\nreplicas",
                "user's users` it\u{2019}s caf\u{e9} na\u{ef}ve \u{2192} x\u{2190}y \u{201c}q\u{201d}",
                "abc1 a1b2 x'y x' 'x queries tied dies running shipped polling 100:1 10:30 1,000rps 5TB",
                "ThisIsAVeryLongIdentifierOfMoreThanThirtyTwoBytes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "- bullet\n1. one\n2) two\n\n  para; end! q? node.js e.g. U.S. x.Y",
                "\u{3b1}\u{3b2}\u{3b3} \u{393}\u{394}abc abc\u{e9}Def Zz zZ a",
                "abcdefgh abcdefghi abcdefghijklmno abcdefghijklmnop abcdefghijklmnopq Abcdefghijklmnopqrstuvwxyzabcde",
                "abcdefghijklmnopqrstuvwxyzabcdef abcdefghijklmnopqrstuvwxyzabcdefg abcdefghijklmnopqrstuvwxyzABCDEF",
                "abcdefghIjk abcdefgHijk abcdefghijklmnopQrs ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefgh1 abcdefgh' abcdefgh\u{e9}",
                "URL URLs APIs ISPs HTTPServer HTTPSs XMLHttpRequest NoSQL DynamoDB ZooKeeper aB Ab AB ABs ABS AbC aBC iOS",
                "HTTPs IDs TCPIP QPs QPS URLsX mySQL MySQL PostgreSQL GraphQL OAuth JWTs SSTables k8S K8s CRUDs",
                "1 12 1.5 1,000 1,000,000 1. 1, 1.x 1,x 10k 10K 5TB 200ms 3.5GB 10k5 10k.5 10k,5 1e5 99.9% 62^7 80/20",
                "5\u{b5}s 5\u{e9} 5\u{2192} 5' 5's 10queries 3replicas 7replied 100:1 2:30pm 12345678901234567890123456789012",
                "123456789012345678901234567890123 1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3 9",
                "1abcdefghijklmnopqrstuvwxyzabcdef 1abcdefghijklmnopqrstuvwxyzabcdefg v1 p99 sha256 x10 10x 4K/s 0.5",
                "relationships queries replicated caching shipped databases statuses Redis's node's x abcdefgh",
                "line one\r\n\r\nline two\r\n- bullet\r\n\t* tab bullet\n  \u{2022} dot\n \t\r\nafter\n12) twelve\n3.x\n|a|b|\n#",
                "`code` (paren) [square] {curly} \"quoted\" a=b a<b a>b x,y x;y x:y 10:30 a:1 1:a end.",
                "trailing words at the very end abc",
                "ab",
                "",
                "\u{feff}\u{0}\u{7f}word\u{80}\u{ff} \u{2019}s it\u{2019}s abc\u{2019} UPPER lower MiXeD",
            ]
            .map(str::to_string),
        );
        let (mut fast, mut reference) = (Vec::new(), Vec::new());
        for text in &texts {
            tokenize(text, vocabulary, classes, &mut fast);
            tokenize_reference(text, vocabulary, classes, &mut reference);
            assert_eq!(fast, reference, "{text:?}");
        }
    }
}
