//! `cargo bench`: grading a 4,000-character answer against a whole question, and loading and
//! compiling all content. Targets: under 50 microseconds per answer, under 100 ms for content.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use design_coach::content::{self, Source};
use design_coach::grading::Grader;

fn answer_of_4000_chars() -> String {
    let expert =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/answers/url-shortener.md"))
            .expect("the url-shortener fixture exists");
    let mut answer: String = expert.chars().take(4_000).collect();
    while answer.len() < 4_000 {
        answer.push_str(" and more");
    }
    answer
}

fn grading(c: &mut Criterion) {
    let grader = Grader::new(content::load(&Source::Embedded).expect("content is valid"));
    let answer = answer_of_4000_chars();
    c.bench_function("grade 4000-char answer, whole url-shortener question", |b| {
        b.iter(|| grader.grade(black_box("url-shortener"), None, black_box(&answer)).expect("grades"))
    });
    c.bench_function("grade 4000-char answer, one step", |b| {
        b.iter(|| grader.grade(black_box("url-shortener"), Some("deep-dive"), black_box(&answer)).expect("grades"))
    });
}

fn loading(c: &mut Criterion) {
    c.bench_function("load and compile all content", |b| {
        b.iter(|| Grader::new(content::load(black_box(&Source::Embedded)).expect("content is valid")))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = grading, loading
}
criterion_main!(benches);
