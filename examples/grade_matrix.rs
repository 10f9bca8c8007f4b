//! Regression aid for matcher changes: every fixture answer (and prefixes and mixes of them)
//! graded against every question, whole and by every framework step, as JSON lines. Diff the
//! output before and after a change; it must not move.
//!
//! target/release/examples/grade_matrix > grades.jsonl
use design_coach::content::{self, Source};
use design_coach::grading::Grader;
use std::io::Write;

fn main() {
    let grader = Grader::new(content::load(&Source::Embedded).unwrap());
    let mut texts = Vec::new();
    for dir in ["tests/fixtures/answers", "tests/fixtures/holdout"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            texts.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    let originals = texts.clone();
    for (i, (name, text)) in originals.iter().enumerate() {
        let prefix: String = text.chars().take(4_000).collect();
        texts.push((format!("{name} first 4000 chars"), prefix));
        let (other_name, other) = &originals[(i + 7) % originals.len()];
        texts.push((format!("{name} + {other_name}"), format!("{text}\n{other}")));
        texts.push((format!("{name} flattened"), text.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    let steps: Vec<&str> = grader
        .content()
        .frameworks
        .iter()
        .flat_map(|framework| framework.steps.iter().map(|step| step.id.as_str()))
        .collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (name, text) in &texts {
        let answer = grader.analyze(text);
        for question in &grader.content().questions {
            for step in std::iter::once(None).chain(steps.iter().copied().map(Some)) {
                let grade = grader.grade_answer(&question.id, step, &answer);
                writeln!(out, "{name}\t{}\t{step:?}\t{}", question.id, serde_json::to_string(&grade.ok()).unwrap())
                    .unwrap();
            }
        }
    }
}
