//! Profiling aid: N grades of the bench's 4,000-character answer, for instruction counts.
//!
//! valgrind --tool=callgrind --toggle-collect='design_coach::grading::Grader::grade' \
//!     target/release/examples/grade_many 200 [STEP]
use design_coach::content::{self, Source};
use design_coach::grading::Grader;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let step = std::env::args().nth(2);
    let grader = Grader::new(content::load(&Source::Embedded).unwrap());
    let expert = std::fs::read_to_string("tests/fixtures/answers/url-shortener.md").unwrap();
    let mut answer: String = expert.chars().take(4_000).collect();
    while answer.len() < 4_000 {
        answer.push_str(" and more");
    }
    let mut total = 0;
    for _ in 0..n {
        let g = grader
            .grade(std::hint::black_box("url-shortener"), step.as_deref(), std::hint::black_box(&answer))
            .unwrap();
        total += g.score as usize;
    }
    println!("{total}");
}
