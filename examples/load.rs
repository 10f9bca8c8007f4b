//! Load harness: simulated learners submitting answers through the coach engine into a real
//! SQLite file, at a fixed offered rate. Reports throughput, latency percentiles and peak memory.
//!
//! cargo run --release --example load -- [--rate 1000] [--seconds 10] [--learners 200] [--open-sessions 10000]

use chrono::Utc;
use design_coach::coach::{Advance, Coach, Learner, QuestionChoice, SystemClock};
use design_coach::content::{self, Source};
use design_coach::grading::Grader;
use design_coach::store::{Platform, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ANSWER: &str = "Client -> load balancer -> stateless app servers -> Redis cache -> key-value store. The write \
path asks a key generation service for a unique id and encodes it in base62; the read path checks the cache first \
because reads dominate 100:1, then the database, and answers 302 so that analytics sees every click.";

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Peak resident memory of this process, in MiB (VmHWM).
fn peak_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn learner(store: &Store, coach: &Coach, n: u64, choice: &QuestionChoice) -> anyhow::Result<(Learner, i64)> {
    let name = format!("learner-{n}");
    let user = store.user(Platform::Discord, &name, &name, Utc::now()).await?;
    let learner = Learner { user, place: format!("thread-{n}"), server_id: None, server_timezone: None };
    let session = coach.start(store, &SystemClock, &learner, choice, Some("four-step")).await?.id();
    Ok((learner, session))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rate = arg("--rate", 1000).max(1);
    let seconds = arg("--seconds", 10).max(1);
    let learners = arg("--learners", 200).max(1);
    let open_sessions = arg("--open-sessions", 10_000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("load.db").display());
    let store = Arc::new(Store::open(&url).await?);
    let coach = Arc::new(Coach::new(Arc::new(Grader::new(content::load(&Source::Embedded)?))));
    let choice = QuestionChoice { id: Some("url-shortener".into()), ..Default::default() };

    let started = Instant::now();
    let mut idle = Vec::new();
    for n in 0..open_sessions.saturating_sub(learners) {
        idle.push(learner(&store, &coach, 1_000_000 + n, &choice).await?);
    }
    let mut active = Vec::new();
    for n in 0..learners {
        active.push(learner(&store, &coach, n, &choice).await?);
    }
    println!(
        "opened {} sessions in {:.1}s; peak memory {:.1} MiB",
        idle.len() + active.len(),
        started.elapsed().as_secs_f64(),
        peak_memory_mib()
    );

    // Each learner submits every `learners / rate` seconds, staggered: an open-loop offered load.
    let period = Duration::from_secs_f64(learners as f64 / rate as f64);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let run_started = Instant::now();
    let tasks: Vec<_> = active
        .into_iter()
        .enumerate()
        .map(|(i, (learner, mut session))| {
            let (store, coach, choice) = (store.clone(), coach.clone(), choice.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let offset = period.mul_f64(i as f64 / learners as f64);
                let mut next = Instant::now() + offset;
                while next < deadline {
                    tokio::time::sleep_until(next.into()).await;
                    let begun = Instant::now();
                    let result = async {
                        coach.answer(&store, session, ANSWER).await?;
                        coach.submit(&store, &SystemClock, &learner, session).await
                    }
                    .await;
                    match result {
                        Ok(_) => latencies.push((begun.elapsed(), begun.duration_since(run_started))),
                        Err(error) => {
                            errors += 1;
                            eprintln!("submission failed: {error}");
                        }
                    }
                    // Like a learner: on to the next step, and a new session after the last one.
                    match coach.next(&store, &SystemClock, &learner, session).await {
                        Ok(Advance::Step(_)) => {}
                        Ok(Advance::Finished(_)) => {
                            match coach.start(&store, &SystemClock, &learner, &choice, Some("four-step")).await {
                                Ok(view) => session = view.id(),
                                Err(error) => eprintln!("cannot start a new session: {error}"),
                            }
                        }
                        Err(error) => eprintln!("cannot move on: {error}"),
                    }
                    next += period;
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut timed = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mut l, e) = task.await?;
        timed.append(&mut l);
        errors += e;
    }
    // Slow submissions by the second they started in: a steady trickle is load, a cluster is a stall.
    let mut slow_by_second = vec![0u32; seconds as usize + 1];
    for (latency, at) in &timed {
        if *latency > Duration::from_millis(10) {
            slow_by_second[(at.as_secs() as usize).min(seconds as usize)] += 1;
        }
    }
    println!("submissions over 10 ms, per second of the run: {slow_by_second:?}");
    let mut latencies: Vec<Duration> = timed.into_iter().map(|(latency, _)| latency).collect();
    let elapsed = run_started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "offered {rate}/s for {seconds}s with {learners} learners: {} submissions, {:.0}/s sustained, {errors} errors",
        latencies.len(),
        latencies.len() as f64 / elapsed
    );
    println!(
        "latency per submission (answer + grade + store + streak): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    println!("peak memory {:.1} MiB with {} open sessions", peak_memory_mib(), idle.len() + learners as usize);
    store.close().await;
    Ok(())
}
