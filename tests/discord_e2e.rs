//! The Discord bot end to end: the real serenity/poise client, connected over loopback to a
//! local Discord double (tests/discord_double) that speaks the REST and gateway parts the bot
//! uses. No token, no internet. The bot runs in-process on a SQLite file and a controlled clock;
//! a "restart" stops it and starts a new one on the same file.

mod discord_double;

use chrono::{DateTime, TimeZone, Utc};
use design_coach::coach::{Coach, ManualClock};
use design_coach::content::{self, Source};
use design_coach::discord::{BotError, BotSettings, Token, run};
use design_coach::grading::Grader;
use design_coach::store::Store;
use discord_double::*;
use serde_json::{Value, json};
use serenity::all::GuildId;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(15);

fn coach() -> Arc<Coach> {
    static GRADER: OnceLock<Arc<Grader>> = OnceLock::new();
    let grader = GRADER.get_or_init(|| Arc::new(Grader::new(content::load(&Source::Embedded).expect("content loads"))));
    Arc::new(Coach::new(grader.clone()))
}

struct Bot {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), BotError>>,
}

impl Bot {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let outcome = tokio::time::timeout(WAIT, &mut self.task).await.expect("the bot stops").expect("no panic");
        outcome.expect("the bot ran without error");
    }
}

struct World {
    double: DiscordDouble,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    database: String,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = format!("sqlite://{}", dir.path().join("bot.db").display());
        World {
            double: DiscordDouble::start().await,
            clock: Arc::new(ManualClock::new(at("2026-12-04T12:00:00Z"))),
            _dir: dir,
            database,
        }
    }

    fn settings(&self, token: &str) -> BotSettings {
        BotSettings {
            token: Token::new(token),
            dev_guild: Some(GuildId::new(GUILD_ID)),
            api_base: Some(self.double.url()),
            scheduler_tick: Duration::from_millis(100),
            group_quiz_window: Duration::from_millis(1_200),
        }
    }

    /// Starts a bot and waits until it is connected and has registered its commands.
    async fn start(&self) -> Bot {
        let readies = self.double.ready_count();
        let registrations = self.double.requests_to("PUT", "/applications").len();
        let store = Store::open(&self.database).await.expect("database opens");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(self.settings("test-token"), coach(), store, self.clock.clone(), async move {
            let _ = stopped.await;
        }));
        assert!(self.double.wait_for_ready_count(readies + 1, WAIT).await, "the bot connects to the gateway");
        let double = self.double.clone();
        assert!(
            wait_until(|| double.requests_to("PUT", "/applications").len() > registrations).await,
            "the bot registers its commands"
        );
        Bot { stop: Some(stop), task }
    }

    fn bot_messages(&self, channel: u64) -> Vec<Value> {
        self.double.bot_messages_in(channel)
    }

    /// Waits for the bot's `n`th message in a channel and returns it.
    async fn nth_bot_message(&self, channel: u64, n: usize) -> Value {
        let double = self.double.clone();
        assert!(
            wait_until(|| double.bot_messages_in(channel).len() >= n).await,
            "the bot posts message {n} in {channel}: {:#?}",
            self.bot_messages(channel)
        );
        self.bot_messages(channel)[n - 1].clone()
    }

    /// Waits until the bot has posted `n` messages in `channel` that `wanted` accepts; returns the last.
    async fn nth_matching(&self, channel: u64, n: usize, wanted: impl Fn(&Value) -> bool) -> Value {
        let double = self.double.clone();
        let count = |double: &DiscordDouble| {
            double.bot_messages_in(channel).into_iter().filter(|m| wanted(m)).collect::<Vec<_>>()
        };
        assert!(
            wait_until(|| count(&double).len() >= n).await,
            "message {n} in {channel}: {:#?}",
            self.bot_messages(channel)
        );
        count(&self.double)[n - 1].clone()
    }

    /// Waits for the bot's answer to an interaction: the first callback body.
    async fn callback(&self, interaction: &InteractionRef) -> Value {
        let double = self.double.clone();
        let i = interaction.clone();
        assert!(
            wait_until(|| !double.callbacks(&i).is_empty()).await,
            "the bot answers interaction {}",
            interaction.id
        );
        self.double.callbacks(interaction)[0].clone()
    }

    /// /practice: returns the new thread's id after the first step is posted.
    async fn practice(&self, user: u64, options: Value) -> u64 {
        let threads = self.double.threads().len();
        let command = self.double.slash_command(user, STUDY_CHANNEL_ID, "practice", options, NO_PERMISSIONS);
        let reply = self.callback(&command).await;
        let double = self.double.clone();
        assert!(wait_until(|| double.threads().len() > threads).await, "a thread is created: {reply}");
        let thread = id(&self.double.threads()[threads]["id"]);
        self.nth_bot_message(thread, 1).await;
        thread
    }

    /// Waits until the bot has saved `text` into the current step's answer in `thread`: the bot
    /// says nothing when it keeps a part, so the test reads the database.
    async fn saved_in_answer(&self, thread: u64, text: &str) {
        let store = Store::open(&self.database).await.expect("database opens");
        let coach = coach();
        let saved = eventually(WAIT, async || {
            if let Ok(Some((session, _))) = store.session_in_place(&thread.to_string()).await
                && let Ok(Some(view)) = coach.session(&store, session.id).await
            {
                return view.draft.text.contains(text);
            }
            false
        })
        .await;
        assert!(saved, "the bot saves {text:?} in the answer in {thread}");
    }

    /// Presses a button on a message and returns the bot's reply.
    async fn press(&self, user: u64, channel: u64, message: &Value, custom_id: &str) -> Value {
        let press = self.double.button(user, channel, id(&message["id"]), custom_id);
        self.callback(&press).await
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("a timestamp").with_timezone(&Utc)
}

fn id(value: &Value) -> u64 {
    value.as_str().and_then(|s| s.parse().ok()).or_else(|| value.as_u64()).unwrap_or(0)
}

async fn wait_until(mut condition: impl FnMut() -> bool) -> bool {
    eventually(WAIT, async || condition()).await
}

/// Whether `condition` holds within `limit`; it may await, to read the database.
async fn eventually(limit: Duration, mut condition: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition().await
}

/// Every custom id of the buttons on a message (or callback data).
fn button_ids(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|button| button["custom_id"].as_str().map(str::to_string))
        .collect()
}

fn button(message: &Value, prefix: &str) -> String {
    button_ids(message)
        .into_iter()
        .find(|id| id.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} button on {message:#}"))
}

fn embed_titles(message: &Value) -> Vec<String> {
    message["embeds"].as_array().into_iter().flatten().filter_map(|e| e["title"].as_str().map(str::to_string)).collect()
}

fn text_of(message: &Value) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

const URL_SHORTENER_CLARIFY: &str = "Functional requirements: shorten a long URL to a short code and redirect users to the original URL; \
custom aliases and expiration are optional. Non-functional: high availability and low latency redirects, since reads dominate \
writes about 100:1. Scale: 100M new URLs per month and around 10K redirects per second at peak, so the read path must be cached.";

// --- scenarios ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_in_the_development_server() {
    let world = World::new().await;
    let bot = world.start().await;
    let names: Vec<String> =
        world.double.guild_commands().iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect();
    for wanted in ["practice", "quiz", "streak", "progress", "leaderboard", "timezone", "forget-me", "daily"] {
        assert!(names.contains(&wanted.to_string()), "{wanted} is registered: {names:?}");
    }
    assert!(world.double.global_commands().is_empty(), "a development server gets the commands, not everyone");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_one_clear_error_and_never_logged() {
    let world = World::new().await;
    let store = Store::open(&world.database).await.expect("database opens");
    let outcome =
        run(world.settings(REJECTED_TOKEN), coach(), store, world.clock.clone(), std::future::pending()).await;
    let error = outcome.expect_err("a rejected token stops the bot");
    assert!(matches!(error, BotError::TokenRejected), "{error}");
    assert!(error.to_string().contains("DISCORD_TOKEN"));
    assert!(!format!("{:?}", world.settings(REJECTED_TOKEN)).contains(REJECTED_TOKEN), "the token never prints");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn practice_opens_a_thread_with_the_scenario_and_step_one() {
    let world = World::new().await;
    let bot = world.start().await;
    let thread = world
        .practice(ALICE, json!([opt("question", 3, json!("url-shortener")), opt("private", 5, json!(true))]))
        .await;
    let created = &world.double.threads()[0];
    assert_eq!(created["type"], json!(12), "a private thread on request");
    assert!(created["name"].as_str().unwrap_or_default().contains("URL"), "named after the question: {created}");
    assert!(world.double.thread_members(thread).contains(&ALICE), "the learner is added to the private thread");
    let first = world.nth_bot_message(thread, 1).await;
    let titles = embed_titles(&first).join(" | ");
    assert!(titles.contains("Step 1/7"), "{titles}");
    assert!(button(&first, "dc:submit:").len() > 10);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_answers_in_several_messages_submits_and_gets_a_score_with_evidence() {
    let world = World::new().await;
    let bot = world.start().await;
    let thread = world
        .practice(ALICE, json!([opt("question", 3, json!("url-shortener")), opt("framework", 3, json!("four-step"))]))
        .await;
    let first = world.nth_bot_message(thread, 1).await;
    let (part_one, part_two) = URL_SHORTENER_CLARIFY.split_at(URL_SHORTENER_CLARIFY.find("Scale").unwrap_or(0));
    world.double.message(ALICE, thread, part_one);
    world.double.message(ALICE, thread, part_two);
    world.saved_in_answer(thread, part_two).await;
    let reply = world.press(ALICE, thread, &first, &button(&first, "dc:submit:")).await;
    let text = text_of(&reply);
    let title = embed_titles(&reply["data"]).join(" ");
    let score: u32 = title.rsplit(": ").next().and_then(|s| s.trim_end_matches("/100").parse().ok()).unwrap_or(0);
    assert!(score >= 40, "a solid clarify step scores well: {title}");
    assert!(text.contains("Covered") && text.contains("\u{201c}"), "covered items quote the answer: {text}");
    assert!(button(&reply["data"], "dc:next:").ends_with(&button(&first, "dc:submit:")["dc:submit:".len()..]));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn done_sent_right_after_the_answer_grades_every_part_sent_before_it() {
    let world = World::new().await;
    let bot = world.start().await;
    let thread = world
        .practice(ALICE, json!([opt("question", 3, json!("url-shortener")), opt("framework", 3, json!("four-step"))]))
        .await;
    let split = |marker: &str| URL_SHORTENER_CLARIFY.find(marker).unwrap_or(0);
    let (non_functional, scale) = (split("Non-functional"), split("Scale"));
    // No pause between the messages: the bot may begin handling them in any order.
    world.double.message(ALICE, thread, &URL_SHORTENER_CLARIFY[..non_functional]);
    world.double.message(ALICE, thread, &URL_SHORTENER_CLARIFY[non_functional..scale]);
    world.double.message(ALICE, thread, &URL_SHORTENER_CLARIFY[scale..]);
    world.double.message(ALICE, thread, "done");
    let scored = |m: &Value| embed_titles(m).iter().any(|t| t.ends_with("/100") && t.starts_with("Step"));
    let feedback = world.nth_matching(thread, 1, scored).await;
    let text = text_of(&feedback);
    assert!(text.contains("10K") || text.contains("100M"), "the last part, sent just before done, is graded: {text}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_messages_and_buttons_do_not_count() {
    let world = World::new().await;
    let bot = world.start().await;
    let thread = world.practice(ALICE, json!([opt("question", 3, json!("url-shortener"))])).await;
    let first = world.nth_bot_message(thread, 1).await;
    world.double.message(BOB, thread, URL_SHORTENER_CLARIFY);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bobs_press = world.press(BOB, thread, &first, &button(&first, "dc:submit:")).await;
    assert_eq!(bobs_press["data"]["flags"], json!(64), "an ephemeral note for Bob: {bobs_press}");
    assert!(text_of(&bobs_press).contains("/practice"), "it says how to start his own: {bobs_press}");
    let alices_press = world.press(ALICE, thread, &first, &button(&first, "dc:submit:")).await;
    assert!(text_of(&alices_press).contains("write your answer"), "Bob's words are not Alice's answer: {alices_press}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_session_ends_with_its_report_and_a_streak() {
    let world = World::new().await;
    let bot = world.start().await;
    let thread = world
        .practice(ALICE, json!([opt("question", 3, json!("url-shortener")), opt("framework", 3, json!("four-step"))]))
        .await;
    let scored = |m: &Value| embed_titles(m).iter().any(|t| t.ends_with("/100") && t.starts_with("Step"));
    for step in 0..4 {
        world.double.message(ALICE, thread, URL_SHORTENER_CLARIFY);
        world.double.message(ALICE, thread, "done");
        let feedback = world.nth_matching(thread, step + 1, scored).await;
        let next = world.press(ALICE, thread, &feedback, &button(&feedback, "dc:next:")).await;
        let titles = embed_titles(&next["data"]).join(" ");
        if step < 3 {
            assert!(titles.contains(&format!("Step {}/4", step + 2)), "Next shows the next step: {titles}");
        } else {
            assert!(titles.starts_with("Report:"), "the last Next gives the report: {titles}");
            assert!(text_of(&next).contains("Interview checklist"));
        }
    }
    let streak = world.double.slash_command(ALICE, STUDY_CHANNEL_ID, "streak", json!([]), NO_PERMISSIONS);
    assert!(text_of(&world.callback(&streak).await).contains("1 day streak"));
    let progress = world.double.slash_command(ALICE, STUDY_CHANNEL_ID, "progress", json!([]), NO_PERMISSIONS);
    let progress = world.callback(&progress).await;
    assert!(text_of(&progress).contains("sessions completed **1**"), "{progress:#}");
    let activity = progress["data"]["embeds"][0]["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"].as_str().is_some_and(|n| n.starts_with("Last 8 weeks"))))
        .and_then(|field| field["value"].as_str())
        .expect("an activity calendar")
        .to_string();
    let weeks: Vec<&str> = activity.lines().collect();
    assert_eq!(weeks.len(), 8, "{activity}");
    assert!(weeks[7].ends_with('\u{1f7e9}'), "today, the last day shown, is active: {activity}");
    assert_eq!(activity.matches('\u{1f7e9}').count(), 1, "and no other day: {activity}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_buttons_of_an_open_session_still_work() {
    let world = World::new().await;
    let bot = world.start().await;
    let thread = world.practice(ALICE, json!([opt("question", 3, json!("rate-limiter"))])).await;
    let first = world.nth_bot_message(thread, 1).await;
    world.double.message(ALICE, thread, "We must limit requests per user id and per API key, returning HTTP 429 when over the limit, with limits of 100 requests per minute because abuse is the main risk.");
    world.saved_in_answer(thread, "abuse is the main risk.").await;
    bot.stop().await;
    let bot = world.start().await;
    let reply = world.press(ALICE, thread, &first, &button(&first, "dc:submit:")).await;
    assert!(
        embed_titles(&reply["data"]).join(" ").contains("/100"),
        "the old Submit button grades the saved answer: {reply}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solo_quiz_is_answered_with_letter_buttons_and_explained() {
    let world = World::new().await;
    let bot = world.start().await;
    let quiz =
        world.double.slash_command(ALICE, STUDY_CHANNEL_ID, "quiz", json!([opt("count", 4, json!(2))]), NO_PERMISSIONS);
    let first = world.callback(&quiz).await;
    assert_eq!(first["data"]["flags"], json!(64), "a solo quiz is ephemeral");
    let message = world.double.original_response(&quiz).expect("the quiz message");
    let second = world.press(ALICE, STUDY_CHANNEL_ID, &message, &button(&first["data"], "qz:")).await;
    assert_eq!(second["type"], json!(7), "the quiz message is updated in place");
    assert!(embed_titles(&second["data"]).iter().any(|t| t.contains(" is ")), "the answer is explained: {second}");
    let last = world.press(ALICE, STUDY_CHANNEL_ID, &message, &button(&second["data"], "qz:")).await;
    assert!(text_of(&last).contains("Quiz done"), "{last}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_quiz_round_takes_everyones_answers_and_shows_a_round_leaderboard() {
    let world = World::new().await;
    let bot = world.start().await;
    let quiz = world.double.slash_command(
        ALICE,
        STUDY_CHANNEL_ID,
        "quiz",
        json!([opt("count", 4, json!(1)), opt("group", 5, json!(true))]),
        NO_PERMISSIONS,
    );
    world.callback(&quiz).await;
    let question =
        world.nth_matching(STUDY_CHANNEL_ID, 1, |m| button_ids(m).iter().any(|id| id.starts_with("gq:"))).await;
    let ids = button_ids(&question);
    assert_eq!(ids.len(), 4, "A-D: {question:#}");
    let alice = world.press(ALICE, STUDY_CHANNEL_ID, &question, &ids[0]).await;
    let bob = world.press(BOB, STUDY_CHANNEL_ID, &question, &ids[1]).await;
    assert!(text_of(&alice).contains("recorded") && text_of(&bob).contains("recorded"));
    let board = world.nth_matching(STUDY_CHANNEL_ID, 1, |m| text_of(m).contains("Round leaderboard")).await;
    let text = text_of(&board);
    assert!(text.contains("Round leaderboard") && text.contains("alice") && text.contains("bob"), "{text}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_setup_is_refused_without_manage_server() {
    let world = World::new().await;
    let bot = world.start().await;
    let setup = json!([subcommand(
        "setup",
        json!([
            opt("channel", 7, json!(STUDY_CHANNEL_ID.to_string())),
            opt("time", 3, json!("09:00")),
            opt("timezone", 3, json!("Europe/Berlin"))
        ])
    )]);
    let refused = world.double.slash_command(BOB, STUDY_CHANNEL_ID, "daily", setup.clone(), NO_PERMISSIONS);
    let reply = world.callback(&refused).await;
    assert!(text_of(&reply).contains("Manage Server"), "{reply}");
    let allowed = world.double.slash_command(ADMIN, STUDY_CHANNEL_ID, "daily", setup, MANAGE_GUILD);
    assert!(text_of(&world.callback(&allowed).await).contains("every day at 09:00 (Europe/Berlin)"));
    bot.stop().await;
}

async fn set_up_daily(world: &World, channel: u64, role: Option<u64>) {
    let mut options = vec![
        opt("channel", 7, json!(channel.to_string())),
        opt("time", 3, json!("09:00")),
        opt("timezone", 3, json!("Europe/Berlin")),
    ];
    if let Some(role) = role {
        options.push(opt("role", 8, json!(role.to_string())));
    }
    let setup = world.double.slash_command(
        ADMIN,
        STUDY_CHANNEL_ID,
        "daily",
        json!([subcommand("setup", json!(options))]),
        MANAGE_GUILD,
    );
    assert!(text_of(&world.callback(&setup).await).contains("every day"));
}

fn daily_posts(world: &World, channel: u64) -> Vec<Value> {
    world
        .bot_messages(channel)
        .into_iter()
        .filter(|m| embed_titles(m).iter().any(|t| t.starts_with("Question of the day")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_question_goes_out_at_its_local_time_exactly_once_across_a_restart() {
    let world = World::new().await;
    world.clock.set(Utc.with_ymd_and_hms(2026, 12, 4, 7, 59, 0).single().expect("a time"));
    let bot = world.start().await;
    set_up_daily(&world, STUDY_CHANNEL_ID, Some(STUDY_ROLE)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(daily_posts(&world, STUDY_CHANNEL_ID).is_empty(), "not before 09:00 in Berlin (08:00 UTC)");
    world.clock.set(at("2026-12-04T08:00:30Z"));
    let world_ref = &world;
    assert!(wait_until(|| daily_posts(world_ref, STUDY_CHANNEL_ID).len() == 1).await, "posted at 09:00 Berlin");
    let post = &daily_posts(&world, STUDY_CHANNEL_ID)[0];
    let request = world
        .double
        .requests_to("POST", &format!("/channels/{STUDY_CHANNEL_ID}/messages"))
        .into_iter()
        .find(|r| text_of(&r.body).contains("Question of the day"))
        .expect("the post request");
    assert_eq!(request.body["allowed_mentions"]["roles"], json!([STUDY_ROLE.to_string()]), "only the daily role pings");
    // The thread is opened by a request of its own, after the post.
    let double = world.double.clone();
    assert!(
        wait_until(|| double.threads().iter().any(|t| t["parent_id"] == json!(STUDY_CHANNEL_ID.to_string()))).await,
        "with a discussion thread"
    );
    let first_title = embed_titles(post).join("");
    bot.stop().await;
    world.clock.set(at("2026-12-04T15:00:00Z"));
    let bot = world.start().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(daily_posts(&world, STUDY_CHANNEL_ID).len(), 1, "never twice on one local date, across a restart");
    world.clock.set(at("2026-12-05T08:01:00Z"));
    assert!(wait_until(|| daily_posts(world_ref, STUDY_CHANNEL_ID).len() == 2).await, "the next day's question");
    assert_ne!(
        embed_titles(&daily_posts(&world, STUDY_CHANNEL_ID)[1]).join(""),
        first_title,
        "no repeat until the bank is used up"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_in_the_daily_thread_are_graded_and_count_for_the_streak() {
    let world = World::new().await;
    world.clock.set(at("2026-12-04T10:00:00Z"));
    let bot = world.start().await;
    set_up_daily(&world, STUDY_CHANNEL_ID, None).await;
    let world_ref = &world;
    assert!(wait_until(|| !world_ref.double.threads().is_empty()).await, "the daily thread opens");
    let thread = id(&world.double.threads()[0]["id"]);
    // The post is recorded with its thread right after the thread opens.
    let store = Store::open(&world.database).await.expect("database opens");
    let recorded = eventually(WAIT, async || {
        store.daily_post_in_thread(&thread.to_string()).await.expect("daily posts").is_some()
    })
    .await;
    assert!(recorded, "the daily post is recorded with its thread");
    world.double.message(BOB, thread, "We clarify requirements first, estimate 10K QPS and 1 TB of storage, then design an API, a database schema, a cache and a load balancer, because reads dominate.");
    let feedback = world.nth_bot_message(thread, 1).await;
    assert!(embed_titles(&feedback).join("").contains("bob:"), "{feedback:#}");
    assert!(text_of(&feedback).contains("streak: 1 day"), "{feedback:#}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_post_is_retried_after_its_wait() {
    let world = World::new().await;
    world.clock.set(at("2026-12-04T06:00:00Z"));
    let bot = world.start().await;
    set_up_daily(&world, STUDY_CHANNEL_ID, None).await;
    world.double.rate_limit_next("POST", &format!("/channels/{STUDY_CHANNEL_ID}/messages"), 0.5);
    world.clock.set(at("2026-12-04T08:05:00Z"));
    let world_ref = &world;
    assert!(
        wait_until(|| daily_posts(world_ref, STUDY_CHANNEL_ID).len() == 1).await,
        "the post goes out after the 429"
    );
    let attempts = world.double.requests_to("POST", &format!("/channels/{STUDY_CHANNEL_ID}/messages"));
    let limited = attempts.iter().find(|r| r.status == 429).expect("the 429 was served");
    let retried = attempts.iter().find(|r| r.status < 300 && r.at > limited.at).expect("a retry");
    assert!(retried.at.duration_since(limited.at) >= Duration::from_millis(500), "it waited at least retry-after");
    assert_eq!(daily_posts(&world, STUDY_CHANNEL_ID).len(), 1, "posted once");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_post_whose_reply_was_lost_is_not_posted_twice() {
    let world = World::new().await;
    world.clock.set(at("2026-12-04T06:00:00Z"));
    let bot = world.start().await;
    set_up_daily(&world, STUDY_CHANNEL_ID, None).await;
    world.double.lose_reply_next("POST", &format!("/channels/{STUDY_CHANNEL_ID}/messages"));
    world.clock.set(at("2026-12-04T08:05:00Z"));
    let world_ref = &world;
    assert!(wait_until(|| !world_ref.double.threads().is_empty()).await, "the post and its thread go out");
    let attempts = world.double.requests_to("POST", &format!("/channels/{STUDY_CHANNEL_ID}/messages"));
    assert!(attempts.iter().any(|r| r.status == 502), "the first reply was lost");
    assert!(attempts.len() >= 2, "and the post was sent again");
    assert_eq!(daily_posts(&world, STUDY_CHANNEL_ID).len(), 1, "Discord kept one post: the retry carried its nonce");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_daily_channel_turns_its_schedule_off_without_a_crash() {
    let world = World::new().await;
    world.clock.set(at("2026-12-04T06:00:00Z"));
    let bot = world.start().await;
    set_up_daily(&world, OTHER_CHANNEL_ID, None).await;
    world.double.delete_channel(OTHER_CHANNEL_ID);
    world.clock.set(at("2026-12-04T08:05:00Z"));
    let store = Store::open(&world.database).await.expect("database opens");
    let disabled = eventually(Duration::from_secs(5), async || {
        store.daily_settings(&GUILD_ID.to_string()).await.expect("settings").is_some_and(|s| !s.enabled)
    })
    .await;
    assert!(disabled, "the schedule is off");
    let tries = world.double.requests_to("POST", &format!("/channels/{OTHER_CHANNEL_ID}/messages")).len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        world.double.requests_to("POST", &format!("/channels/{OTHER_CHANNEL_ID}/messages")).len(),
        tries,
        "no retry loop"
    );
    let status = world.double.slash_command(
        ADMIN,
        STUDY_CHANNEL_ID,
        "daily",
        json!([subcommand("status", json!([]))]),
        MANAGE_GUILD,
    );
    assert!(
        text_of(&world.callback(&status).await).contains("Off"),
        "the bot still answers, and says the schedule is off"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_in_an_answer_is_never_pinged() {
    let world = World::new().await;
    let bot = world.start().await;
    let thread = world.practice(ALICE, json!([opt("question", 3, json!("url-shortener"))])).await;
    world.double.message(
        ALICE,
        thread,
        "@everyone @here <@&5001> <@4002> we need a cache because reads dominate and a database for the URL mappings.",
    );
    world.double.message(ALICE, thread, "done");
    let feedback = world.nth_bot_message(thread, 2).await;
    assert!(embed_titles(&feedback).join("").contains("/100"));
    let sends: Vec<Recorded> = world
        .double
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && (r.path.ends_with("/messages") || r.path.ends_with("/callback")))
        .collect();
    assert!(!sends.is_empty());
    for send in sends {
        let mentions = if send.path.ends_with("/callback") {
            &send.body["data"]["allowed_mentions"]
        } else {
            &send.body["allowed_mentions"]
        };
        if send.path.ends_with("/callback") && send.body["data"].is_null() {
            continue;
        }
        assert_eq!(mentions["parse"], json!([]), "no mention type is parsed in {}: {}", send.path, send.body);
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_me_deletes_the_members_data_after_confirmation() {
    let world = World::new().await;
    let bot = world.start().await;
    world.practice(ALICE, json!([opt("question", 3, json!("url-shortener"))])).await;
    let store = Store::open(&world.database).await.expect("database opens");
    let platform = design_coach::store::Platform::Discord;
    assert!(store.find_user(platform, &ALICE.to_string()).await.expect("reads").is_some());
    let ask = world.double.slash_command(ALICE, STUDY_CHANNEL_ID, "forget-me", json!([]), NO_PERMISSIONS);
    let confirm = world.callback(&ask).await;
    let id = button(&confirm["data"], "fm:");
    let message = world.double.original_response(&ask).expect("the confirmation message");
    let by_bob = world.press(BOB, STUDY_CHANNEL_ID, &message, &id).await;
    assert!(text_of(&by_bob).contains("Only the member"));
    assert!(
        store.find_user(platform, &ALICE.to_string()).await.expect("reads").is_some(),
        "nothing deleted before Alice confirms"
    );
    let done = world.press(ALICE, STUDY_CHANNEL_ID, &message, &id).await;
    assert!(text_of(&done).contains("deleted"), "{done}");
    assert!(store.find_user(platform, &ALICE.to_string()).await.expect("reads").is_none(), "Alice's data is gone");
    bot.stop().await;
}
