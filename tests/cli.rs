//! The command-line contract: `questions`, `grade`, `check` and `eval`, as later tools rely on it.

mod common;

use common::{fixture, run, stderr, stdout};
use serde_json::Value;

fn json_lines(output: &std::process::Output) -> Vec<Value> {
    stdout(output).lines().map(|line| serde_json::from_str(line).expect("each line is one JSON object")).collect()
}

#[test]
fn questions_json_lists_every_question_with_its_steps() {
    let output = run(&["questions", "--json"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let questions: Vec<Value> = serde_json::from_str(&stdout(&output)).unwrap();
    let url = questions.iter().find(|q| q["id"] == "url-shortener").expect("url-shortener is listed");
    assert_eq!(url["framework"], "full");
    assert_eq!(url["difficulty"], "easy");
    assert!(url["title"].as_str().unwrap().to_lowercase().contains("url"));
    assert!(url["tags"].as_array().is_some_and(|tags| !tags.is_empty()));
    let steps: Vec<&str> = url["steps"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(steps, ["requirements", "estimation", "api", "data-model", "high-level", "deep-dive", "wrap-up"]);
    assert!(url["steps"][0]["minutes"].as_u64().unwrap() > 0 && url["steps"][0]["title"].is_string());
    let parking = questions.iter().find(|q| q["id"] == "parking-lot").expect("parking-lot is listed");
    assert_eq!(parking["framework"], "oop");
    for id in ["rate-limiter", "chat-app"] {
        assert!(questions.iter().any(|q| q["id"] == id), "{id} is listed");
    }
}

#[test]
fn grade_json_has_the_contract_fields() {
    let answer = fixture("answers/url-shortener.md");
    let output = run(&["grade", "--question", "url-shortener", "--json", answer.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    let grade = &lines[0];
    assert_eq!(grade["question"], "url-shortener");
    assert!(grade["step"].is_null(), "whole-answer grading has step null");
    let score = grade["score"].as_u64().unwrap();
    assert!(score <= 100);
    let items = grade["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        for field in ["id", "step", "label", "hit", "weight", "evidence", "hint", "why"] {
            assert!(item.get(field).is_some(), "item field {field} is present: {item}");
        }
        if item["hit"] == true {
            assert!(!item["evidence"].as_array().unwrap().is_empty(), "a hit quotes its evidence: {item}");
            assert!(item["hint"].is_null(), "a covered item needs no hint: {item}");
        } else {
            assert!(item["hint"].as_str().is_some_and(|hint| !hint.is_empty()), "a miss has a hint: {item}");
            assert!(item["evidence"].as_array().unwrap().is_empty());
        }
    }
    assert!(items.iter().any(|item| item["hit"] == true) && items.iter().any(|item| item["hit"] == false));
    assert!(grade["red_flags"].is_array());
    let checklist = grade["checklist"].as_array().unwrap();
    let ids: Vec<&str> = checklist.iter().map(|c| c["id"].as_str().unwrap()).collect();
    for id in
        ["clarifying-questions", "numbers", "components", "performance", "trade-offs", "edge-cases", "scalability"]
    {
        assert!(ids.contains(&id), "checklist has {id}");
    }
}

#[test]
fn grade_step_only_grades_that_step() {
    let output = run(
        &["grade", "--question", "url-shortener", "--step", "api", "--json", "-"],
        Some(b"POST /api/v1/urls returns 201."),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let grade = &json_lines(&output)[0];
    assert_eq!(grade["step"], "api");
    assert!(grade["items"].as_array().unwrap().iter().all(|item| item["step"] == "api"));
}

#[test]
fn several_files_give_one_object_per_line_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("answers/url-shortener.md");
    let vague = dir.path().join("vague.txt");
    std::fs::write(&vague, "I would build it with some servers and a database.").unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let args = [
        "grade",
        "--question",
        "url-shortener",
        "--json",
        good.to_str().unwrap(),
        empty.to_str().unwrap(),
        vague.to_str().unwrap(),
    ];
    let output = run(&args, None);
    assert_eq!(output.status.code(), Some(1), "a file that cannot be graded makes the command fail");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 3);
    assert!(lines[0]["score"].as_u64().unwrap() > lines[2]["score"].as_u64().unwrap());
    assert!(lines[1]["error"].as_str().unwrap().contains("empty"), "{}", lines[1]);
    assert!(lines[0]["file"].as_str().unwrap().ends_with("url-shortener.md"));
}

#[test]
fn readable_report_shows_score_evidence_hints_and_checklist() {
    let answer = b"We cache hot links in Redis because reads dominate 100:1. Analytics is out of scope.";
    let output = run(&["grade", "--question", "url-shortener", "-"], Some(answer));
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(report.contains("Score"), "{report}");
    assert!(report.contains("\u{2588}") || report.contains("\u{2591}"), "a score bar: {report}");
    assert!(report.contains("Covered") && report.contains("\u{201c}Redis\u{201d}"), "quoted evidence: {report}");
    assert!(report.contains("Missed") && report.contains("\u{2014}"), "missed items with hints: {report}");
    assert!(report.contains("Interview checklist"), "{report}");
}

#[test]
fn unknown_question_names_it_and_suggests_the_closest() {
    let output = run(&["grade", "--question", "url-shortner", "-"], Some(b"anything"));
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("url-shortner") && message.contains("url-shortener"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "one clear line: {message}");
}

#[test]
fn unknown_step_names_the_steps() {
    let output = run(&["grade", "--question", "url-shortener", "--step", "deepdive", "-"], Some(b"anything"));
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("deepdive") && message.contains("deep-dive"), "{message}");
}

#[test]
fn bad_answers_get_a_clear_message_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.txt", Vec::new(), "empty"),
        ("blank.txt", b"  \n\n\t ".to_vec(), "empty"),
        ("binary.bin", (0u8..=255).cycle().take(4096).collect(), "binary"),
        ("huge.txt", "cache and shard by user id. ".repeat(40_000).into_bytes(), "limited"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let output = run(&["grade", "--question", "url-shortener", path.to_str().unwrap()], None);
        assert_eq!(output.status.code(), Some(1), "{name}");
        let message = stderr(&output);
        assert!(message.contains(expected) && !message.contains("panicked"), "{name}: {message}");
    }
    // Just under the limit is graded.
    let near_limit = dir.path().join("long.txt");
    std::fs::write(&near_limit, "We cache hot links in Redis because reads dominate. ".repeat(19_000)).unwrap();
    let output = run(&["grade", "--question", "url-shortener", "--json", near_limit.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let missing = run(&["grade", "--question", "url-shortener", "/no/such/file.txt"], None);
    assert!(stderr(&missing).contains("/no/such/file.txt"));
}

#[test]
fn check_json_counts_the_content() {
    let output = run(&["check", "--json"], None);
    let summary: Value = serde_json::from_str(&stdout(&output)).expect("check --json prints JSON");
    assert!(output.status.success(), "{summary}");
    assert_eq!(summary["ok"], true);
    for field in ["frameworks", "questions", "rubric_items", "concepts", "quiz_items"] {
        assert!(summary[field].as_u64().unwrap() > 0, "{field} is counted: {summary}");
    }
    assert_eq!(summary["frameworks"], 4);
}
