//! The terminal front end: reading answers from files or stdin and rendering grades as text.

pub mod practice;

use crate::grading::Grade;
use std::io::Read;
use std::path::Path;

/// Answers larger than this are refused: no interview answer is a megabyte long.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AnswerError {
    #[error("{name} is empty; write your answer in it first")]
    Empty { name: String },
    #[error(
        "{name} is {bytes} bytes; answers are limited to {MAX_ANSWER_BYTES} bytes (1 MiB), so trim it to what you would say in an interview"
    )]
    TooLarge { name: String, bytes: usize },
    #[error("{name} looks like a binary file, not a text answer; save the answer as plain UTF-8 text")]
    Binary { name: String },
    #[error("cannot read {name}: {message}")]
    Unreadable { name: String, message: String },
}

/// Turns raw bytes into answer text, refusing what is not a text answer.
pub fn decode_answer(name: &str, bytes: &[u8]) -> Result<String, AnswerError> {
    if bytes.len() > MAX_ANSWER_BYTES {
        return Err(AnswerError::TooLarge { name: name.to_string(), bytes: bytes.len() });
    }
    if bytes.contains(&0) {
        return Err(AnswerError::Binary { name: name.to_string() });
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => {
            // A stray Latin-1 byte is tolerated; a file that is mostly not UTF-8 is not text.
            let lossy = String::from_utf8_lossy(bytes);
            let replaced = lossy.chars().filter(|&c| c == char::REPLACEMENT_CHARACTER).count();
            if replaced * 20 > lossy.chars().count().max(1) {
                return Err(AnswerError::Binary { name: name.to_string() });
            }
            lossy.into_owned()
        }
    };
    let control = text.chars().filter(|c| c.is_control() && !c.is_whitespace()).count();
    if control * 20 > text.chars().count().max(1) {
        return Err(AnswerError::Binary { name: name.to_string() });
    }
    if text.trim().is_empty() {
        return Err(AnswerError::Empty { name: name.to_string() });
    }
    Ok(text)
}

/// Reads an answer from a file, or from stdin for `-`.
pub fn read_answer(path: &Path) -> Result<String, AnswerError> {
    let name = if path == Path::new("-") { "stdin".to_string() } else { path.display().to_string() };
    let mut bytes = Vec::new();
    let limit = MAX_ANSWER_BYTES as u64 + 1;
    let result = if path == Path::new("-") {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes))
    };
    result.map_err(|error| AnswerError::Unreadable { name: name.clone(), message: error.to_string() })?;
    if bytes.len() > MAX_ANSWER_BYTES {
        let bytes = if path == Path::new("-") {
            bytes.len()
        } else {
            std::fs::metadata(path).map(|m| m.len() as usize).unwrap_or(bytes.len())
        };
        return Err(AnswerError::TooLarge { name, bytes });
    }
    decode_answer(&name, &bytes)
}

/// A bar of `width` cells for a 0-100 score.
pub fn score_bar(score: u32, width: usize) -> String {
    let filled = (score.min(100) as usize * width + 50) / 100;
    format!("{}{}", "\u{2588}".repeat(filled), "\u{2591}".repeat(width - filled))
}

fn quotes(evidence: &[crate::grading::Quote]) -> String {
    evidence.iter().map(|quote| format!("\u{201c}{quote}\u{201d}")).collect::<Vec<_>>().join(", ")
}

/// The readable report of one grade.
pub fn render_grade(grade: &Grade, title: &str) -> String {
    let mut out = String::new();
    let scope = match &grade.step {
        Some(step) => format!("step {step}"),
        None => "whole answer".to_string(),
    };
    out.push_str(&format!("{title} ({}) \u{2014} {scope}\n", grade.question));
    out.push_str(&format!("Score {:>3}/100  {}\n", grade.score, score_bar(grade.score, 20)));
    out.push_str(&render_items(grade, Missed::All));
    out.push_str("\nInterview checklist:\n");
    for check in &grade.checklist {
        let mark = if check.ticked { "\u{2713}" } else { "\u{2717}" };
        out.push_str(&format!("  {mark} {}", check.label));
        if check.ticked {
            if !check.evidence.is_empty() {
                out.push_str(&format!(": {}", quotes(&check.evidence)));
            }
        } else if let Some(hint) = &check.hint {
            out.push_str(&format!(" \u{2014} {hint}"));
        }
        out.push('\n');
    }
    out
}

/// Which missed items a report lists.
#[derive(Debug, Clone, Copy)]
pub enum Missed {
    /// Every one, in rubric order: what a rubric author checks.
    All,
    /// The most important few: what a learner can act on before the next attempt.
    MostImportant(usize),
}

/// Covered items with their evidence, missed items with their hints, and red flags.
pub fn render_items(grade: &Grade, missed: Missed) -> String {
    let mut out = String::new();
    let hits: Vec<_> = grade.hits().collect();
    let (misses, not_listed) = match missed {
        Missed::All => (grade.misses().collect(), 0),
        Missed::MostImportant(count) => {
            let mut misses = grade.misses_by_importance();
            let not_listed = misses.len().saturating_sub(count);
            misses.truncate(count);
            (misses, not_listed)
        }
    };
    out.push_str(&format!("\nCovered ({}):\n", hits.len()));
    if hits.is_empty() {
        out.push_str("  nothing yet\n");
    }
    for item in hits {
        let bare = if item.credit < 1.0 { " (listed without a reason: partial credit)" } else { "" };
        out.push_str(&format!("  \u{2713} [{}] {}{bare}: {}\n", item.step(), item.label(), quotes(&item.evidence)));
    }
    out.push_str(&format!("\nMissed ({}):\n", misses.len() + not_listed));
    if misses.is_empty() {
        out.push_str("  nothing\n");
    }
    for item in misses {
        out.push_str(&format!(
            "  \u{2717} [{}] {} \u{2014} {}\n",
            item.step(),
            item.label(),
            item.hint().unwrap_or("")
        ));
    }
    if not_listed > 0 {
        out.push_str(&format!("  \u{2026} and {not_listed} that weigh less; cover these first\n"));
    }
    if !grade.red_flags.is_empty() {
        out.push_str("\nRed flags:\n");
        for flag in &grade.red_flags {
            out.push_str(&format!("  \u{2691} {}: {}\n    {}\n", flag.label, quotes(&flag.evidence), flag.why));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_an_answer() {
        assert!(matches!(decode_answer("a", b""), Err(AnswerError::Empty { .. })));
        assert!(matches!(decode_answer("a", b"  \n\t "), Err(AnswerError::Empty { .. })));
        assert!(matches!(decode_answer("a", b"\x7fELF\x02\x01\x00\x00"), Err(AnswerError::Binary { .. })));
        assert!(matches!(decode_answer("a", &[0xff; 64]), Err(AnswerError::Binary { .. })));
        let huge = vec![b'a'; MAX_ANSWER_BYTES + 1];
        assert!(matches!(decode_answer("a", &huge), Err(AnswerError::TooLarge { .. })));
        assert_eq!(
            decode_answer("a", b"a caf\xe9 with a cache and a queue").unwrap(),
            "a caf\u{fffd} with a cache and a queue"
        );
    }

    #[test]
    fn a_learner_sees_the_heaviest_misses_first_and_not_all_of_them() {
        let grader = crate::grading::Grader::new(crate::content::load(&crate::content::Source::Embedded).unwrap());
        let grade = grader.grade("url-shortener", Some("high-level"), "client -> LB -> app servers -> DB").unwrap();
        let all_misses = grade.misses().count();
        assert!(all_misses > 6, "a two-word answer misses most of the step");
        let report = render_items(&grade, Missed::MostImportant(6));
        let listed: Vec<&str> = report.lines().filter(|line| line.starts_with("  \u{2717}")).collect();
        assert_eq!(listed.len(), 6);
        assert!(report.contains(&format!("Missed ({all_misses}):")));
        assert!(report.contains(&format!("and {} that weigh less", all_misses - 6)));
        let heaviest = grade.misses().map(|item| item.weight).fold(0.0, f64::max);
        let first = grade.misses_by_importance()[0];
        assert_eq!(first.weight, heaviest);
        assert!(listed[0].contains(first.label()));
        let everything = render_items(&grade, Missed::All);
        assert_eq!(everything.lines().filter(|line| line.starts_with("  \u{2717}")).count(), all_misses);
    }

    #[test]
    fn bar_has_fixed_width() {
        assert_eq!(score_bar(0, 10).chars().count(), 10);
        assert_eq!(score_bar(100, 10), "\u{2588}".repeat(10));
        assert_eq!(score_bar(50, 10).chars().filter(|&c| c == '\u{2588}').count(), 5);
    }
}
