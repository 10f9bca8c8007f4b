//! `design-coach practice`, `quiz` and `progress` in a terminal: reads lines, calls the coach,
//! prints what it says. Works the same with a terminal or piped stdin.

use super::{Missed, render_items, score_bar};
use crate::coach::{
    Advance, Clock, Coach, CoachError, Learner, Progress, QuestionChoice, Report, SessionView, StepFeedback,
};
use crate::store::Store;
use std::io::{BufRead, Write};

pub struct PracticeOptions {
    pub choice: QuestionChoice,
    pub framework: Option<String>,
    pub resume: bool,
}

const COMMANDS: &str = "Type your answer (any number of lines); `/done` submits it. Also: /hint, /skip, /quit.";

fn minutes(seconds: u64) -> String {
    if seconds < 60 { format!("{seconds}s") } else { format!("{}m", seconds / 60) }
}

fn show_step(out: &mut dyn Write, view: &SessionView<'_>, now: chrono::DateTime<chrono::Utc>) -> std::io::Result<()> {
    writeln!(
        out,
        "\nStep {}/{} {} {}  (time {} of {}m)",
        view.step_number(),
        view.step_count(),
        view.step.id,
        view.progress_bar(),
        minutes(view.seconds_on_step(now)),
        view.step.minutes
    )?;
    writeln!(out, "{}\n{}", view.step.title, view.prompt())?;
    if !view.draft.text.trim().is_empty() {
        writeln!(
            out,
            "(Your answer so far is kept: {} lines. Keep typing, or /done.)",
            view.draft.text.lines().count()
        )?;
    }
    if let Some(best) = view.best_score() {
        writeln!(out, "(Graded before: best {best}/100. Type a revision and /done, or /next.)")?;
    }
    writeln!(out, "{COMMANDS}")
}

/// Missed items listed after a step: more is a wall of text after a short first attempt.
const MISSED_LISTED: usize = 6;

fn show_feedback(out: &mut dyn Write, feedback: &StepFeedback, budget_minutes: u32) -> std::io::Result<()> {
    let grade = &feedback.grade;
    writeln!(
        out,
        "\nScore {:>3}/100  {}  (attempt {}, best {})",
        grade.score,
        score_bar(grade.score, 20),
        feedback.attempt,
        feedback.best
    )?;
    writeln!(out, "Time {} of {budget_minutes}m", minutes(feedback.seconds_taken))?;
    write!(out, "{}", render_items(grade, Missed::MostImportant(MISSED_LISTED)))?;
    writeln!(out, "Streak: {} day{}.", feedback.streak.current, if feedback.streak.current == 1 { "" } else { "s" })?;
    writeln!(
        out,
        "`/next` moves on; or type a revision and `/done` again (your best attempt counts); `/hint` for a hint."
    )
}

pub fn render_report(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("\n=== Final report: {} ({}) ===\n", report.title, report.framework));
    out.push_str(&format!("Overall {:>3}/100  {}\n\n", report.overall, score_bar(report.overall, 20)));
    for step in &report.steps {
        let score = match (step.score, step.skipped) {
            (Some(score), _) => format!("{score:>3}/100 {}", score_bar(score, 10)),
            (None, true) => "skipped".to_string(),
            (None, false) => "not answered".to_string(),
        };
        out.push_str(&format!(
            "  {:<14} {:<26} attempts {}  time {} of {}m\n",
            step.step,
            score,
            step.attempts,
            minutes(step.seconds_used),
            step.budget_minutes
        ));
    }
    out.push_str("\nInterview checklist:\n");
    for check in &report.checklist {
        let mark = if check.ticked { "\u{2713}" } else { "\u{2717}" };
        out.push_str(&format!("  {mark} {}\n", check.label));
    }
    if !report.red_flags.is_empty() {
        out.push_str("\nRed flags:\n");
        for flag in &report.red_flags {
            out.push_str(&format!("  \u{2691} {} \u{2014} {}\n", flag.label, flag.why));
        }
    }
    if !report.weakest_concepts.is_empty() {
        out.push_str("\nWeakest concepts:\n");
        for stat in &report.weakest_concepts {
            out.push_str(&format!("  {} (missed {} of {})\n", stat.label, stat.missed, stat.seen));
        }
    }
    if let Some(topic) = &report.suggested_quiz_topic {
        out.push_str(&format!("\nSuggested drill: design-coach quiz --topic {topic}\n"));
    }
    out
}

/// Runs a practice session on `input` until it finishes, the learner quits, or input ends
/// (the session is saved and can be resumed).
/// What every terminal command works with.
pub struct Context<'a> {
    pub coach: &'a Coach,
    pub store: &'a Store,
    pub clock: &'a dyn Clock,
    pub learner: &'a Learner,
}

pub async fn practice(
    context: &Context<'_>,
    options: &PracticeOptions,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let Context { coach, store, clock, learner } = *context;
    let mut view = if options.resume {
        match coach.resume(store, clock, learner).await? {
            Some(view) => {
                writeln!(out, "Resuming {} ({} framework).", view.question.title, view.framework.id)?;
                view
            }
            None => return Err(CoachError::NoActiveSession.into()),
        }
    } else {
        let view = coach.start(store, clock, learner, &options.choice, options.framework.as_deref()).await.map_err(
            |error| match error {
                CoachError::AlreadyActive { .. } => anyhow::anyhow!("{error}: run `design-coach practice --resume`"),
                other => other.into(),
            },
        )?;
        writeln!(
            out,
            "{} [{}] \u{2014} {} framework, {} minutes",
            view.question.title,
            view.question.difficulty,
            view.framework.id,
            view.framework.total_minutes()
        )?;
        writeln!(out, "\n{}", view.question.scenario.trim())?;
        view
    };
    show_step(out, &view, clock.now())?;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            writeln!(out, "\nSaved. Continue with `design-coach practice --resume`.")?;
            return Ok(());
        }
        let text = line.trim_end_matches(['\n', '\r']);
        let command = text.trim();
        let session = view.id();
        match command {
            "/done" | "/submit" => match coach.submit(store, clock, learner, session).await {
                Ok(feedback) => show_feedback(out, &feedback, view.step.minutes)?,
                Err(error @ CoachError::EmptyAnswer) => writeln!(out, "{error}.")?,
                Err(error) => return Err(error.into()),
            },
            "/next" | "/skip" => {
                let advance = if command == "/next" {
                    coach.next(store, clock, learner, session).await
                } else {
                    coach.skip(store, clock, learner, session).await
                };
                match advance {
                    Ok(Advance::Step(next)) => {
                        view = *next;
                        show_step(out, &view, clock.now())?;
                    }
                    Ok(Advance::Finished(report)) => {
                        write!(out, "{}", render_report(&report))?;
                        return Ok(());
                    }
                    Err(error @ CoachError::NotSubmitted) => writeln!(out, "{error}.")?,
                    Err(error) => return Err(error.into()),
                }
            }
            "/hint" => match coach.hint(store, session).await? {
                Some(hint) => writeln!(out, "Hint: {} \u{2014} {}\n  Why: {}", hint.label, hint.hint, hint.why)?,
                None => writeln!(out, "No more hints for this step: everything is covered.")?,
            },
            "/quit" => {
                coach.abandon(store, clock, session).await?;
                writeln!(out, "Session ended. Start another with `design-coach practice`.")?;
                return Ok(());
            }
            "/help" => writeln!(out, "{COMMANDS} After a grade: /next.")?,
            other if other.starts_with('/') && !other.contains(' ') && other.len() < 12 => {
                writeln!(out, "Unknown command {other}. {COMMANDS}")?
            }
            _ => match coach.answer(store, session, text).await {
                Ok(_) => {}
                Err(error @ CoachError::AnswerTooLong { .. }) => writeln!(out, "{error}.")?,
                Err(error) => return Err(error.into()),
            },
        }
    }
}

/// Asks `count` quiz questions, answered by letter.
pub async fn quiz(
    context: &Context<'_>,
    topic: Option<&str>,
    count: usize,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let Context { coach, store, clock, learner } = *context;
    let items = coach.quiz(topic, count)?;
    let (mut asked, mut right) = (0, 0);
    let mut line = String::new();
    'items: for (number, item) in items.iter().enumerate() {
        writeln!(out, "\nQ{}/{} [{}] {}", number + 1, items.len(), item.topic, item.question)?;
        for (letter, option) in crate::content::QuizItem::LETTERS.iter().zip(&item.options) {
            writeln!(out, "  {letter}) {option}")?;
        }
        let chosen = loop {
            write!(out, "Your answer (A-D): ")?;
            out.flush()?;
            line.clear();
            if input.read_line(&mut line)? == 0 {
                break 'items;
            }
            let answer = line.trim().to_ascii_uppercase();
            match answer.as_str() {
                "A" | "1" => break 0,
                "B" | "2" => break 1,
                "C" | "3" => break 2,
                "D" | "4" => break 3,
                _ => writeln!(out, "Answer with a letter A, B, C or D.")?,
            }
        };
        let feedback = coach.answer_quiz(store, clock, learner, item, chosen).await?;
        asked += 1;
        if feedback.correct {
            right += 1;
            writeln!(out, "\u{2713} Right. {}", feedback.explanation)?;
        } else {
            writeln!(out, "\u{2717} The answer is {}. {}", feedback.right_answer, feedback.explanation)?;
        }
    }
    writeln!(out, "\nQuiz: {right}/{asked} right.")?;
    Ok(())
}

pub fn render_progress(progress: &Progress, today: chrono::NaiveDate) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Streak: {} day(s) (longest {}), freezes held: {}\nSessions completed: {}\nQuiz: {}/{} right\n",
        progress.current_streak,
        progress.longest_streak,
        progress.freezes,
        progress.sessions_completed,
        progress.quiz_correct,
        progress.quiz_answered
    ));
    if !progress.step_averages.is_empty() {
        out.push_str("\nAverage score per step:\n");
        for (step, average) in &progress.step_averages {
            out.push_str(&format!("  {step:<14} {:>5.1}  {}\n", average, score_bar(average.round() as u32, 10)));
        }
    }
    if !progress.weakest_concepts.is_empty() {
        out.push_str("\nWeakest concepts:\n");
        for stat in &progress.weakest_concepts {
            out.push_str(&format!("  {:<40} missed {} of {}\n", stat.label, stat.missed, stat.seen));
        }
    }
    out.push_str("\nLast 8 weeks (oldest first, one row per week):\n");
    for week in progress.activity_weeks(today) {
        out.push_str("  ");
        out.extend(week.iter().map(|&active| if active { '\u{25a0}' } else { '\u{00b7}' }));
        out.push('\n');
    }
    out
}
