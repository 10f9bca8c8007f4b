//! The matching semantics the grading issue promises, each on a small purpose-built rubric
//! (with the real concepts, lexicon, checklist and red flags), so a change to the matcher that
//! breaks one of them fails here by name.

mod common;

use design_coach::content::{self, Source};
use design_coach::grading::{Grade, Grader};
use std::sync::OnceLock;

const QUESTION: &str = r#"
id = "mini"
title = "Mini question for matcher tests"
difficulty = "easy"
tags = ["test"]
framework = "four-step"
scenario = "A test scenario."
[prompts]
clarify = "Clarify."
high-level = "Design."
deep-dive = "Go deep."
wrap-up = "Wrap up."
"#;

const RUBRIC: &str = r#"
question = "mini"

[[item]]
id = "read-replicas"
step = "high-level"
label = "Uses read replicas"
weight = 1
any = ["@read-replica"]
hint = "h"
why = "w"

[[item]]
id = "load-balancer"
step = "high-level"
label = "Load balancer"
weight = 1
any = ["@load-balancer"]
hint = "h"
why = "w"

[[item]]
id = "cache"
step = "high-level"
label = "Caches"
weight = 1
any = ["@cache"]
hint = "h"
why = "w"

[[item]]
id = "queue"
step = "high-level"
label = "Queue"
weight = 1
any = ["@message-queue"]
hint = "h"
why = "w"

[[item]]
id = "shard-by-user"
step = "deep-dive"
label = "Shards by user id"
weight = 2
any = ["@sharding ~4 user id"]
hint = "h"
why = "w"

[[item]]
id = "two-algorithms"
step = "deep-dive"
label = "Names two rate-limiting algorithms"
weight = 2
any = ["@token-bucket", "@leaky-bucket", "@fixed-window", "@sliding-window"]
at_least = 2
hint = "h"
why = "w"

[[item]]
id = "redirect-code"
step = "deep-dive"
label = "301 or 302 redirect"
weight = 1
any = ["301|302 redirect"]
hint = "h"
why = "w"

[[item]]
id = "no-spof"
step = "deep-dive"
label = "No single point of failure"
weight = 1
negatable = false
any = ["@single-point-of-failure"]
hint = "h"
why = "w"

[[item]]
id = "qps"
step = "clarify"
label = "QPS"
weight = 1
any = ["@qps"]
hint = "h"
why = "w"

[[item]]
id = "summary"
step = "wrap-up"
label = "Summary"
weight = 1
any = ["to recap"]
hint = "h"
why = "w"
"#;

fn grader() -> &'static Grader {
    static GRADER: OnceLock<(tempfile::TempDir, Grader)> = OnceLock::new();
    &GRADER
        .get_or_init(|| {
            let dir = common::content_copy();
            let questions = dir.path().join("prompts/questions");
            let rubrics = dir.path().join("rubrics/questions");
            std::fs::remove_dir_all(&questions).unwrap();
            std::fs::remove_dir_all(&rubrics).unwrap();
            std::fs::create_dir_all(&questions).unwrap();
            std::fs::create_dir_all(&rubrics).unwrap();
            std::fs::remove_file(dir.path().join("rubrics/generic.toml")).unwrap();
            std::fs::write(questions.join("mini.toml"), QUESTION).unwrap();
            std::fs::write(rubrics.join("mini.toml"), RUBRIC).unwrap();
            let content = content::load(&Source::Directory(dir.path().to_path_buf())).expect("the mini content loads");
            (dir, Grader::new(content))
        })
        .1
}

fn grade(text: &str) -> Grade {
    grader().grade("mini", None, text).unwrap()
}

fn hit(text: &str, item: &str) -> bool {
    let grade = grade(text);
    grade.items.iter().find(|i| i.id() == item).unwrap_or_else(|| panic!("no item {item}")).hit
}

#[test]
fn matching_ignores_case_and_inflections() {
    assert!(hit("We add READ REPLICAS for the reads.", "read-replicas"));
    assert!(hit("Hot entries are cached.", "cache"));
    assert!(hit("Caching the sessions helps.", "cache"));
    assert!(hit("Messages are queued first.", "queue"));
}

#[test]
fn phrases_tolerate_hyphens_spaces_and_line_breaks() {
    assert!(hit("Add a read-replica.", "read-replicas"));
    assert!(hit("Add two read\nreplicas.", "read-replicas"));
    assert!(hit("Add a read  replica.", "read-replicas"));
    assert!(!hit("We read. Replica sets are for later.", "read-replicas"), "a sentence end breaks a phrase");
}

#[test]
fn words_must_stand_alone() {
    assert!(!hit("The cachet of the brand matters.", "cache"));
}

#[test]
fn abbreviations_come_from_concepts() {
    assert!(hit("Put an LB in front of the app servers.", "load-balancer"));
    assert!(hit("Around 10K RPS at peak.", "qps"));
    assert!(hit("We expect 3,000 QPS.", "qps"));
}

#[test]
fn proximity_joins_terms_a_few_words_apart() {
    assert!(hit("We shard the messages table by user id.", "shard-by-user"));
    assert!(hit("user_id is the shard key.", "shard-by-user"));
    assert!(!hit("We shard by region. Later we look up every user id in the index.", "shard-by-user"));
    assert!(!hit("We shard the table by region and we will look at the user id at some other point.", "shard-by-user"));
}

#[test]
fn at_least_groups_need_enough_distinct_patterns() {
    assert!(!hit("A token bucket allows bursts.", "two-algorithms"));
    assert!(hit("A token bucket allows bursts, while a sliding window is smoother.", "two-algorithms"));
    assert!(!hit("Token bucket. Token bucket again, a token bucket.", "two-algorithms"));
}

#[test]
fn alternatives_match_either_word() {
    assert!(hit("Use a 302 redirect for analytics.", "redirect-code"));
    assert!(hit("A 301 redirect is cached by browsers.", "redirect-code"));
    assert!(!hit("A 303 redirect is rare.", "redirect-code"));
}

#[test]
fn negation_does_not_credit() {
    assert!(!hit("No cache.", "cache"));
    assert!(!hit("We don't need a cache here.", "cache"));
    assert!(!hit("It works without a queue.", "queue"));
    assert!(!hit("We use Kafka rather than a queue... no: we avoid a queue.", "queue"));
    assert!(!hit("A cache is overkill at this size.", "cache"));
    assert!(!hit("Sharding by user id is not needed.", "shard-by-user"));
    assert!(!hit("We don't need sharding by user id yet.", "shard-by-user"));
}

#[test]
fn negation_stops_at_the_clause() {
    assert!(hit("We don't need a queue, but a cache helps reads.", "cache"));
    assert!(hit("No queue yet; Redis caches the hot keys.", "cache"));
    assert!(hit("We don't need sharding yet, but at 100M users we shard by user id.", "shard-by-user"));
}

#[test]
fn negation_can_be_the_point() {
    assert!(hit("There is no single point of failure.", "no-spof"));
}

#[test]
fn evidence_quotes_the_answer() {
    let grade = grade("First, we put Redis in front of the DB.\nThen a Load-Balancer spreads traffic.");
    let cache = grade.items.iter().find(|i| i.id() == "cache").unwrap();
    assert_eq!(cache.evidence, ["Redis"]);
    let lb = grade.items.iter().find(|i| i.id() == "load-balancer").unwrap();
    assert_eq!(lb.evidence, ["Load-Balancer"]);
    let missed = grade.items.iter().find(|i| i.id() == "queue").unwrap();
    assert!(!missed.hit && missed.evidence.is_empty() && missed.hint().is_some());
}

#[test]
fn numbers_with_units_are_recognised() {
    let graded = grade("We expect 10K RPS, 100M DAU, 3 TB a year, 99.9% availability and 200 ms p99, for $5 a month.");
    assert_eq!(graded.quantities, ["10K RPS", "100M DAU", "3 TB", "99.9%", "200 ms", "$5"]);
    let numbers = graded.checklist.iter().find(|c| c.id == "numbers").unwrap();
    assert!(numbers.ticked);
    let plain = grade("Chapter 7 of the book has 2 parts.");
    assert!(plain.quantities.is_empty(), "{:?}", plain.quantities);
}

#[test]
fn bare_buzzword_lists_are_capped_and_flagged() {
    let list =
        "Redis, Kafka, load balancer, read replicas, token bucket, sliding window, sharding user id, 302 redirect";
    let listed = grade(list);
    assert!(listed.red_flags.iter().any(|f| f.id == "buzzword-list"), "{:?}", listed.red_flags);
    let reasoned = grade(
        "We put a load balancer in front of stateless servers so that one dying does not matter, cache hot keys \
         in Redis because reads dominate, and shard the data by user id so that each shard stays small.",
    );
    assert!(reasoned.red_flags.iter().all(|f| f.id != "buzzword-list"));
    assert!(listed.score < reasoned.score, "list {} vs reasoned {}", listed.score, reasoned.score);
}

#[test]
fn red_flags_come_from_the_seeds() {
    let flags = |text: &str| grade(text).red_flags.into_iter().map(|f| f.id).collect::<Vec<_>>();
    assert!(flags("We use MongoDB because it's popular.").contains(&"popularity-justification".to_string()));
    assert!(
        !flags("We use Redis because it's fast for key lookups.").contains(&"popularity-justification".to_string())
    );
    assert!(flags("Sharding? I don't know.").contains(&"gives-up".to_string()));
    assert!(
        !flags("I don't know the exact number, but I would estimate it from DAU.").contains(&"gives-up".to_string())
    );
    assert!(
        flags("For our 100 users we start with microservices on Kubernetes.").contains(&"over-engineering".to_string())
    );
    assert!(flags("It must handle massive scale and lots of users.").contains(&"scale-without-numbers".to_string()));
    assert!(
        !flags("It must handle massive scale: 100M DAU and 50K RPS.").contains(&"scale-without-numbers".to_string())
    );
}

#[test]
fn step_grading_only_counts_that_step() {
    let step = grader().grade("mini", Some("deep-dive"), "We shard by user id and add a cache.").unwrap();
    assert!(step.items.iter().all(|item| item.step() == "deep-dive"));
    assert!(step.items.iter().any(|item| item.id() == "shard-by-user" && item.hit));
    assert_eq!(step.step.as_deref(), Some("deep-dive"));
}

#[test]
fn hostile_input_never_panics() {
    for text in [
        "",
        "\u{0}\u{1}\u{2}",
        "🙂🙂🙂 émoji ñ ß ΣΊΣΥΦΟΣ İstanbul",
        "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-",
        &"cache ".repeat(100_000),
        &"9".repeat(10_000),
        "'''''''",
        "don't don't don't no no no not",
        "1,2,3.4.5,6 10k% $$$ 5tb5tb5tb",
    ] {
        let grade = grade(text);
        assert!(grade.score <= 100);
    }
}
