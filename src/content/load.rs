//! Reading the content files and validating them into a `Content`.
//!
//! Every problem is collected (not only the first) and reported with its file and line, so an
//! author fixes a batch of mistakes in one round.

use super::model::*;
use super::pattern::{self, Pattern};
use super::raw::{self, S};
use super::{ContentError, ContentErrors};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_content.rs"));
}

/// Content files larger than this are refused: no honest rubric is that big.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Where to read the content from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The files compiled into the binary.
    Embedded,
    /// A directory holding `prompts/` and `rubrics/`.
    Directory(PathBuf),
}

struct File {
    path: String,
    text: Cow<'static, str>,
}

pub fn load(source: &Source) -> Result<Content, ContentErrors> {
    let files = match source {
        Source::Embedded => embedded::FILES
            .iter()
            .map(|(path, text)| File { path: (*path).to_string(), text: Cow::Borrowed(*text) })
            .collect(),
        Source::Directory(dir) => read_directory(dir)?,
    };
    let mut validator = Validator::default();
    let content = validator.build(&files);
    if validator.errors.is_empty() { Ok(content) } else { Err(ContentErrors(validator.errors)) }
}

fn read_directory(dir: &Path) -> Result<Vec<File>, ContentErrors> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for sub in ["prompts", "rubrics"] {
        let root = dir.join(sub);
        if !root.is_dir() {
            errors.push(ContentError::whole(
                root.display().to_string(),
                format!("the content directory {} has no `{sub}/` folder", dir.display()),
            ));
            continue;
        }
        let mut paths = Vec::new();
        if let Err(error) = walk(&root, &mut paths) {
            errors.push(ContentError::whole(root.display().to_string(), format!("cannot read it: {error}")));
        }
        paths.sort();
        for path in paths {
            let relative = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            match read_text(&path) {
                Ok(text) => files.push(File { path: relative, text: Cow::Owned(text) }),
                Err(message) => errors.push(ContentError::whole(relative, message)),
            }
        }
    }
    if errors.is_empty() { Ok(files) } else { Err(ContentErrors(errors)) }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

fn read_text(path: &Path) -> Result<String, String> {
    let size = std::fs::metadata(path).map_err(|error| format!("cannot read it: {error}"))?.len();
    if size > MAX_FILE_BYTES {
        return Err(format!("the file is {size} bytes; content files are limited to {MAX_FILE_BYTES} bytes, split it"));
    }
    let bytes = std::fs::read(path).map_err(|error| format!("cannot read it: {error}"))?;
    if bytes.contains(&0) {
        return Err("this is a binary file, not TOML text".into());
    }
    String::from_utf8(bytes).map_err(|error| {
        format!("the file is not UTF-8 text (invalid byte at offset {})", error.utf8_error().valid_up_to())
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset].iter().filter(|&&byte| byte == b'\n').count() + 1
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// The candidate closest to `wanted`, if it is close enough to be a plausible typo.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(wanted, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance <= (wanted.len().max(candidate.len()) / 2).max(2)
                || candidate.contains(wanted)
                || wanted.contains(candidate)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(wanted, candidates).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default()
}

fn is_slug(id: &str) -> bool {
    !id.is_empty()
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

#[derive(Default)]
struct Validator {
    errors: Vec<ContentError>,
}

/// One file being validated: its path and text, to turn spans into lines.
#[derive(Clone, Copy)]
struct At<'f> {
    path: &'f str,
    text: &'f str,
    /// Byte offsets where lines start, to turn spans into line numbers quickly.
    line_starts: &'f [usize],
}

impl At<'_> {
    fn line(&self, span: std::ops::Range<usize>) -> usize {
        self.line_starts.partition_point(|&start| start <= span.start).max(1)
    }

    fn origin(&self, span: std::ops::Range<usize>) -> Origin {
        Origin { file: self.path.to_string(), line: self.line(span) }
    }
}

impl Validator {
    fn error(&mut self, at: At<'_>, span: std::ops::Range<usize>, message: impl Into<String>) {
        self.errors.push(ContentError { file: at.path.to_string(), line: at.line(span), message: message.into() });
    }

    fn parse<T: DeserializeOwned>(&mut self, at: At<'_>) -> Option<T> {
        match toml::from_str::<T>(at.text) {
            Ok(value) => Some(value),
            Err(error) => {
                let line = error.span().map(|span| line_of(at.text, span.start)).unwrap_or(1);
                let message = error.message().trim().replace('\n', " ");
                self.errors.push(ContentError { file: at.path.to_string(), line, message });
                None
            }
        }
    }

    fn patterns(&mut self, at: At<'_>, sources: &[S<String>], operators: bool) -> Vec<Pattern> {
        let mut patterns = Vec::with_capacity(sources.len());
        for source in sources {
            match pattern::parse(source.get_ref(), operators) {
                Ok(pattern) => patterns.push(pattern),
                Err(error) => self.error(at, source.span(), format!("invalid pattern {:?}: {error}", source.get_ref())),
            }
        }
        patterns
    }

    fn words(&mut self, at: At<'_>, sources: &[S<String>]) -> Vec<String> {
        let mut words = Vec::with_capacity(sources.len());
        for source in sources {
            let word = source.get_ref();
            if word.is_empty() || word.contains(char::is_whitespace) || word.chars().any(char::is_uppercase) {
                self.error(at, source.span(), format!("{word:?} must be one lower-case word"));
            } else {
                words.push(word.clone());
            }
        }
        words
    }

    fn check_concepts(
        &mut self,
        at: At<'_>,
        span: std::ops::Range<usize>,
        patterns: &[Pattern],
        known: &FxHashSet<String>,
    ) {
        for pattern in patterns {
            for concept in pattern.concepts() {
                if !known.contains(concept) {
                    let hint = did_you_mean(concept, known.iter().map(String::as_str));
                    self.error(at, span.clone(), format!("unknown concept `@{concept}`{hint}"));
                }
            }
        }
    }

    fn at_least(&mut self, at: At<'_>, value: Option<&S<i64>>, patterns: usize) -> usize {
        let Some(value) = value else { return 1 };
        let n = *value.get_ref();
        if n < 1 || n as usize > patterns.max(1) {
            self.error(
                at,
                value.span(),
                format!("at_least = {n} must be between 1 and the number of patterns ({patterns})"),
            );
            return 1;
        }
        n as usize
    }

    fn build(&mut self, files: &[File]) -> Content {
        let mut frameworks_file = None;
        let mut concepts_file = None;
        let mut lexicon_file = None;
        let mut generic_file = None;
        let mut checklist_file = None;
        let mut red_flags_file = None;
        let mut question_files = Vec::new();
        let mut rubric_files = Vec::new();
        let mut quiz_files = Vec::new();
        let line_starts: Vec<Vec<usize>> = files
            .iter()
            .map(|file| std::iter::once(0).chain(file.text.match_indices('\n').map(|(i, _)| i + 1)).collect())
            .collect();
        for (file, line_starts) in files.iter().zip(&line_starts) {
            let at = At { path: &file.path, text: &file.text, line_starts };
            match file.path.as_str() {
                "prompts/frameworks.toml" => frameworks_file = Some(at),
                "rubrics/concepts.toml" => concepts_file = Some(at),
                "rubrics/lexicon.toml" => lexicon_file = Some(at),
                "rubrics/generic.toml" => generic_file = Some(at),
                "rubrics/checklist.toml" => checklist_file = Some(at),
                "rubrics/red_flags.toml" => red_flags_file = Some(at),
                path if path.starts_with("prompts/questions/") => question_files.push(at),
                path if path.starts_with("rubrics/questions/") => rubric_files.push(at),
                path if path.starts_with("prompts/quiz/") => quiz_files.push(at),
                _ => self.errors.push(ContentError::whole(
                    file.path.clone(),
                    "not a known content file; see CONTENT.md for where frameworks, questions, rubrics and quiz items go",
                )),
            }
        }
        let required = |file: Option<At<'_>>, path: &str, errors: &mut Vec<ContentError>| {
            if file.is_none() {
                errors.push(ContentError::whole(path.to_string(), "this required content file is missing"));
            }
        };
        required(frameworks_file, "prompts/frameworks.toml", &mut self.errors);
        required(concepts_file, "rubrics/concepts.toml", &mut self.errors);
        required(lexicon_file, "rubrics/lexicon.toml", &mut self.errors);
        required(checklist_file, "rubrics/checklist.toml", &mut self.errors);
        required(red_flags_file, "rubrics/red_flags.toml", &mut self.errors);

        let frameworks = frameworks_file.map(|at| self.frameworks(at)).unwrap_or_default();
        let mut concept_quiz_topics = Vec::new();
        let concepts = concepts_file.map(|at| self.concepts(at, &mut concept_quiz_topics)).unwrap_or_default();
        let concept_ids: FxHashSet<String> = concepts.iter().map(|concept| concept.id.clone()).collect();
        let lexicon = lexicon_file.and_then(|at| self.lexicon(at, &concept_ids));
        let generic = generic_file.map(|at| self.generic_items(at, &frameworks, &concept_ids)).unwrap_or_default();
        let checklist = checklist_file.map(|at| self.checklist(at, &concept_ids)).unwrap_or_default();
        let red_flags = red_flags_file.map(|at| self.red_flags(at, &concept_ids)).unwrap_or_default();
        let questions = self.questions(&question_files, &rubric_files, &frameworks, &concept_ids, &generic);
        let quiz = self.quiz(&quiz_files);
        for (at, span, topic) in concept_quiz_topics {
            if !quiz.iter().any(|item| item.topic == topic) {
                let hint = did_you_mean(&topic, quiz.iter().map(|item| item.topic.as_str()));
                self.error(at, span, format!("quiz_topic `{topic}` has no quiz items{hint}"));
            }
        }
        Content {
            frameworks,
            questions,
            concepts,
            lexicon: lexicon.unwrap_or_else(empty_lexicon),
            checklist,
            red_flags,
            quiz,
        }
    }

    fn frameworks(&mut self, at: At<'_>) -> Vec<Framework> {
        let Some(file) = self.parse::<raw::FrameworksFile>(at) else { return Vec::new() };
        let mut frameworks: Vec<Framework> = Vec::new();
        let mut covers_to_check = Vec::new();
        for raw in file.framework {
            let id = raw.id.get_ref().clone();
            if !is_slug(&id) {
                self.error(at, raw.id.span(), format!("framework id {id:?} must be a lower-case slug"));
            }
            if frameworks.iter().any(|framework| framework.id == id) {
                self.error(at, raw.id.span(), format!("duplicate framework id `{id}`"));
            }
            if raw.step.is_empty() {
                self.error(at, raw.id.span(), format!("framework `{id}` has no steps"));
            }
            let mut steps: Vec<Step> = Vec::new();
            for step in raw.step {
                let step_id = step.id.get_ref().clone();
                if !is_slug(&step_id) {
                    self.error(at, step.id.span(), format!("step id {step_id:?} must be a lower-case slug"));
                }
                if steps.iter().any(|existing| existing.id == step_id) {
                    self.error(at, step.id.span(), format!("duplicate step id `{step_id}` in framework `{id}`"));
                }
                let minutes = *step.minutes.get_ref();
                if !(1..=120).contains(&minutes) {
                    self.error(at, step.minutes.span(), format!("minutes = {minutes} must be between 1 and 120"));
                }
                let covers = match step.covers {
                    Some(covers) => {
                        covers_to_check.push((covers.span(), covers.get_ref().clone()));
                        covers.into_inner()
                    }
                    None => vec![step_id.clone()],
                };
                steps.push(Step {
                    id: step_id,
                    title: step.title,
                    minutes: minutes.clamp(1, 120) as u32,
                    prompt: step.prompt,
                    covers,
                });
            }
            frameworks.push(Framework { id, title: raw.title, description: raw.description, steps });
        }
        let known: FxHashSet<&str> =
            frameworks.iter().flat_map(|framework| framework.steps.iter().map(|step| step.id.as_str())).collect();
        for (span, covers) in covers_to_check {
            if covers.is_empty() {
                self.error(at, span.clone(), "covers must name at least one step");
            }
            for covered in covers {
                if !known.contains(covered.as_str()) {
                    let hint = did_you_mean(&covered, known.iter().copied());
                    self.error(
                        at,
                        span.clone(),
                        format!("covers names `{covered}`, which is no framework's step{hint}"),
                    );
                }
            }
        }
        frameworks
    }

    fn concepts<'f>(
        &mut self,
        at: At<'f>,
        quiz_topics: &mut Vec<(At<'f>, std::ops::Range<usize>, String)>,
    ) -> Vec<Concept> {
        let Some(file) = self.parse::<raw::ConceptsFile>(at) else { return Vec::new() };
        let mut concepts: Vec<Concept> = Vec::new();
        for raw in file.concept {
            let id = raw.id.get_ref().clone();
            if !is_slug(&id) {
                self.error(at, raw.id.span(), format!("concept id {id:?} must be a lower-case slug"));
            }
            if concepts.iter().any(|concept| concept.id == id) {
                self.error(at, raw.id.span(), format!("duplicate concept id `{id}`"));
            }
            if raw.terms.get_ref().is_empty() {
                self.error(at, raw.terms.span(), format!("concept `{id}` has an empty terms list"));
            }
            let mut terms = self.patterns(at, raw.terms.get_ref(), false);
            terms.extend(self.patterns(at, &raw.misspellings, false));
            if let Some(topic) = &raw.quiz_topic {
                quiz_topics.push((at, topic.span(), topic.get_ref().clone()));
            }
            concepts.push(Concept { id, label: raw.label, quiz_topic: raw.quiz_topic.map(|t| t.into_inner()), terms });
        }
        concepts
    }

    fn lexicon(&mut self, at: At<'_>, concepts: &FxHashSet<String>) -> Option<Lexicon> {
        let file = self.parse::<raw::LexiconFile>(at)?;
        let reasoning = self.patterns(at, &file.reasoning, true);
        if let Some(first) = file.reasoning.first() {
            self.check_concepts(at, first.span(), &reasoning, concepts);
        }
        Some(Lexicon {
            negations: self.words(at, &file.negations),
            dismissals: self.words(at, &file.dismissals),
            dismissal_verbs: self.words(at, &file.dismissal_verbs),
            clause_breaks: self.words(at, &file.clause_breaks),
            function_words: self.words(at, &file.function_words),
            reasoning,
            units: self.words(at, &file.units),
            buzzword_flag: BuzzwordFlag {
                steps: file.buzzword_flag.steps,
                id: file.buzzword_flag.id,
                label: file.buzzword_flag.label,
                why: file.buzzword_flag.why,
            },
        })
    }

    fn item(&mut self, at: At<'_>, raw: raw::RawItem, concepts: &FxHashSet<String>, generic: bool) -> RubricItem {
        let id = raw.id.get_ref().clone();
        if !is_slug(&id) {
            self.error(at, raw.id.span(), format!("item id {id:?} must be a lower-case slug"));
        }
        let weight = *raw.weight.get_ref();
        if !(weight.is_finite() && weight > 0.0 && weight <= 10.0) {
            self.error(
                at,
                raw.weight.span(),
                format!("weight = {weight} of item `{id}` must be a positive number up to 10"),
            );
        }
        if raw.any.get_ref().is_empty() {
            self.error(at, raw.any.span(), format!("item `{id}` has an empty pattern list (`any`)"));
        }
        let any = self.patterns(at, raw.any.get_ref(), true);
        self.check_concepts(at, raw.any.span(), &any, concepts);
        let at_least = self.at_least(at, raw.at_least.as_ref(), raw.any.get_ref().len());
        for (field, text) in [("label", &raw.label), ("hint", &raw.hint), ("why", &raw.why)] {
            if text.trim().is_empty() {
                self.error(at, raw.id.span(), format!("item `{id}` has an empty {field}"));
            }
        }
        RubricItem {
            origin: at.origin(raw.id.span()),
            id: id.into(),
            step: raw.step.get_ref().as_str().into(),
            label: raw.label.into(),
            weight: if weight.is_finite() { weight.clamp(0.0, 10.0) } else { 0.0 },
            any: any.into(),
            at_least,
            negatable: raw.negatable.unwrap_or(true),
            hint: raw.hint.into(),
            why: raw.why.into(),
            examples: raw.examples.into(),
            near_misses: raw.near_misses.into(),
            generic,
        }
    }

    fn generic_items(
        &mut self,
        at: At<'_>,
        frameworks: &[Framework],
        concepts: &FxHashSet<String>,
    ) -> Vec<(std::sync::Arc<RubricItem>, Vec<String>)> {
        let Some(file) = self.parse::<raw::GenericFile>(at) else { return Vec::new() };
        let steps: FxHashSet<&str> =
            frameworks.iter().flat_map(|framework| framework.steps.iter().map(|step| step.id.as_str())).collect();
        let mut items: Vec<(std::sync::Arc<RubricItem>, Vec<String>)> = Vec::new();
        for mut raw in file.item {
            let (id_span, step_span) = (raw.id.span(), raw.step.span());
            let only = match raw.frameworks.take() {
                Some(only) => {
                    for id in only.get_ref() {
                        if !frameworks.iter().any(|framework| framework.id == *id) {
                            let hint = did_you_mean(id, frameworks.iter().map(|f| f.id.as_str()));
                            self.error(at, only.span(), format!("unknown framework `{id}`{hint}"));
                        }
                    }
                    only.into_inner()
                }
                None => frameworks.iter().map(|framework| framework.id.clone()).collect(),
            };
            let item = self.item(at, raw, concepts, true);
            if items.iter().any(|(existing, _)| existing.id == item.id) {
                self.error(at, id_span, format!("duplicate generic item id `{}`", item.id));
            }
            if !steps.contains(&*item.step) {
                let hint = did_you_mean(&item.step, steps.iter().copied());
                self.error(at, step_span, format!("step `{}` is no framework's step{hint}", item.step));
            }
            items.push((std::sync::Arc::new(item), only));
        }
        items
    }

    fn questions(
        &mut self,
        question_files: &[At<'_>],
        rubric_files: &[At<'_>],
        frameworks: &[Framework],
        concepts: &FxHashSet<String>,
        generic: &[(std::sync::Arc<RubricItem>, Vec<String>)],
    ) -> Vec<Question> {
        let mut rubrics: FxHashMap<String, (At<'_>, raw::RubricFile)> = FxHashMap::default();
        for &at in rubric_files {
            let Some(rubric) = self.parse::<raw::RubricFile>(at) else { continue };
            let id = rubric.question.get_ref().clone();
            let expected = format!("rubrics/questions/{id}.toml");
            if at.path != expected {
                self.error(at, rubric.question.span(), format!("the rubric of `{id}` must be in {expected}"));
            }
            if rubrics.contains_key(&id) {
                self.error(at, rubric.question.span(), format!("a second rubric for question `{id}`"));
                continue;
            }
            rubrics.insert(id, (at, rubric));
        }
        let mut questions: Vec<Question> = Vec::new();
        for &at in question_files {
            let Some(raw) = self.parse::<raw::QuestionFile>(at) else {
                continue;
            };
            let id = raw.id.get_ref().clone();
            if !is_slug(&id) {
                self.error(at, raw.id.span(), format!("question id {id:?} must be a lower-case slug"));
            }
            let expected = format!("prompts/questions/{id}.toml");
            if at.path != expected {
                self.error(at, raw.id.span(), format!("question `{id}` must be in {expected}"));
            }
            if questions.iter().any(|question| question.id == id) {
                self.error(at, raw.id.span(), format!("duplicate question id `{id}`"));
                continue;
            }
            let difficulty = Difficulty::parse(raw.difficulty.get_ref()).unwrap_or_else(|| {
                self.error(
                    at,
                    raw.difficulty.span(),
                    format!(
                        "difficulty {:?} must be one of {}",
                        raw.difficulty.get_ref(),
                        Difficulty::NAMES.join(", ")
                    ),
                );
                Difficulty::Medium
            });
            let framework_id = raw.framework.get_ref().clone();
            let Some(framework) = frameworks.iter().find(|framework| framework.id == framework_id) else {
                let hint = did_you_mean(&framework_id, frameworks.iter().map(|f| f.id.as_str()));
                self.error(at, raw.framework.span(), format!("unknown framework `{framework_id}`{hint}"));
                continue;
            };
            let mut prompts = Vec::new();
            for step in &framework.steps {
                match raw.prompts.get_ref().get(&step.id) {
                    Some(toml::Value::String(prompt)) if !prompt.trim().is_empty() => {
                        prompts.push((step.id.clone(), prompt.clone()))
                    }
                    Some(_) => {
                        self.error(at, raw.prompts.span(), format!("prompts.{} must be non-empty text", step.id))
                    }
                    None => self.error(
                        at,
                        raw.prompts.span(),
                        format!("prompts has no entry for step `{}` of framework `{}`", step.id, framework.id),
                    ),
                }
            }
            for key in raw.prompts.get_ref().keys() {
                if framework.step(key).is_none() {
                    self.error(
                        at,
                        raw.prompts.span(),
                        format!(
                            "prompts.{key} is not a step of framework `{}`{}",
                            framework.id,
                            did_you_mean(key, framework.steps.iter().map(|s| s.id.as_str()))
                        ),
                    );
                }
            }
            let mut items = Vec::new();
            match rubrics.remove(&id) {
                None => self.error(
                    at,
                    raw.id.span(),
                    format!("question `{id}` has no rubric; create rubrics/questions/{id}.toml"),
                ),
                Some((rubric_at, rubric)) => {
                    for raw_item in rubric.item {
                        let (id_span, step_span) = (raw_item.id.span(), raw_item.step.span());
                        if let Some(only) = &raw_item.frameworks {
                            self.error(
                                rubric_at,
                                only.span(),
                                "`frameworks` is only for items in rubrics/generic.toml",
                            );
                        }
                        let item = self.item(rubric_at, raw_item, concepts, false);
                        if items.iter().any(|existing: &std::sync::Arc<RubricItem>| existing.id == item.id)
                            || generic.iter().any(|(existing, _)| existing.id == item.id)
                        {
                            self.error(rubric_at, id_span, format!("duplicate item id `{}`", item.id));
                        }
                        if framework.step(&item.step).is_none() {
                            let hint = did_you_mean(&item.step, framework.steps.iter().map(|s| s.id.as_str()));
                            self.error(
                                rubric_at,
                                step_span,
                                format!("step `{}` is not in framework `{}`{hint}", item.step, framework.id),
                            );
                        }
                        items.push(std::sync::Arc::new(item));
                    }
                    for step in &framework.steps {
                        if !items.iter().any(|item| *item.step == step.id) {
                            self.error(
                                rubric_at,
                                rubric.question.span(),
                                format!("question `{id}` has no rubric items for step `{}`", step.id),
                            );
                        }
                    }
                }
            }
            items.extend(
                generic
                    .iter()
                    .filter(|(item, only)| only.contains(&framework.id) && framework.step(&item.step).is_some())
                    .map(|(item, _)| item.clone()),
            );
            questions.push(Question {
                origin: at.origin(raw.id.span()),
                id,
                title: raw.title,
                difficulty,
                tags: raw.tags,
                framework: framework.id.clone(),
                scenario: raw.scenario,
                prompts,
                items,
            });
        }
        for (id, (at, rubric)) in rubrics {
            self.error(
                at,
                rubric.question.span(),
                format!(
                    "rubric for unknown question `{id}`; create prompts/questions/{id}.toml{}",
                    did_you_mean(&id, questions.iter().map(|q| q.id.as_str()))
                ),
            );
        }
        questions.sort_by(|a, b| a.id.cmp(&b.id));
        questions
    }

    fn checklist(&mut self, at: At<'_>, concepts: &FxHashSet<String>) -> Vec<Check> {
        let Some(file) = self.parse::<raw::ChecklistFile>(at) else { return Vec::new() };
        let mut checks: Vec<Check> = Vec::new();
        for raw in file.check {
            let id = raw.id.get_ref().clone();
            if checks.iter().any(|check| check.id == id) {
                self.error(at, raw.id.span(), format!("duplicate check id `{id}`"));
            }
            let quantities = raw.quantities_at_least.as_ref().map(|n| *n.get_ref()).unwrap_or(0);
            if quantities < 0 {
                self.error(at, raw.id.span(), "quantities_at_least must not be negative");
            }
            if raw.any.is_empty() && quantities <= 0 {
                self.error(at, raw.id.span(), format!("check `{id}` needs `any` patterns or `quantities_at_least`"));
            }
            let any = self.patterns(at, &raw.any, true);
            self.check_concepts(at, raw.id.span(), &any, concepts);
            let at_least = if raw.any.is_empty() { 0 } else { self.at_least(at, raw.at_least.as_ref(), raw.any.len()) };
            checks.push(Check {
                id,
                label: raw.label,
                hint: raw.hint,
                any,
                at_least,
                quantities_at_least: quantities.max(0) as usize,
            });
        }
        checks
    }

    fn red_flags(&mut self, at: At<'_>, concepts: &FxHashSet<String>) -> Vec<RedFlag> {
        let Some(file) = self.parse::<raw::RedFlagsFile>(at) else { return Vec::new() };
        let mut flags: Vec<RedFlag> = Vec::new();
        for raw in file.flag {
            let id = raw.id.get_ref().clone();
            if flags.iter().any(|flag| flag.id == id) {
                self.error(at, raw.id.span(), format!("duplicate red flag id `{id}`"));
            }
            if raw.any.is_empty() {
                self.error(at, raw.id.span(), format!("red flag `{id}` has an empty pattern list (`any`)"));
            }
            let any = self.patterns(at, &raw.any, true);
            let unless = self.patterns(at, &raw.unless, true);
            let with_any = self.patterns(at, &raw.with_any, true);
            for patterns in [&any, &unless, &with_any] {
                self.check_concepts(at, raw.id.span(), patterns, concepts);
            }
            flags.push(RedFlag {
                id,
                label: raw.label,
                why: raw.why,
                any,
                unless,
                with_any,
                without_quantities: raw.without_quantities,
            });
        }
        flags
    }

    fn quiz(&mut self, files: &[At<'_>]) -> Vec<QuizItem> {
        let mut items: Vec<QuizItem> = Vec::new();
        let mut ids: FxHashSet<String> = FxHashSet::default();
        let mut questions: FxHashMap<String, String> = FxHashMap::default();
        for &at in files {
            let Some(file) = self.parse::<raw::QuizFile>(at) else { continue };
            for raw in file.item {
                let id = raw.id.get_ref().clone();
                if !is_slug(&id) {
                    self.error(at, raw.id.span(), format!("quiz id {id:?} must be a lower-case slug"));
                }
                if !ids.insert(id.clone()) {
                    self.error(at, raw.id.span(), format!("duplicate quiz item id `{id}`"));
                }
                let topic = raw.topic.get_ref().clone();
                if !is_slug(&topic) {
                    self.error(at, raw.topic.span(), format!("quiz topic {topic:?} must be a lower-case slug"));
                }
                let difficulty = Difficulty::parse(raw.difficulty.get_ref()).unwrap_or_else(|| {
                    self.error(
                        at,
                        raw.difficulty.span(),
                        format!(
                            "difficulty {:?} must be one of {}",
                            raw.difficulty.get_ref(),
                            Difficulty::NAMES.join(", ")
                        ),
                    );
                    Difficulty::Medium
                });
                let normalized: String = raw
                    .question
                    .get_ref()
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .collect();
                if normalized.is_empty() {
                    self.error(at, raw.question.span(), format!("quiz item `{id}` has an empty question"));
                } else if let Some(other) = questions.insert(normalized, id.clone()) {
                    self.error(
                        at,
                        raw.question.span(),
                        format!("quiz item `{id}` asks the same question as `{other}`"),
                    );
                }
                let options = raw.options.get_ref();
                if options.len() != 4 {
                    self.error(
                        at,
                        raw.options.span(),
                        format!("quiz item `{id}` needs exactly 4 options, not {}", options.len()),
                    );
                }
                let mut distinct: Vec<String> = options.iter().map(|o| o.trim().to_lowercase()).collect();
                distinct.sort();
                distinct.dedup();
                if distinct.len() != options.len() || options.iter().any(|o| o.trim().is_empty()) {
                    self.error(at, raw.options.span(), format!("quiz item `{id}` has empty or repeated options"));
                }
                let answer = match raw.answer.get_ref().trim() {
                    "A" => 0,
                    "B" => 1,
                    "C" => 2,
                    "D" => 3,
                    other => {
                        self.error(at, raw.answer.span(), format!("answer {other:?} must be one of A, B, C, D"));
                        0
                    }
                };
                if raw.explanation.get_ref().trim().is_empty() {
                    self.error(at, raw.explanation.span(), format!("quiz item `{id}` has an empty explanation"));
                }
                items.push(QuizItem {
                    id,
                    topic,
                    difficulty,
                    question: raw.question.into_inner(),
                    options: raw.options.into_inner(),
                    answer,
                    explanation: raw.explanation.into_inner(),
                });
            }
        }
        items
    }
}

fn empty_lexicon() -> Lexicon {
    Lexicon {
        negations: Vec::new(),
        dismissals: Vec::new(),
        dismissal_verbs: Vec::new(),
        clause_breaks: Vec::new(),
        function_words: Vec::new(),
        reasoning: Vec::new(),
        units: Vec::new(),
        buzzword_flag: BuzzwordFlag { steps: Vec::new(), id: String::new(), label: String::new(), why: String::new() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_typos() {
        assert_eq!(closest("url-shortner", ["url-shortener", "pastebin"]), Some("url-shortener"));
        assert_eq!(closest("twiter", ["twitter", "uber"]), Some("twitter"));
        assert_eq!(closest("zzzzzzzz", ["twitter", "uber"]), None);
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}
