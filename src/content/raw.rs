//! The TOML shapes of the content files, exactly as authors write them (see CONTENT.md).
//! Values that validation may complain about keep their span so errors can name the line.

use serde::Deserialize;
use toml::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworksFile {
    #[serde(default)]
    pub framework: Vec<RawFramework>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFramework {
    pub id: S<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub step: Vec<RawStep>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub id: S<String>,
    pub title: String,
    pub minutes: S<i64>,
    pub prompt: String,
    #[serde(default)]
    pub covers: Option<S<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionFile {
    pub id: S<String>,
    pub title: String,
    pub difficulty: S<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub framework: S<String>,
    pub scenario: String,
    pub prompts: S<toml::Table>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RubricFile {
    pub question: S<String>,
    #[serde(default)]
    pub item: Vec<RawItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericFile {
    #[serde(default)]
    pub item: Vec<RawItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    pub id: S<String>,
    pub step: S<String>,
    pub label: String,
    pub weight: S<f64>,
    pub any: S<Vec<S<String>>>,
    #[serde(default)]
    pub at_least: Option<S<i64>>,
    #[serde(default)]
    pub negatable: Option<bool>,
    pub hint: String,
    pub why: String,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub near_misses: Vec<String>,
    /// Generic items only: the frameworks whose questions get the item (default: all).
    #[serde(default)]
    pub frameworks: Option<S<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptsFile {
    #[serde(default)]
    pub concept: Vec<RawConcept>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConcept {
    pub id: S<String>,
    pub label: String,
    pub terms: S<Vec<S<String>>>,
    #[serde(default)]
    pub misspellings: Vec<S<String>>,
    #[serde(default)]
    pub quiz_topic: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistFile {
    #[serde(default)]
    pub check: Vec<RawCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub id: S<String>,
    pub label: String,
    #[serde(default)]
    pub hint: String,
    #[serde(default)]
    pub any: Vec<S<String>>,
    #[serde(default)]
    pub at_least: Option<S<i64>>,
    #[serde(default)]
    pub quantities_at_least: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedFlagsFile {
    #[serde(default)]
    pub flag: Vec<RawFlag>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlag {
    pub id: S<String>,
    pub label: String,
    pub why: String,
    #[serde(default)]
    pub any: Vec<S<String>>,
    #[serde(default)]
    pub unless: Vec<S<String>>,
    #[serde(default)]
    pub with_any: Vec<S<String>>,
    #[serde(default)]
    pub without_quantities: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconFile {
    pub negations: Vec<S<String>>,
    pub dismissals: Vec<S<String>>,
    pub dismissal_verbs: Vec<S<String>>,
    pub clause_breaks: Vec<S<String>>,
    pub function_words: Vec<S<String>>,
    pub reasoning: Vec<S<String>>,
    pub units: Vec<S<String>>,
    pub buzzword_flag: RawBuzzwordFlag,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuzzwordFlag {
    pub steps: Vec<String>,
    pub id: String,
    pub label: String,
    pub why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuizFile {
    #[serde(default)]
    pub item: Vec<RawQuizItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQuizItem {
    pub id: S<String>,
    pub topic: S<String>,
    pub difficulty: S<String>,
    pub question: S<String>,
    pub options: S<Vec<String>>,
    pub answer: S<String>,
    pub explanation: S<String>,
}
