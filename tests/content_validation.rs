//! Broken content is reported with its file and line and a non-zero exit, never a panic and
//! never a silently skipped question.

mod common;

use common::{content_copy, run, stderr};
use std::path::Path;

const RUBRIC: &str = "rubrics/questions/url-shortener.toml";

/// Appends an item to the url-shortener rubric; returns the 1-based line of its `marker` line.
fn append_item(dir: &Path, item: &str, marker: &str) -> usize {
    let path = dir.join(RUBRIC);
    let mut text = std::fs::read_to_string(&path).unwrap();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let before = text.lines().count();
    text.push_str(item);
    std::fs::write(&path, &text).unwrap();
    let offset = item.lines().position(|line| line.starts_with(marker)).expect("marker line in the item");
    before + offset + 1
}

fn item(id: &str, step: &str, weight: &str, any: &str) -> String {
    format!(
        "\n[[item]]\nid = \"{id}\"\nstep = \"{step}\"\nlabel = \"A label\"\nweight = {weight}\nany = {any}\nhint = \"A hint.\"\nwhy = \"A reason.\"\nexamples = []\nnear_misses = []\n"
    )
}

/// Runs `check` on the content in `dir`; asserts it fails without a panic; returns stderr.
fn check_fails(dir: &Path) -> String {
    let output = run(&["--content", dir.to_str().unwrap(), "check"], None);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "check must fail: {message}");
    assert!(!message.contains("panicked"), "{message}");
    message
}

fn assert_reported(message: &str, file: &str, line: usize, words: &str) {
    let location = format!("{file}:{line}:");
    assert!(
        message.lines().any(|l| l.contains(&location) && l.contains(words)),
        "expected `{location} ... {words}` in:\n{message}"
    );
}

#[test]
fn the_real_content_passes() {
    let dir = content_copy();
    let output = run(&["--content", dir.path().to_str().unwrap(), "check"], None);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn bad_toml_names_file_and_line() {
    let dir = content_copy();
    let path = dir.path().join(RUBRIC);
    let mut text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().count() + 2;
    text.push_str("\n[[item]\nid = \"x\"\n");
    std::fs::write(&path, text).unwrap();
    let message = check_fails(dir.path());
    assert_reported(&message, RUBRIC, line, "");
}

#[test]
fn unknown_concept_is_named_with_a_suggestion() {
    let dir = content_copy();
    let line = append_item(dir.path(), &item("broken", "deep-dive", "1", "[\"@cahce ~3 hot\"]"), "any");
    let message = check_fails(dir.path());
    assert_reported(&message, RUBRIC, line, "unknown concept `@cahce`");
    assert!(message.contains("`cache`"), "suggests the closest concept: {message}");
}

#[test]
fn duplicate_item_id_is_reported() {
    let dir = content_copy();
    let text = std::fs::read_to_string(dir.path().join(RUBRIC)).unwrap();
    let first_id = text
        .lines()
        .find_map(|line| line.strip_prefix("id = \"").and_then(|rest| rest.strip_suffix('"')))
        .unwrap()
        .to_string();
    let line = append_item(dir.path(), &item(&first_id, "deep-dive", "1", "[\"base62\"]"), "id");
    let message = check_fails(dir.path());
    assert_reported(&message, RUBRIC, line, "duplicate item id");
}

#[test]
fn invalid_patterns_are_reported() {
    for any in ["[\"cache ~99 db\"]", "[\"~3 cache\"]", "[\"Redis\"]", "[\"a||b\"]", "[\"x.y\"]"] {
        let dir = content_copy();
        let line = append_item(dir.path(), &item("broken", "deep-dive", "1", any), "any");
        let message = check_fails(dir.path());
        assert_reported(&message, RUBRIC, line, "invalid pattern");
    }
}

#[test]
fn step_outside_the_framework_is_reported() {
    let dir = content_copy();
    let line = append_item(dir.path(), &item("broken", "deepdive", "1", "[\"base62\"]"), "step");
    let message = check_fails(dir.path());
    assert_reported(&message, RUBRIC, line, "not in framework `full`");
    assert!(message.contains("deep-dive"), "suggests the step: {message}");
}

#[test]
fn empty_pattern_list_is_reported() {
    let dir = content_copy();
    let line = append_item(dir.path(), &item("broken", "deep-dive", "1", "[]"), "any");
    let message = check_fails(dir.path());
    assert_reported(&message, RUBRIC, line, "empty pattern list");
}

#[test]
fn non_positive_weight_is_reported() {
    for weight in ["0", "-2", "nan"] {
        let dir = content_copy();
        let line = append_item(dir.path(), &item("broken", "deep-dive", weight, "[\"base62\"]"), "weight");
        let message = check_fails(dir.path());
        assert_reported(&message, RUBRIC, line, "weight");
    }
}

#[test]
fn question_missing_a_steps_rubric_is_reported() {
    let dir = content_copy();
    let path = dir.path().join(RUBRIC);
    let text = std::fs::read_to_string(&path).unwrap();
    // Drop every item of the estimation step.
    let kept: Vec<&str> = text.split("[[item]]").filter(|block| !block.contains("step = \"estimation\"")).collect();
    std::fs::write(&path, kept.join("[[item]]")).unwrap();
    let message = check_fails(dir.path());
    assert!(message.contains(RUBRIC) && message.contains("no rubric items for step `estimation`"), "{message}");
}

#[test]
fn question_without_a_rubric_is_not_skipped() {
    let dir = content_copy();
    std::fs::remove_file(dir.path().join(RUBRIC)).unwrap();
    let message = check_fails(dir.path());
    assert!(
        message.contains("prompts/questions/url-shortener.toml:") && message.contains("has no rubric"),
        "{message}"
    );
}

#[test]
fn rubric_examples_are_checked() {
    let dir = content_copy();
    let broken = "\n[[item]]\nid = \"broken\"\nstep = \"deep-dive\"\nlabel = \"A label\"\nweight = 1\nany = [\"base62\"]\nhint = \"h\"\nwhy = \"w\"\nexamples = [\"We use a counter.\"]\nnear_misses = [\"Codes are base62.\"]\n";
    let line = append_item(dir.path(), broken, "id");
    let message = check_fails(dir.path());
    assert_reported(&message, RUBRIC, line, "example is not credited");
    assert_reported(&message, RUBRIC, line, "near miss is credited");
}

#[test]
fn binary_huge_and_misplaced_files_are_refused() {
    let dir = content_copy();
    std::fs::write(dir.path().join("rubrics/concepts.toml"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    let message = check_fails(dir.path());
    assert!(message.contains("rubrics/concepts.toml") && message.contains("binary"), "{message}");

    let dir = content_copy();
    std::fs::write(dir.path().join("rubrics/concepts.toml"), "# x\n".repeat(1_200_000)).unwrap();
    let message = check_fails(dir.path());
    assert!(message.contains("rubrics/concepts.toml") && message.contains("limited"), "{message}");

    let dir = content_copy();
    std::fs::write(dir.path().join("prompts/stray.toml"), "x = 1\n").unwrap();
    let message = check_fails(dir.path());
    assert!(message.contains("prompts/stray.toml") && message.contains("not a known content file"), "{message}");

    let missing = tempfile::tempdir().unwrap();
    let message = check_fails(missing.path());
    assert!(message.contains("prompts"), "{message}");
}

#[test]
fn unknown_fields_and_bad_quiz_items_are_reported() {
    let dir = content_copy();
    let line = append_item(
        dir.path(),
        &item("broken", "deep-dive", "1", "[\"base62\"]")
            .replace("weight =", "wieght =")
            .replace("any =", "weight = 1\nany ="),
        "wieght",
    );
    let message = check_fails(dir.path());
    assert_reported(&message, RUBRIC, line, "wieght");

    let dir = content_copy();
    let quiz = "[[item]]\nid = \"broken-quiz\"\ntopic = \"caching\"\ndifficulty = \"easy\"\nquestion = \"Which one?\"\noptions = [\"A\", \"B\", \"C\"]\nanswer = \"E\"\nexplanation = \"Because.\"\n";
    std::fs::write(dir.path().join("prompts/quiz/broken.toml"), quiz).unwrap();
    let message = check_fails(dir.path());
    assert_reported(&message, "prompts/quiz/broken.toml", 6, "exactly 4 options");
    assert_reported(&message, "prompts/quiz/broken.toml", 7, "answer");
}
