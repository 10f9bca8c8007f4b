//! The validated content every other layer reads.

use super::pattern::Pattern;
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone)]
pub struct Content {
    pub frameworks: Vec<Framework>,
    /// Sorted by id.
    pub questions: Vec<Question>,
    pub concepts: Vec<Concept>,
    pub lexicon: Lexicon,
    pub checklist: Vec<Check>,
    pub red_flags: Vec<RedFlag>,
    pub quiz: Vec<QuizItem>,
}

impl Content {
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|question| question.id == id)
    }

    pub fn framework(&self, id: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|framework| framework.id == id)
    }

    pub fn rubric_item_count(&self) -> usize {
        self.questions.iter().map(|question| question.items.len()).sum()
    }

    pub fn quiz_topics(&self) -> Vec<&str> {
        let mut topics: Vec<&str> = self.quiz.iter().map(|item| item.topic.as_str()).collect();
        topics.sort_unstable();
        topics.dedup();
        topics
    }
}

/// Where a piece of content was written, for messages that send an author to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Clone)]
pub struct Framework {
    pub id: String,
    pub title: String,
    pub description: String,
    pub steps: Vec<Step>,
}

impl Framework {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.id == id)
    }

    pub fn total_minutes(&self) -> u32 {
        self.steps.iter().map(|step| step.minutes).sum()
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub minutes: u32,
    pub prompt: String,
    /// The rubric steps this step grades; its own id unless the file says otherwise.
    pub covers: Vec<String>,
}

impl Step {
    /// Does this step grade the rubric items of `rubric_step`?
    pub fn grades(&self, rubric_step: &str) -> bool {
        self.covers.iter().any(|covered| covered == rubric_step)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

impl Difficulty {
    pub const NAMES: [&'static str; 3] = ["easy", "medium", "hard"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "easy" => Some(Self::Easy),
            "medium" => Some(Self::Medium),
            "hard" => Some(Self::Hard),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

impl fmt::Display for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Question {
    pub id: String,
    pub title: String,
    pub difficulty: Difficulty,
    pub tags: Vec<String>,
    pub framework: String,
    pub scenario: String,
    /// Step id to prompt, in the order of the default framework.
    pub prompts: Vec<(String, String)>,
    /// The question's own items followed by the generic items for its steps.
    /// Shared, so that a grade's results refer to their items instead of copying their text.
    pub items: Vec<std::sync::Arc<RubricItem>>,
    pub origin: Origin,
}

impl Question {
    pub fn prompt(&self, step: &str) -> Option<&str> {
        self.prompts.iter().find(|(id, _)| id == step).map(|(_, prompt)| prompt.as_str())
    }
}

/// Shared text: generic items are part of every question and every grade quotes them.
pub type Text = std::sync::Arc<str>;

#[derive(Debug, Clone)]
pub struct RubricItem {
    pub id: Text,
    pub step: Text,
    pub label: Text,
    pub weight: f64,
    pub any: std::sync::Arc<[Pattern]>,
    pub at_least: usize,
    pub negatable: bool,
    pub hint: Text,
    pub why: Text,
    pub examples: std::sync::Arc<[String]>,
    pub near_misses: std::sync::Arc<[String]>,
    pub generic: bool,
    pub origin: Origin,
}

impl RubricItem {
    /// The concepts the item's patterns refer to, for progress by concept.
    pub fn concepts(&self) -> Vec<&str> {
        let mut concepts: Vec<&str> = self.any.iter().flat_map(|pattern| pattern.concepts()).collect();
        concepts.sort_unstable();
        concepts.dedup();
        concepts
    }
}

#[derive(Debug, Clone)]
pub struct Concept {
    pub id: String,
    pub label: String,
    /// The quiz topic that drills this concept, if any.
    pub quiz_topic: Option<String>,
    /// Terms and misspellings, as plain phrases.
    pub terms: Vec<Pattern>,
}

#[derive(Debug, Clone)]
pub struct Lexicon {
    pub negations: Vec<String>,
    pub dismissals: Vec<String>,
    pub dismissal_verbs: Vec<String>,
    pub clause_breaks: Vec<String>,
    pub function_words: Vec<String>,
    pub reasoning: Vec<Pattern>,
    pub units: Vec<String>,
    pub buzzword_flag: BuzzwordFlag,
}

#[derive(Debug, Clone)]
pub struct BuzzwordFlag {
    /// The rubric steps whose items count toward the flag.
    pub steps: Vec<String>,
    pub id: String,
    pub label: String,
    pub why: String,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub id: String,
    pub label: String,
    pub hint: String,
    pub any: Vec<Pattern>,
    pub at_least: usize,
    pub quantities_at_least: usize,
}

#[derive(Debug, Clone)]
pub struct RedFlag {
    pub id: String,
    pub label: String,
    pub why: String,
    pub any: Vec<Pattern>,
    pub unless: Vec<Pattern>,
    pub with_any: Vec<Pattern>,
    pub without_quantities: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuizItem {
    pub id: String,
    pub topic: String,
    pub difficulty: Difficulty,
    pub question: String,
    pub options: Vec<String>,
    /// Index into `options` of the right answer.
    pub answer: usize,
    pub explanation: String,
}

impl QuizItem {
    pub const LETTERS: [char; 4] = ['A', 'B', 'C', 'D'];

    pub fn answer_letter(&self) -> char {
        Self::LETTERS[self.answer]
    }
}
