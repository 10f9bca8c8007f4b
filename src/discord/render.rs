//! What the bot shows, as Discord messages: embeds within Discord's limits, buttons whose ids
//! carry their session, and text split to the message limit. No I/O here.

use crate::coach::daily::LeaderboardLine;
use crate::coach::{HintView, Progress, Report, SessionView, StepFeedback};
use crate::content::{Question, QuizItem};
use crate::grading::Grade;
use crate::terminal::score_bar;
use serenity::all::{ButtonStyle, Colour, CreateActionRow, CreateButton, CreateEmbed};

/// Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
pub const MESSAGE_LIMIT: usize = 2_000;
pub const EMBED_TITLE_LIMIT: usize = 256;
pub const EMBED_DESCRIPTION_LIMIT: usize = 4_096;
pub const FIELD_NAME_LIMIT: usize = 256;
pub const FIELD_VALUE_LIMIT: usize = 1_024;
pub const FIELDS_LIMIT: usize = 25;
pub const EMBED_TOTAL_LIMIT: usize = 6_000;

const BLUE: Colour = Colour(0x3b82f6);
const GREEN: Colour = Colour(0x22c55e);
const AMBER: Colour = Colour(0xf59e0b);
const RED: Colour = Colour(0xef4444);

/// `text` cut to `limit` characters, with an ellipsis when something was cut.
pub fn clip(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(limit.saturating_sub(1)).collect();
    clipped.push('\u{2026}');
    clipped
}

/// Splits text into messages of at most `limit` characters, at line breaks where it can, then
/// at spaces, and only inside a word when a word is longer than a message.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for piece in text.split_inclusive(['\n', ' ']) {
        let len = piece.chars().count();
        if current_len + len > limit && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if len > limit {
            let chars: Vec<char> = piece.chars().collect();
            for chunk in chars.chunks(limit) {
                if current_len + chunk.len() > limit {
                    parts.push(std::mem::take(&mut current));
                    current_len = 0;
                }
                current.extend(chunk);
                current_len += chunk.len();
            }
        } else {
            current.push_str(piece);
            current_len += len;
        }
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts.retain(|part| !part.trim().is_empty());
    parts
}

/// An embed under construction that keeps to every embed limit: fields beyond the limits
/// are dropped with a note rather than making Discord refuse the whole message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Card {
    pub title: String,
    pub description: String,
    pub fields: Vec<(String, String)>,
    pub colour: u32,
    pub footer: Option<String>,
}

impl Card {
    pub fn new(title: impl AsRef<str>, description: impl AsRef<str>, colour: Colour) -> Card {
        Card {
            title: clip(title.as_ref(), EMBED_TITLE_LIMIT),
            description: clip(description.as_ref(), EMBED_DESCRIPTION_LIMIT),
            fields: Vec::new(),
            colour: colour.0,
            footer: None,
        }
    }

    fn total(&self) -> usize {
        self.title.chars().count()
            + self.description.chars().count()
            + self.footer.as_ref().map_or(0, |f| f.chars().count())
            + self.fields.iter().map(|(n, v)| n.chars().count() + v.chars().count()).sum::<usize>()
    }

    /// Adds a field (a list, one entry a line), keeping as many whole lines as fit.
    pub fn field(mut self, name: &str, lines: &[String]) -> Card {
        if lines.is_empty() || self.fields.len() >= FIELDS_LIMIT {
            return self;
        }
        let name = clip(name, FIELD_NAME_LIMIT);
        let room = FIELD_VALUE_LIMIT.min(EMBED_TOTAL_LIMIT.saturating_sub(self.total() + name.chars().count() + 64));
        // Too little room for one readable line: leave the field out rather than overflow.
        if room < 48 {
            return self;
        }
        let mut value = String::new();
        for (shown, line) in lines.iter().enumerate() {
            let line = clip(line, room.min(300));
            let more = format!("\u{2026} and {} more", lines.len() - shown);
            if value.chars().count() + line.chars().count() + 1 + more.chars().count() + 1 > room {
                value.push_str(&more);
                break;
            }
            value.push_str(&line);
            value.push('\n');
        }
        if value.trim().is_empty() {
            return self;
        }
        self.fields.push((name, value.trim_end().to_string()));
        self
    }

    pub fn footer(mut self, text: &str) -> Card {
        let room = EMBED_TOTAL_LIMIT.saturating_sub(self.total()).min(2_048);
        self.footer = Some(clip(text, room));
        self
    }

    pub fn embed(&self) -> CreateEmbed {
        let mut embed =
            CreateEmbed::new().title(&self.title).description(&self.description).colour(Colour(self.colour));
        for (name, value) in &self.fields {
            embed = embed.field(name, value, false);
        }
        if let Some(footer) = &self.footer {
            embed = embed.footer(serenity::all::CreateEmbedFooter::new(footer));
        }
        embed
    }
}

fn quote(text: &str) -> String {
    // Backticks would end the code span that keeps the learner's words from rendering as markup.
    format!("\u{201c}{}\u{201d}", clip(&text.replace('`', "'"), 120))
}

fn minutes(seconds: u64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The colour of a score.
fn colour_of(score: u32) -> Colour {
    match score {
        70.. => GREEN,
        40..=69 => AMBER,
        _ => RED,
    }
}

// --- buttons --------------------------------------------------------------------------------

/// What a practice button does; its custom id is `dc:<action>:<session id>`, so it keeps
/// working after a restart with no state but the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PracticeAction {
    Submit,
    Revise,
    Hint,
    Next,
    Skip,
    End,
}

impl PracticeAction {
    const ALL: [(PracticeAction, &'static str); 6] = [
        (PracticeAction::Submit, "submit"),
        (PracticeAction::Revise, "revise"),
        (PracticeAction::Hint, "hint"),
        (PracticeAction::Next, "next"),
        (PracticeAction::Skip, "skip"),
        (PracticeAction::End, "end"),
    ];

    fn name(self) -> &'static str {
        Self::ALL.iter().find(|(action, _)| *action == self).map(|(_, name)| *name).unwrap_or("end")
    }

    pub fn custom_id(self, session: i64) -> String {
        format!("dc:{}:{session}", self.name())
    }

    pub fn parse(custom_id: &str) -> Option<(PracticeAction, i64)> {
        let mut parts = custom_id.split(':');
        if parts.next()? != "dc" {
            return None;
        }
        let name = parts.next()?;
        let session = parts.next()?.parse().ok()?;
        let action = Self::ALL.iter().find(|(_, n)| *n == name)?.0;
        parts.next().is_none().then_some((action, session))
    }

    fn button(self, session: i64) -> CreateButton {
        let (label, style) = match self {
            PracticeAction::Submit => ("Submit step", ButtonStyle::Success),
            PracticeAction::Revise => ("Revise", ButtonStyle::Secondary),
            PracticeAction::Hint => ("Hint", ButtonStyle::Secondary),
            PracticeAction::Next => ("Next", ButtonStyle::Primary),
            PracticeAction::Skip => ("Skip", ButtonStyle::Secondary),
            PracticeAction::End => ("End", ButtonStyle::Danger),
        };
        CreateButton::new(self.custom_id(session)).label(label).style(style)
    }
}

fn practice_row(session: i64, actions: &[PracticeAction]) -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(actions.iter().map(|action| action.button(session)).collect())]
}

/// Buttons under a step that is being written.
pub fn step_buttons(session: i64) -> Vec<CreateActionRow> {
    use PracticeAction::*;
    practice_row(session, &[Submit, Hint, Skip, End])
}

/// Buttons under a step's feedback.
pub fn feedback_buttons(session: i64) -> Vec<CreateActionRow> {
    use PracticeAction::*;
    practice_row(session, &[Revise, Hint, Next, Skip, End])
}

// --- practice -------------------------------------------------------------------------------

/// The thread's name: the question and the learner, within Discord's 100 characters.
pub fn thread_name(question: &Question, learner: &str) -> String {
    clip(&format!("{} \u{2014} {learner}", question.title), 100)
}

pub fn scenario_card(view: &SessionView<'_>) -> Card {
    let question = view.question;
    Card::new(
        format!("{} ({})", question.title, question.difficulty),
        &question.scenario,
        BLUE,
    )
    .footer(&format!(
        "Framework: {}. Write your answer to each step in this thread (several messages are fine), then press Submit step or send `done`.",
        view.framework.title
    ))
}

pub fn step_card(view: &SessionView<'_>) -> Card {
    let step = view.step;
    Card::new(
        format!("Step {}/{} \u{b7} {} {}", view.step_number(), view.step_count(), step.title, view.progress_bar()),
        view.prompt(),
        BLUE,
    )
    .footer(&format!("Time budget: {} minutes.", step.minutes))
}

/// Covered items with their quoted evidence, missed items with hints, red flags.
fn grade_fields(mut card: Card, grade: &Grade) -> Card {
    let covered: Vec<String> = grade
        .hits()
        .map(|item| match item.evidence.first() {
            Some(evidence) => format!("\u{2713} **{}**: {}", item.label(), quote(evidence)),
            None => format!("\u{2713} **{}**", item.label()),
        })
        .collect();
    let missed: Vec<String> = grade
        .misses_by_importance()
        .into_iter()
        .map(|item| match item.hint() {
            Some(hint) => format!("\u{2717} **{}**: {hint}", item.label()),
            None => format!("\u{2717} **{}**", item.label()),
        })
        .collect();
    let flags: Vec<String> = grade
        .red_flags
        .iter()
        .map(|flag| match flag.evidence.first() {
            Some(evidence) => format!("\u{26a0} **{}**: {} ({})", flag.label, quote(evidence), flag.why),
            None => format!("\u{26a0} **{}** ({})", flag.label, flag.why),
        })
        .collect();
    card = card.field("Covered", &covered).field("Missed", &missed).field("Red flags", &flags);
    card
}

pub fn feedback_card(view: &SessionView<'_>, feedback: &StepFeedback) -> Card {
    let grade = &feedback.grade;
    let mut description = format!("**{}/100** {}", grade.score, score_bar(grade.score, 20));
    if feedback.attempt > 1 {
        description.push_str(&format!("\nAttempt {} \u{b7} best so far {}/100", feedback.attempt, feedback.best));
    }
    description.push_str(&format!(
        "\nTime: {} of {} minutes \u{b7} streak: {} day{}",
        minutes(feedback.seconds_taken),
        view.step.minutes,
        feedback.streak.current,
        super::plural(feedback.streak.current)
    ));
    let card = Card::new(
        format!("Step {}/{} \u{b7} {}: {}/100", view.step_number(), view.step_count(), view.step.title, grade.score),
        description,
        colour_of(grade.score),
    );
    grade_fields(card, grade).footer("Revise to resubmit this step (the best attempt counts), or go on with Next.")
}

/// The feedback on an answer under the question of the day.
pub fn daily_feedback_card(question: &Question, learner: &str, grade: &Grade, streak_days: u32) -> Card {
    let card = Card::new(
        format!("{learner}: {}/100 on {}", grade.score, question.title),
        format!("{} \u{b7} streak: {streak_days} day{}", score_bar(grade.score, 20), super::plural(streak_days)),
        colour_of(grade.score),
    );
    grade_fields(card, grade).footer("Graded against the whole question. Practise it step by step with /practice.")
}

pub fn hint_card(hint: Option<&HintView>) -> Card {
    match hint {
        Some(hint) => Card::new(format!("Hint: {}", hint.label), &hint.hint, AMBER)
            .footer(&format!("Why it matters: {} ({} more hint(s) for this step)", hint.why, hint.remaining)),
        None => Card::new("No more hints", "Your answer covers everything this step's rubric looks for.", GREEN),
    }
}

pub fn report_card(report: &Report) -> Card {
    let steps: Vec<String> = report
        .steps
        .iter()
        .map(|step| {
            let score = match (step.score, step.skipped) {
                (Some(score), _) => format!("{score:>3}/100 {}", score_bar(score, 10)),
                (None, true) => "skipped".to_string(),
                (None, false) => "not submitted".to_string(),
            };
            format!("**{}**: {score} \u{b7} {} of {} min", step.title, minutes(step.seconds_used), step.budget_minutes)
        })
        .collect();
    let checklist: Vec<String> = report
        .checklist
        .iter()
        .map(|check| format!("{} {}", if check.ticked { "\u{2713}" } else { "\u{2717}" }, check.label))
        .collect();
    let flags: Vec<String> =
        report.red_flags.iter().map(|flag| format!("\u{26a0} {} ({})", flag.label, flag.why)).collect();
    let weakest: Vec<String> =
        report.weakest_concepts.iter().map(|c| format!("{}: missed {} of {}", c.label, c.missed, c.seen)).collect();
    let mut card = Card::new(
        format!("Report: {} \u{2014} {}/100", report.title, report.overall),
        format!("**Overall {}/100** {}", report.overall, score_bar(report.overall, 20)),
        colour_of(report.overall),
    )
    .field("Steps", &steps)
    .field("Interview checklist", &checklist)
    .field("Red flags", &flags)
    .field("Weakest concepts", &weakest);
    if let Some(topic) = &report.suggested_quiz_topic {
        card = card.footer(&format!("Session closed. Suggested next: /quiz topic:{topic}"));
    }
    card
}

// --- quiz -----------------------------------------------------------------------------------

pub fn quiz_card(item: &QuizItem, position: usize, count: usize) -> Card {
    let options: Vec<String> =
        item.options.iter().zip(QuizItem::LETTERS).map(|(option, letter)| format!("**{letter}.** {option}")).collect();
    Card::new(format!("Quiz {}/{count} \u{b7} {}", position + 1, item.topic), &item.question, BLUE)
        .field("Options", &options)
}

/// A-D buttons; `custom_id` gives each letter's id.
pub fn letter_buttons(count: usize, custom_id: impl Fn(usize) -> String) -> Vec<CreateActionRow> {
    let buttons = QuizItem::LETTERS
        .iter()
        .take(count)
        .enumerate()
        .map(|(i, letter)| CreateButton::new(custom_id(i)).label(letter.to_string()).style(ButtonStyle::Primary))
        .collect();
    vec![CreateActionRow::Buttons(buttons)]
}

pub fn quiz_answer_card(item: &QuizItem, chosen: usize, correct: bool) -> Card {
    let chosen_letter = QuizItem::LETTERS.get(chosen).copied().unwrap_or('?');
    let title = if correct {
        format!("{chosen_letter} is right")
    } else {
        format!("{chosen_letter} is not it: the answer is {}", item.answer_letter())
    };
    Card::new(title, &item.explanation, if correct { GREEN } else { RED })
}

// --- standing -------------------------------------------------------------------------------

pub fn progress_card(name: &str, progress: &Progress, today: chrono::NaiveDate) -> Card {
    let steps: Vec<String> =
        progress.step_averages.iter().map(|(step, average)| format!("**{step}**: {average:.0}/100")).collect();
    let weakest: Vec<String> =
        progress.weakest_concepts.iter().map(|c| format!("{}: missed {} of {}", c.label, c.missed, c.seen)).collect();
    let activity: Vec<String> = progress
        .activity_weeks(today)
        .iter()
        .map(|week| week.iter().map(|&active| if active { "\u{1f7e9}" } else { "\u{2b1b}" }).collect())
        .collect();
    Card::new(
        format!("Progress of {name}"),
        format!(
            "Streak **{}** (longest {}, freezes {}) \u{b7} sessions completed **{}** \u{b7} quiz {}/{} right \u{b7} active days in 8 weeks: {}",
            progress.current_streak,
            progress.longest_streak,
            progress.freezes,
            progress.sessions_completed,
            progress.quiz_correct,
            progress.quiz_answered,
            progress.active_days.len()
        ),
        BLUE,
    )
    .field("Average score per step", &steps)
    .field("Weakest concepts", &weakest)
    .field("Last 8 weeks (oldest first, a row per week)", &activity)
}

pub fn leaderboard_card(title: &str, lines: &[LeaderboardLine], by_streak: bool) -> Card {
    let rows: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(rank, line)| {
            let value = if by_streak {
                format!("{} day streak", line.current_streak)
            } else {
                format!("{} points", line.points)
            };
            format!("**{}.** {} \u{2014} {value}", rank + 1, clip(&line.display_name, 64))
        })
        .collect();
    let description = if rows.is_empty() { "Nobody yet: start with /practice or /quiz." } else { "" };
    Card::new(title, description, BLUE).field("Ranking", &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_splits_within_the_message_limit_without_losing_anything() {
        let text = "word ".repeat(1_000) + &"x".repeat(4_500) + "\nend";
        let parts = split_message(&text, MESSAGE_LIMIT);
        assert!(parts.iter().all(|part| part.chars().count() <= MESSAGE_LIMIT));
        assert_eq!(parts.concat(), text);
        assert!(parts.len() >= 5);
    }

    #[test]
    fn a_card_keeps_to_the_embed_limits_whatever_it_is_given() {
        let long = "evidence ".repeat(200);
        let lines: Vec<String> = (0..100).map(|i| format!("{i}: {long}")).collect();
        let mut card = Card::new("t".repeat(300), "d".repeat(5_000), BLUE);
        for i in 0..30 {
            card = card.field(&format!("field {i}"), &lines);
        }
        let card = card.footer(&"f".repeat(3_000));
        assert!(card.title.chars().count() <= EMBED_TITLE_LIMIT);
        assert!(card.description.chars().count() <= EMBED_DESCRIPTION_LIMIT);
        assert!(card.fields.len() <= FIELDS_LIMIT);
        assert!(card.fields.iter().all(|(_, value)| value.chars().count() <= FIELD_VALUE_LIMIT));
        assert!(card.total() <= EMBED_TOTAL_LIMIT, "total {}", card.total());
    }

    #[test]
    fn practice_buttons_carry_their_session_and_parse_back() {
        for (action, _) in PracticeAction::ALL {
            assert_eq!(PracticeAction::parse(&action.custom_id(42)), Some((action, 42)));
        }
        assert_eq!(PracticeAction::parse("dc:submit:x"), None);
        assert_eq!(PracticeAction::parse("dc:launch:1"), None);
        assert_eq!(PracticeAction::parse("qz:submit:1"), None);
    }
}
