//! The terminal front end end to end: `practice`, `--resume`, `quiz` and `progress` on a fresh
//! database, and an answer that survives SIGKILL.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox { dir: tempfile::tempdir().unwrap() }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_design-coach"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("DATABASE_URL", format!("sqlite://{}", self.dir.path().join("coach.db").display()))
            .env("USER", "tester")
            .env("TZ", "Europe/Paris")
            .env_remove("RUST_LOG");
        command
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    fn progress(&self) -> Value {
        let output = self.run(&["progress", "--json"], "");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("progress --json is JSON")
    }
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const CLARIFY: &str = "Functional: shorten a long URL and redirect to it. Non-functional: redirects under 50 ms \
p99, 99.99% availability. It is read-heavy, about 100:1, because links are shared widely.\nScale: 100M new URLs a \
day, so about 1,200 writes per second.\n";

#[test]
fn a_session_interrupted_after_step_one_resumes_and_finishes() {
    let sandbox = Sandbox::new();
    let first = sandbox
        .run(&["practice", "--question", "url-shortener", "--framework", "four-step"], &format!("{CLARIFY}/done\n"));
    assert!(first.status.success(), "end of input exits 0: {}", String::from_utf8_lossy(&first.stderr));
    let out = text(&first);
    assert!(out.contains("Step 1/4 clarify \u{25b0}\u{25b1}\u{25b1}\u{25b1}"), "{out}");
    assert!(out.contains("Score") && out.contains("Covered"), "{out}");
    assert!(out.contains("practice --resume"), "{out}");

    let second = sandbox.run(
        &["practice", "--resume"],
        "Client -> load balancer -> stateless app servers -> Redis cache -> key-value store, because reads dominate.\n\
         /done\n/next\n\
         We generate codes by base62-encoding a counter from a key generation service, so codes never collide.\n\
         /hint\n/done\n/next\n\
         To recap: 302 over 301 so that we keep analytics; the trade-off is more load on the redirect path.\n\
         /done\n/next\n",
    );
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    let out = text(&second);
    assert!(out.contains("Resuming"), "{out}");
    assert!(
        out.contains("Step 2/4 high-level \u{25b0}\u{25b0}\u{25b1}\u{25b1}"),
        "continues at the high-level step: {out}"
    );
    assert!(out.contains("Step 3/4 deep-dive") && out.contains("Step 4/4 wrap-up"), "{out}");
    assert!(out.contains("Hint:"), "{out}");
    assert!(out.contains("Final report") && out.contains("Interview checklist"), "{out}");
    assert!(out.matches("Score").count() >= 3, "{out}");

    let progress = sandbox.progress();
    assert_eq!(progress["current_streak"], 1, "{progress}");
    assert_eq!(progress["longest_streak"], 1);
    assert_eq!(progress["sessions_completed"], 1);
    for field in ["freezes", "step_averages", "weakest_concepts"] {
        assert!(!progress[field].is_null(), "progress has {field}: {progress}");
    }
    assert!(progress["step_averages"]["clarify"].as_f64().unwrap() > 0.0);

    let none = sandbox.run(&["practice", "--resume"], "");
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no practice session in progress"));
}

#[test]
fn commands_and_refusals_are_clear() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["practice", "--question", "url-shortener"], "/next\n/bogus\n/done\n/quit\n");
    let out = text(&output);
    assert!(output.status.success());
    assert!(out.contains("submit this step (or skip it) before moving on"), "{out}");
    assert!(out.contains("Unknown command /bogus"), "{out}");
    assert!(out.contains("write your answer to this step before submitting it"), "{out}");
    assert!(out.contains("Session ended"), "{out}");

    let output = sandbox.run(&["practice", "--question", "url-shortner"], "");
    assert!(String::from_utf8_lossy(&output.stderr).contains("did you mean `url-shortener`"));
    let output = sandbox.run(&["practice", "--difficulty", "extreme"], "");
    assert!(String::from_utf8_lossy(&output.stderr).contains("easy, medium, hard"));

    sandbox.run(&["practice", "--question", "pastebin"], "Some text\n");
    let output = sandbox.run(&["practice", "--question", "twitter"], "");
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("already have a session") && message.contains("--resume"), "{message}");
}

#[test]
fn a_quiz_is_answered_by_letter_and_counts_for_the_streak() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["quiz", "--topic", "caching", "--count", "3"], "A\nx\nb\n2\n");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let out = text(&output);
    assert!(out.contains("Q1/3 [caching]") && out.contains("D) "), "{out}");
    assert!(out.contains("Answer with a letter A, B, C or D."), "{out}");
    assert!(out.contains("Quiz: ") && out.contains("/3 right"), "{out}");
    let progress = sandbox.progress();
    assert_eq!(progress["current_streak"], 1);
    assert_eq!(progress["quiz_answered"], 3);
    let output = sandbox.run(&["quiz", "--topic", "cachng"], "");
    assert!(String::from_utf8_lossy(&output.stderr).contains("did you mean `caching`"));
}

#[test]
fn a_submitted_answer_survives_sigkill() {
    let sandbox = Sandbox::new();
    let mut child = sandbox
        .command(&["practice", "--question", "url-shortener", "--framework", "four-step"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{CLARIFY}/done\n").as_bytes()).unwrap();
    stdin.flush().unwrap();
    // Wait until the grade is printed: the attempt is committed before the feedback.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|line| line.is_ok_and(|line| line.starts_with("Score"))), "the step was graded");
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    drop(stdin);

    let progress = sandbox.progress();
    assert!(progress["step_averages"]["clarify"].as_f64().unwrap() > 0.0, "the graded answer is there: {progress}");
    assert_eq!(progress["current_streak"], 1);
    let resumed = sandbox.run(&["practice", "--resume"], "");
    assert!(text(&resumed).contains("Step 2/4 high-level"), "{}", text(&resumed));
}

#[test]
fn settings_come_from_a_dot_env_file_in_the_working_directory() {
    let sandbox = Sandbox::new();
    let database = sandbox.dir.path().join("from-dot-env.db");
    std::fs::write(
        sandbox.dir.path().join(".env"),
        format!("# settings\nDATABASE_URL=sqlite://{}\n", database.display()),
    )
    .unwrap();
    let output = sandbox.command(&["progress", "--json"]).env_remove("DATABASE_URL").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(database.exists(), "the database named in .env is the one used");

    std::fs::write(sandbox.dir.path().join(".env"), "DISCORD_TOKEN secret-token-value\n").unwrap();
    let output = sandbox.command(&["progress", "--json"]).output().unwrap();
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(error.contains("cannot read .env"), "{error}");
    assert!(!error.contains("secret-token-value"), "a malformed line is not echoed whole: {error}");
}
