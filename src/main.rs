//! The `design-coach` command line.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use design_coach::coach::{Coach, Learner, QuestionChoice, SystemClock};
use design_coach::content::{self, Content, Difficulty, Source};
use design_coach::grading::Grader;
use design_coach::store::{Platform, Store};
use design_coach::terminal::practice::{self, PracticeOptions};
use design_coach::{eval, terminal};
use serde::Serialize;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "design-coach", version, about = "A coach for system design interviews.")]
struct Cli {
    /// Read the content from DIR (holding prompts/ and rubrics/) instead of the built-in content.
    #[arg(long, global = true, value_name = "DIR")]
    content: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the design questions.
    Questions {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Grade answers against a question's rubric.
    Grade {
        /// The question id (see `design-coach questions`).
        #[arg(long)]
        question: String,
        /// Grade against one step only (default: the whole answer against every step).
        #[arg(long)]
        step: Option<String>,
        /// Print one JSON object per file instead of a report.
        #[arg(long)]
        json: bool,
        /// Answer files; `-` reads stdin.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Validate all content, including every rubric example and near miss.
    Check {
        /// Print JSON counts instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Measure rubric items against a labelled CSV: question,step,item,expected,response.
    Eval {
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
    },
    /// Practise a design question step by step in the terminal.
    Practice {
        /// The question id (default: a random one you have not done recently).
        #[arg(long)]
        question: Option<String>,
        /// The framework to walk through (default: the question's own).
        #[arg(long)]
        framework: Option<String>,
        /// Pick a random question of this difficulty (easy, medium, hard).
        #[arg(long)]
        difficulty: Option<String>,
        /// Pick a random question with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Continue your unfinished session.
        #[arg(long, conflicts_with_all = ["question", "framework", "difficulty", "tag"])]
        resume: bool,
    },
    /// A multiple-choice concept quiz, answered by letter.
    Quiz {
        /// Only this topic (default: all topics).
        #[arg(long)]
        topic: Option<String>,
        /// How many questions.
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// Your streak, scores per step and weakest concepts.
    Progress {
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Run the Discord bot (reads DISCORD_TOKEN, DATABASE_URL and DEV_GUILD_ID).
    Bot,
}

fn main() -> ExitCode {
    // Before logging starts, so a `RUST_LOG` in `.env` takes effect too.
    let settings_file = load_settings_file();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(error) = settings_file {
        let _ = writeln!(std::io::stderr(), "error: {error:#}");
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Settings from `.env` in the working directory, if there is one; variables already set in the
/// environment win over it.
fn load_settings_file() -> Result<()> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(()),
        Err(dotenvy::Error::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        // Only the line's start is quoted: the rest may be a secret such as the bot token.
        Err(dotenvy::Error::LineParse(line, _)) => {
            let name: String = line
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
                .take(40)
                .collect();
            bail!("cannot read .env: the line starting `{name}` is not NAME=value; fix or remove it")
        }
        Err(error) => bail!("cannot read .env: {error}; fix or remove the file"),
    }
}

fn source(cli: &Cli) -> Source {
    cli.content.clone().map_or(Source::Embedded, Source::Directory)
}

fn load(cli: &Cli) -> Result<Content> {
    let started = std::time::Instant::now();
    let content = content::load(&source(cli)).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    tracing::debug!(elapsed = ?started.elapsed(), questions = content.questions.len(), "content loaded");
    Ok(content)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Questions { json } => questions(&load(&cli)?, *json),
        Command::Grade { question, step, json, files } => {
            grade(Grader::new(load(&cli)?), question, step.as_deref(), *json, files)
        }
        Command::Check { json } => check(&cli, *json),
        Command::Practice { .. } | Command::Quiz { .. } | Command::Progress { .. } => {
            let grader = Grader::new(load(&cli)?);
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(local_coach(grader, &cli.command))
        }
        Command::Bot => {
            // Check the token before loading anything: the most common first-run mistake.
            let settings = design_coach::discord::BotSettings::from_env()?;
            let grader = Grader::new(load(&cli)?);
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(bot(grader, settings))
        }
        Command::Eval { file } => {
            let grader = Grader::new(load(&cli)?);
            let input = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
            let report = eval::evaluate(&grader, input)?;
            print!("{}", eval::render(&report));
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn bot(grader: Grader, settings: design_coach::discord::BotSettings) -> Result<ExitCode> {
    let store = Store::open(&Store::url_from_env()).await?;
    let coach = Arc::new(Coach::new(Arc::new(grader)));
    let outcome =
        design_coach::discord::run(settings, coach, store.clone(), Arc::new(SystemClock), stop_signal()).await;
    store.close().await;
    outcome?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM (what `docker stop` sends).
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the bot");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The terminal learner: the login name, in the time zone `TZ` names (if it is an IANA name).
async fn local_learner(store: &Store) -> Result<Learner> {
    let name = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "local".into());
    let now = chrono::Utc::now();
    let mut user = store.user(Platform::Local, &name, &name, now).await?;
    if let Ok(zone) = std::env::var("TZ")
        && zone.parse::<chrono_tz::Tz>().is_ok()
        && user.timezone.as_deref() != Some(zone.as_str())
    {
        store.set_timezone(user.id, Some(&zone)).await?;
        user.timezone = Some(zone);
    }
    Ok(Learner { user, place: "terminal".into(), server_id: None, server_timezone: None })
}

async fn local_coach(grader: Grader, command: &Command) -> Result<ExitCode> {
    let url = Store::url_from_env();
    let store = Store::open(&url).await?;
    let coach = Coach::new(Arc::new(grader));
    let learner = local_learner(&store).await?;
    let clock = SystemClock;
    let context = practice::Context { coach: &coach, store: &store, clock: &clock, learner: &learner };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    let result = match command {
        Command::Practice { question, framework, difficulty, tag, resume } => {
            let difficulty = match difficulty.as_deref() {
                None => None,
                Some(text) => Some(Difficulty::parse(text).with_context(|| {
                    format!("--difficulty {text:?} must be one of {}", Difficulty::NAMES.join(", "))
                })?),
            };
            let options = PracticeOptions {
                choice: QuestionChoice { id: question.clone(), difficulty, tag: tag.clone() },
                framework: framework.clone(),
                resume: *resume,
            };
            practice::practice(&context, &options, &mut input, &mut out).await
        }
        Command::Quiz { topic, count } => {
            practice::quiz(&context, topic.as_deref(), *count, &mut input, &mut out).await
        }
        Command::Progress { json } => {
            let progress = coach.progress(&store, &clock, &learner).await?;
            if *json {
                serde_json::to_writer_pretty(&mut out, &progress)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", practice::render_progress(&progress, learner.today(chrono::Utc::now())))?;
            }
            Ok(())
        }
        _ => Ok(()),
    };
    store.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct StepSummary<'a> {
    id: &'a str,
    title: &'a str,
    minutes: u32,
}

#[derive(Serialize)]
struct QuestionSummary<'a> {
    id: &'a str,
    title: &'a str,
    difficulty: content::Difficulty,
    tags: &'a [String],
    framework: &'a str,
    steps: Vec<StepSummary<'a>>,
}

fn questions(content: &Content, json: bool) -> Result<ExitCode> {
    let summaries: Vec<QuestionSummary<'_>> = content
        .questions
        .iter()
        .map(|question| QuestionSummary {
            id: &question.id,
            title: &question.title,
            difficulty: question.difficulty,
            tags: &question.tags,
            framework: &question.framework,
            steps: content
                .framework(&question.framework)
                .map(|framework| {
                    framework
                        .steps
                        .iter()
                        .map(|step| StepSummary { id: &step.id, title: &step.title, minutes: step.minutes })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &summaries)?;
        writeln!(out)?;
    } else {
        for summary in &summaries {
            writeln!(out, "{:<24} {:<7} {:<6} {}", summary.id, summary.difficulty, summary.framework, summary.title)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct GradeLine<'a> {
    file: String,
    #[serde(flatten)]
    grade: &'a design_coach::grading::Grade,
}

#[derive(Serialize)]
struct ErrorLine {
    file: String,
    error: String,
}

/// Files graded together before their results are written, in order.
const GRADE_BATCH: usize = 256;

/// One file's result, rendered: stdout text, or an error (with its JSON line in --json mode).
enum Outcome {
    Graded(String),
    Failed { json_line: Option<String>, message: String },
}

struct GradeJob<'a> {
    grader: &'a Grader,
    question: &'a str,
    step: Option<&'a str>,
    json: bool,
    title: &'a str,
    several: bool,
}

impl GradeJob<'_> {
    fn run(&self, path: &std::path::Path) -> Result<Outcome> {
        let name = path.display().to_string();
        let text = match terminal::read_answer(path) {
            Ok(text) => text,
            Err(error) => {
                let json_line = if self.json {
                    Some(serde_json::to_string(&ErrorLine { file: name, error: error.to_string() })?)
                } else {
                    None
                };
                return Ok(Outcome::Failed { json_line, message: error.to_string() });
            }
        };
        let graded = self.grader.grade(self.question, self.step, &text)?;
        Ok(Outcome::Graded(if self.json {
            serde_json::to_string(&GradeLine { file: name, grade: &graded })? + "\n"
        } else {
            let header = if self.several { format!("== {name}\n") } else { String::new() };
            header + &terminal::render_grade(&graded, self.title)
        }))
    }
}

fn grade(grader: Grader, question: &str, step: Option<&str>, json: bool, files: &[PathBuf]) -> Result<ExitCode> {
    // Unknown ids are a usage error, reported once rather than per file.
    let found = grader.question(question)?;
    let title = found.title.clone();
    if let Some(step) = step {
        grader.grade(question, Some(step), "")?;
    }
    let job = GradeJob { grader: &grader, question, step, json, title: &title, several: files.len() > 1 };
    // Grading is pure, so a batch of files is spread over the cores and written in order.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = false;
    let mut written = 0usize;
    let mut write = |outcomes: Vec<Result<Outcome>>, out: &mut BufWriter<std::io::StdoutLock<'_>>| -> Result<()> {
        for outcome in outcomes {
            match outcome? {
                Outcome::Graded(text) => {
                    if !json && written > 0 {
                        writeln!(out)?;
                    }
                    out.write_all(text.as_bytes())?;
                    written += 1;
                }
                Outcome::Failed { json_line, message } => {
                    failed = true;
                    match json_line {
                        Some(line) => writeln!(out, "{line}")?,
                        None => {
                            out.flush()?;
                            eprintln!("error: {message}");
                        }
                    }
                }
            }
        }
        Ok(())
    };
    // While the workers grade one batch, this thread writes the previous one.
    let mut previous: Option<Vec<Result<Outcome>>> = None;
    for batch in files.chunks(GRADE_BATCH) {
        let per_worker = batch.len().div_ceil(workers).max(1);
        let outcomes = std::thread::scope(|scope| -> Result<Vec<Result<Outcome>>> {
            let handles: Vec<_> = batch
                .chunks(per_worker)
                .map(|part| scope.spawn(|| part.iter().map(|path| job.run(path)).collect::<Vec<_>>()))
                .collect();
            if let Some(done) = previous.take() {
                write(done, &mut out)?;
            }
            Ok(handles
                .into_iter()
                .flat_map(|handle| {
                    handle.join().unwrap_or_else(|_| vec![Err(anyhow::anyhow!("a grading thread failed"))])
                })
                .collect())
        })?;
        previous = Some(outcomes);
    }
    if let Some(done) = previous.take() {
        write(done, &mut out)?;
    }
    out.flush()?;
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

#[derive(Serialize)]
struct CheckSummary {
    ok: bool,
    frameworks: usize,
    questions: usize,
    rubric_items: usize,
    concepts: usize,
    quiz_items: usize,
    quiz_topics: usize,
    problems: Vec<String>,
}

fn check(cli: &Cli, json: bool) -> Result<ExitCode> {
    let (content, mut problems) = match content::load(&source(cli)) {
        Ok(content) => (Some(content), Vec::new()),
        Err(errors) => (None, errors.0.iter().map(ToString::to_string).collect()),
    };
    let mut summary = CheckSummary {
        ok: false,
        frameworks: 0,
        questions: 0,
        rubric_items: 0,
        concepts: 0,
        quiz_items: 0,
        quiz_topics: 0,
        problems: Vec::new(),
    };
    if let Some(content) = content {
        summary.frameworks = content.frameworks.len();
        summary.questions = content.questions.len();
        summary.rubric_items = content.rubric_item_count();
        summary.concepts = content.concepts.len();
        summary.quiz_items = content.quiz.len();
        summary.quiz_topics = content.quiz_topics().len();
        problems.extend(Grader::new(content).example_failures());
    }
    summary.ok = problems.is_empty();
    summary.problems = problems;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        for problem in &summary.problems {
            eprintln!("{problem}");
        }
        if !summary.ok {
            bail!("the content has {} problem(s); see above", summary.problems.len());
        }
        println!(
            "content ok: {} frameworks, {} questions, {} rubric items, {} concepts, {} quiz items in {} topics",
            summary.frameworks,
            summary.questions,
            summary.rubric_items,
            summary.concepts,
            summary.quiz_items,
            summary.quiz_topics
        );
    }
    Ok(if summary.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
