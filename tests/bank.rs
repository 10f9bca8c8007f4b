//! The question bank as the bank issue asks for it: every question the seeds name, a rubric of
//! its own for every step, and the quiz bank and concept dictionary at their sizes.

mod common;

use common::{run, stdout};
use design_coach::content::{self, Source};
use serde_json::Value;

const QUESTION_IDS: [&str; 31] = [
    "url-shortener",
    "pastebin",
    "rate-limiter",
    "key-value-store",
    "parking-lot",
    "instagram",
    "twitter",
    "uber",
    "netflix",
    "whatsapp",
    "dropbox",
    "ticketmaster",
    "web-crawler",
    "notification-system",
    "news-feed",
    "youtube",
    "google-search",
    "amazon",
    "airbnb",
    "distributed-cache",
    "message-queue",
    "stock-exchange",
    "payment-system",
    "recommendation-system",
    "multiplayer-game",
    "chat-app",
    "tic-tac-toe",
    "elevator",
    "library-management",
    "traffic-control",
    "autocomplete",
];

const OOP: [&str; 5] = ["parking-lot", "tic-tac-toe", "elevator", "library-management", "traffic-control"];

#[test]
fn every_seed_question_is_listed_with_its_framework() {
    let output = run(&["questions", "--json"], None);
    let questions: Vec<Value> = serde_json::from_str(&stdout(&output)).unwrap();
    let mut ids: Vec<&str> = questions.iter().map(|q| q["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut expected = QUESTION_IDS.to_vec();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    for question in &questions {
        let id = question["id"].as_str().unwrap();
        let framework = if OOP.contains(&id) { "oop" } else { "full" };
        assert_eq!(question["framework"], framework, "{id}");
        assert!(["easy", "medium", "hard"].contains(&question["difficulty"].as_str().unwrap()));
        assert!(question["tags"].as_array().unwrap().len() >= 2, "{id} has tags");
    }
}

#[test]
fn every_step_has_at_least_five_items_of_its_own_with_examples() {
    let content = content::load(&Source::Embedded).unwrap();
    for question in &content.questions {
        assert!(question.scenario.trim().len() > 80, "{} has a scenario paragraph", question.id);
        let framework = content.framework(&question.framework).unwrap();
        for step in &framework.steps {
            let prompt = question.prompt(&step.id).unwrap_or_default();
            assert!(prompt.len() > 40, "{} has a prompt for {}", question.id, step.id);
            let own: Vec<_> = question.items.iter().filter(|item| !item.generic && *item.step == step.id).collect();
            assert!(own.len() >= 5, "{} step {} has {} items of its own", question.id, step.id, own.len());
            for item in own {
                assert!(item.examples.len() >= 2, "{}/{} has two examples", question.id, item.id);
                assert!(!item.near_misses.is_empty(), "{}/{} has a near miss", question.id, item.id);
                assert!(!item.hint.trim().is_empty() && !item.why.trim().is_empty());
            }
        }
        assert!(
            question.items.iter().any(|item| !item.generic && item.weight >= 3.0),
            "{} has items that define the question",
            question.id
        );
    }
}

#[test]
fn grade_json_shows_every_step_of_any_answer() {
    let output = run(&["grade", "--question", "ticketmaster", "--json", "-"], Some(b"We hold seats for ten minutes."));
    let grade: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    let items = grade["items"].as_array().unwrap();
    for step in ["requirements", "estimation", "api", "data-model", "high-level", "deep-dive", "wrap-up"] {
        let count = items.iter().filter(|item| item["step"] == step).count();
        assert!(count >= 5, "{step}: {count} items");
    }
}

#[test]
fn quiz_bank_and_concepts_are_full_size_and_distinct() {
    let output = run(&["check", "--json"], None);
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(summary["ok"], true, "{summary}");
    assert!(summary["quiz_items"].as_u64().unwrap() >= 200, "{summary}");
    assert!(summary["concepts"].as_u64().unwrap() >= 80, "{summary}");
    assert_eq!(summary["questions"], 31);

    let content = content::load(&Source::Embedded).unwrap();
    let topics = content.quiz_topics();
    for topic in [
        "load-balancing",
        "databases",
        "caching",
        "cdn",
        "api-gateway",
        "scaling",
        "cap-consistency",
        "fault-tolerance",
        "stateless-stateful",
        "messaging",
        "api-styles",
        "rate-limiting",
        "http",
        "indexing",
        "numbers",
        "security",
        "interview-framework",
    ] {
        assert!(topics.contains(&topic), "quiz topic {topic}");
    }
    let mut letters = [0usize; 4];
    for item in &content.quiz {
        letters[item.answer] += 1;
        assert_eq!(item.options.len(), 4);
        assert!(item.explanation.len() > 20, "{} explains its answer", item.id);
    }
    // The right answer is not always in the same place.
    assert!(letters.iter().all(|&n| n * 6 > content.quiz.len()), "{letters:?}");
    let with_synonyms = content.concepts.iter().filter(|concept| concept.terms.len() >= 3).count();
    assert!(with_synonyms >= 80, "concepts carry synonyms and abbreviations");
}
