//! The coach engine against a real SQLite file in a temp dir, with a clock the test controls.

use chrono::{DateTime, Duration, TimeZone, Utc};
use design_coach::coach::{Advance, Coach, CoachError, Learner, ManualClock, QuestionChoice};
use design_coach::content::{self, Difficulty, Source};
use design_coach::grading::Grader;
use design_coach::store::{Platform, Store};
use std::sync::{Arc, OnceLock};

fn grader() -> Arc<Grader> {
    static GRADER: OnceLock<Arc<Grader>> = OnceLock::new();
    GRADER.get_or_init(|| Arc::new(Grader::new(content::load(&Source::Embedded).expect("valid content")))).clone()
}

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    coach: Coach,
    clock: ManualClock,
}

async fn world(start: DateTime<Utc>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("coach.db").display());
    let store = Store::open(&url).await.expect("the database opens");
    World { _dir: dir, store, coach: Coach::new(grader()), clock: ManualClock::new(start) }
}

async fn learner(world: &World, name: &str, zone: Option<&str>) -> Learner {
    let user = world.store.user(Platform::Discord, name, name, world.clock.now_for_tests()).await.unwrap();
    if zone.is_some() {
        world.store.set_timezone(user.id, zone).await.unwrap();
    }
    let user = world.store.user(Platform::Discord, name, name, world.clock.now_for_tests()).await.unwrap();
    Learner { user, place: format!("thread-{name}"), server_id: None, server_timezone: None }
}

trait Now {
    fn now_for_tests(&self) -> DateTime<Utc>;
}

impl Now for ManualClock {
    fn now_for_tests(&self) -> DateTime<Utc> {
        design_coach::coach::Clock::now(self)
    }
}

fn noon(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
}

const CLARIFY: &str = "Functional requirements: shorten a long URL and redirect. Non-functional: redirects under \
    50 ms p99 and 99.99% availability, read-heavy at 100:1. Out of scope: analytics. Scale: 100M new URLs a day, \
    so about 1,200 writes per second and 120K redirects per second at peak.";
const HIGH_LEVEL: &str = "Client -> load balancer -> stateless app servers -> Redis cache -> key-value store. \
    The write path asks a key generation service for a unique id, encodes it in base62 and stores the mapping; \
    the read path checks the cache first because reads dominate, then the database, and answers 302.";

#[tokio::test]
async fn a_whole_session_walks_every_step_to_a_report() {
    let world = world(noon(1)).await;
    let me = learner(&world, "ada", None).await;
    let choice = QuestionChoice { id: Some("url-shortener".into()), ..Default::default() };
    let view = world.coach.start(&world.store, &world.clock, &me, &choice, Some("four-step")).await.unwrap();
    assert_eq!((view.step_number(), view.step_count(), view.step.id.as_str()), (1, 4, "clarify"));
    assert_eq!(view.progress_bar(), "\u{25b0}\u{25b1}\u{25b1}\u{25b1}");
    let session = view.id();

    // An answer may arrive in several messages.
    let (first_half, second_half) = CLARIFY.split_at(CLARIFY.len() / 2);
    world.coach.answer(&world.store, session, first_half).await.unwrap();
    world.clock.advance(Duration::minutes(4));
    world.coach.answer(&world.store, session, second_half).await.unwrap();
    let feedback = world.coach.submit(&world.store, &world.clock, &me, session).await.unwrap();
    assert!(feedback.grade.score > 20, "a decent clarify step scores: {}", feedback.grade.score);
    assert_eq!(feedback.seconds_taken, 240);
    assert_eq!(feedback.streak.current, 1);

    let Advance::Step(view) = world.coach.next(&world.store, &world.clock, &me, session).await.unwrap() else {
        panic!("there is a second step")
    };
    assert_eq!(view.step.id, "high-level");
    // Moving on needs a graded or skipped step.
    let error = world.coach.next(&world.store, &world.clock, &me, session).await.unwrap_err();
    assert!(matches!(error, CoachError::NotSubmitted));
    assert!(matches!(world.coach.submit(&world.store, &world.clock, &me, session).await, Err(CoachError::EmptyAnswer)));

    world.coach.answer(&world.store, session, "Some servers and a database.").await.unwrap();
    let weak = world.coach.submit(&world.store, &world.clock, &me, session).await.unwrap();
    let hint = world.coach.hint(&world.store, session).await.unwrap().expect("a missed item has a hint");
    assert!(!hint.hint.is_empty());
    // A revision is graded again and the best attempt counts.
    world.coach.answer(&world.store, session, HIGH_LEVEL).await.unwrap();
    let revised = world.coach.submit(&world.store, &world.clock, &me, session).await.unwrap();
    assert_eq!(revised.attempt, 2);
    assert!(revised.grade.score > weak.grade.score);
    assert_eq!(revised.best, revised.grade.score);

    world.coach.next(&world.store, &world.clock, &me, session).await.unwrap();
    let Advance::Step(view) = world.coach.skip(&world.store, &world.clock, &me, session).await.unwrap() else {
        panic!("wrap-up follows the deep dive")
    };
    assert_eq!(view.step.id, "wrap-up");
    world.coach.answer(&world.store, session, "To recap: the trade-off is 302 over 301 for analytics.").await.unwrap();
    world.coach.submit(&world.store, &world.clock, &me, session).await.unwrap();
    let Advance::Finished(report) = world.coach.next(&world.store, &world.clock, &me, session).await.unwrap() else {
        panic!("the last next finishes the session")
    };
    let scores: Vec<Option<u32>> = report.steps.iter().map(|step| step.score).collect();
    assert_eq!(scores[1], Some(revised.grade.score), "the best high-level attempt counts");
    assert!(report.steps[2].skipped && scores[2].is_none());
    assert_eq!(report.steps[0].seconds_used, 240);
    assert_eq!(report.steps[0].budget_minutes, 5);
    assert!(report.overall > 0 && report.overall < 100);
    assert_eq!(report.checklist.len(), 7);
    assert!(!report.weakest_concepts.is_empty() && report.suggested_quiz_topic.is_some());
    assert!(matches!(world.coach.answer(&world.store, session, "more").await, Err(CoachError::SessionEnded)));

    let progress = world.coach.progress(&world.store, &world.clock, &me).await.unwrap();
    assert_eq!((progress.sessions_completed, progress.current_streak, progress.longest_streak), (1, 1, 1));
    assert_eq!(progress.active_days.len(), 1);
    assert!(progress.step_averages.contains_key("high-level"));
}

#[tokio::test]
async fn one_active_session_per_place_that_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("coach.db").display());
    let clock = ManualClock::new(noon(1));
    let choice = QuestionChoice { id: Some("rate-limiter".into()), ..Default::default() };
    let session = {
        let store = Store::open(&url).await.unwrap();
        let coach = Coach::new(grader());
        let user = store.user(Platform::Local, "bob", "bob", noon(1)).await.unwrap();
        let me = Learner { user, place: "terminal".into(), server_id: None, server_timezone: None };
        let view = coach.start(&store, &clock, &me, &choice, None).await.unwrap();
        let again = coach.start(&store, &clock, &me, &choice, None).await.unwrap_err();
        assert!(matches!(again, CoachError::AlreadyActive { .. }), "{again}");
        coach.answer(&store, view.id(), "Token bucket per API key in Redis.").await.unwrap();
        store.close().await;
        view.id()
    };
    // A new process: the draft and the step are still there.
    let store = Store::open(&url).await.unwrap();
    let coach = Coach::new(grader());
    let user = store.user(Platform::Local, "bob", "", noon(1)).await.unwrap();
    assert_eq!(user.display_name, "bob", "an empty name does not erase the stored one");
    let me = Learner { user, place: "terminal".into(), server_id: None, server_timezone: None };
    let view = coach.resume(&store, &clock, &me).await.unwrap().expect("the session is still active");
    assert_eq!(view.id(), session);
    assert_eq!(view.draft.text, "Token bucket per API key in Redis.");
    // Another place is another session.
    let elsewhere = Learner { place: "thread-2".into(), ..me.clone() };
    coach.start(&store, &clock, &elsewhere, &choice, None).await.unwrap();
}

#[tokio::test]
async fn random_questions_follow_difficulty_and_avoid_recent_ones() {
    let world = world(noon(1)).await;
    let me = learner(&world, "cy", None).await;
    let choice = QuestionChoice { difficulty: Some(Difficulty::Easy), ..Default::default() };
    let mut seen = Vec::new();
    for _ in 0..4 {
        let view = world.coach.start(&world.store, &world.clock, &me, &choice, None).await.unwrap();
        assert_eq!(view.question.difficulty, Difficulty::Easy);
        assert!(!seen.contains(&view.question.id), "{} came back too soon", view.question.id);
        seen.push(view.question.id.clone());
        world.coach.abandon(&world.store, &world.clock, view.id()).await.unwrap();
    }
    let none = QuestionChoice { tag: Some("no-such-tag".into()), ..Default::default() };
    let error = world.coach.start(&world.store, &world.clock, &me, &none, None).await.unwrap_err();
    assert!(error.to_string().contains("no-such-tag"));
    let misfit = QuestionChoice { id: Some("parking-lot".into()), ..Default::default() };
    let error = world.coach.start(&world.store, &world.clock, &me, &misfit, Some("full")).await.unwrap_err();
    assert!(matches!(error, CoachError::FrameworkDoesNotFit { .. }), "{error}");
}

/// Records a graded activity for `me` at `when`: a one-question quiz answer.
async fn active_at(world: &World, me: &Learner, when: DateTime<Utc>) -> u32 {
    world.clock.set(when);
    let item = world.coach.quiz(Some("caching"), 1).unwrap()[0].clone();
    world.coach.answer_quiz(&world.store, &world.clock, me, &item, 0).await.unwrap().streak.current
}

#[tokio::test]
async fn a_day_is_the_learners_calendar_day() {
    let world = world(noon(1)).await;
    let tokyo = learner(&world, "tokyo", Some("Asia/Tokyo")).await;
    let new_york = learner(&world, "ny", Some("America/New_York")).await;
    // 1 March 14:30 UTC and 2 March 01:00 UTC: two days in Tokyo, one in New York.
    let first = Utc.with_ymd_and_hms(2026, 3, 1, 14, 30, 0).unwrap();
    let second = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
    assert_eq!(active_at(&world, &tokyo, first).await, 1);
    assert_eq!(active_at(&world, &tokyo, second).await, 2, "after midnight in Tokyo");
    assert_eq!(active_at(&world, &new_york, first).await, 1);
    assert_eq!(active_at(&world, &new_york, second).await, 1, "still 1 March in New York");
    // The server's zone applies when the user has none.
    let mut guest = learner(&world, "guest", None).await;
    guest.server_timezone = Some("Asia/Tokyo".into());
    assert_eq!(active_at(&world, &guest, first).await, 1);
    assert_eq!(active_at(&world, &guest, second).await, 2);
}

#[tokio::test]
async fn streaks_cross_a_daylight_saving_change() {
    let world = world(noon(1)).await;
    let me = learner(&world, "dst", Some("America/New_York")).await;
    // Clocks go forward on 8 March 2026 in New York; 23:30 local each evening.
    let mut streak = 0;
    for day in 6..=10 {
        let local = chrono_tz::America::New_York.with_ymd_and_hms(2026, 3, day, 23, 30, 0).unwrap();
        streak = active_at(&world, &me, local.with_timezone(&Utc)).await;
    }
    assert_eq!(streak, 5, "five evenings are five days whatever the UTC offset");
}

#[tokio::test]
async fn a_missed_day_needs_a_freeze_and_two_missed_days_restart() {
    let world = world(noon(1)).await;
    let without = learner(&world, "without", None).await;
    assert_eq!(active_at(&world, &without, noon(1)).await, 1);
    assert_eq!(active_at(&world, &without, noon(2)).await, 2);
    assert_eq!(active_at(&world, &without, noon(4)).await, 1, "no freeze: the streak restarts");

    let with = learner(&world, "with", None).await;
    for day in 1..=7 {
        active_at(&world, &with, noon(day)).await;
    }
    world.clock.set(noon(8));
    let progress = world.coach.progress(&world.store, &world.clock, &with).await.unwrap();
    assert_eq!((progress.current_streak, progress.freezes), (7, 1), "seven days earn a freeze");
    assert_eq!(active_at(&world, &with, noon(9)).await, 8, "the freeze covers 8 March");
    world.clock.set(noon(9));
    assert_eq!(world.coach.progress(&world.store, &world.clock, &with).await.unwrap().freezes, 0);

    let twice = learner(&world, "twice", None).await;
    for day in 1..=7 {
        active_at(&world, &twice, noon(day)).await;
    }
    assert_eq!(active_at(&world, &twice, noon(10)).await, 1, "two missed days restart even with a freeze");
    world.clock.set(noon(10));
    let progress = world.coach.progress(&world.store, &world.clock, &twice).await.unwrap();
    assert_eq!((progress.current_streak, progress.longest_streak), (1, 7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_count_a_day_once() {
    let world = Arc::new(world(noon(1)).await);
    let me = learner(&world, "busy", None).await;
    world.store.update_streak(me.user.id, noon(1).date_naive(), |s| s.record(noon(1).date_naive())).await.unwrap();
    let day = noon(2).date_naive();
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let world = world.clone();
            let user = me.user.id;
            tokio::spawn(async move { world.store.update_streak(user, day, |s| s.record(day)).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().expect("no writer sees \"database is locked\"");
    }
    let streak = world.store.streak(me.user.id).await.unwrap();
    assert_eq!(streak.current, 2, "eight writers on one day count it once");
    assert_eq!(world.store.active_days(me.user.id, noon(1).date_naive()).await.unwrap().len(), 2);
}

#[tokio::test]
async fn forgetting_a_user_removes_their_data() {
    let world = world(noon(1)).await;
    let me = learner(&world, "gone", None).await;
    active_at(&world, &me, noon(1)).await;
    assert!(world.store.forget_user(Platform::Discord, "gone").await.unwrap());
    let again = learner(&world, "gone", None).await;
    assert_ne!(again.user.id, me.user.id);
    assert_eq!(world.store.streak(again.user.id).await.unwrap().current, 0);
    assert!(!world.store.forget_user(Platform::Discord, "never-seen").await.unwrap());
}
