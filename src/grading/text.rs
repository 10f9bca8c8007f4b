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
    strip_inflection(out);
}

fn has_vowel(word: &[u8]) -> bool {
    word.iter().any(|b| b"aeiouy".contains(b))
}

fn strip_inflection(word: &mut String) {
    let bytes = word.as_bytes();
    let n = bytes.len();
    if n >= 5 && (word.ends_with("ies") || word.ends_with("ied")) {
        word.truncate(n - 3);
        word.push('y');
        return;
    }
    if word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") && !word.ends_with("is") {
        word.truncate(n - 1);
    } else if n >= 6 && word.ends_with("ing") && has_vowel(&bytes[..n - 3]) {
        word.truncate(n - 3);
        undouble(word);
    } else if n >= 5 && word.ends_with("ed") && has_vowel(&bytes[..n - 2]) {
        word.truncate(n - 2);
        undouble(word);
    }
    if word.len() >= 4 && word.ends_with('e') {
        word.pop();
    }
}

/// "running" -> "runn" -> "run", "shipped" -> "shipp" -> "ship"; but "polling" keeps "poll".
fn undouble(word: &mut String) {
    let bytes = word.as_bytes();
    let n = bytes.len();
    if n >= 3 && bytes[n - 1] == bytes[n - 2] && !b"aeioulsz".contains(&bytes[n - 1]) {
        word.pop();
    }
}

/// Word ids: every word a pattern or the lexicon mentions gets one; all other words are 0.
#[derive(Debug, Default, Clone)]
pub struct Vocabulary {
    ids: FxHashMap<Box<str>, u32>,
}

pub const UNKNOWN: u32 = 0;

impl Vocabulary {
    /// The id of an already-normalised word, adding it if new.
    pub fn intern_normalized(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.ids.len() as u32 + 1;
        self.ids.insert(word.into(), id);
        id
    }

    pub fn intern(&mut self, word: &str) -> u32 {
        let mut normalized = String::new();
        normalize_word(word, &mut normalized);
        self.intern_normalized(&normalized)
    }

    pub fn get(&self, normalized: &str) -> u32 {
        self.ids.get(normalized).copied().unwrap_or(UNKNOWN)
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

/// Splits `text` into tokens, looking each word up in `vocabulary`.
pub fn tokenize(text: &str, vocabulary: &Vocabulary, classes: &WordClasses, tokens: &mut Vec<Token>) {
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
        let byte = bytes[index];
        let c = if byte < 0x80 {
            byte as char
        } else {
            match text[index..].chars().next() {
                Some(c) => c,
                None => break,
            }
        };
        if c.is_alphanumeric() {
            let start = index;
            let numeric = c.is_ascii_digit();
            let mut end = index + c.len_utf8();
            while let Some(next) = text[end..].chars().next() {
                if next.is_alphanumeric() {
                    end += next.len_utf8();
                    continue;
                }
                let after = text[end + next.len_utf8()..].chars().next();
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
                let humped = text[start..end].chars().skip(1).any(char::is_uppercase);
                if humped && {
                    normalize_word(&text[start..end], &mut word);
                    !classes.in_dictionary(vocabulary.get(&word))
                } {
                    // "VehicleFactory" is two words, unless the whole is known ("WebSocket").
                    camel_case_pieces(text, start, end, &mut pieces);
                } else {
                    pieces.push((start, end, false));
                }
            }
            for &(piece_start, piece_end, piece_numeric) in &pieces {
                let raw = &text[piece_start..piece_end];
                if piece_numeric {
                    word.clear();
                    word.extend(raw.chars().filter(|&c| c != ','));
                } else {
                    normalize_word(raw, &mut word);
                }
                let id = vocabulary.get(&word);
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
}
