//! The coach: practice sessions step by step, quizzes, streaks and progress. Transport-agnostic
//! and without I/O of its own: every call takes the store and a clock, so tests control time
//! and a restart loses nothing (all state is in the store).

pub mod daily;
pub mod streak;

use crate::content::{Difficulty, Framework, Question, QuizItem, Step};
use crate::grading::{Grade, GradeError, Grader, by_importance};
use crate::store::{
    Attempt, Draft, NewAttempt, NewSession, SessionRow, SessionState, SessionStatus, Store, StoreError, User,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::seq::SliceRandom;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use streak::{DayOutcome, Streak};

/// Answers longer than this are refused with a clear message (a Discord thread adds up).
pub const MAX_STEP_ANSWER_CHARS: usize = 20_000;
/// How many recent questions a random pick avoids.
const RECENT_QUESTIONS: u32 = 10;
/// Weeks of activity shown in progress.
pub const ACTIVITY_WEEKS: i64 = 8;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests move by hand.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(start))
    }

    pub fn set(&self, time: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = time;
    }

    pub fn advance(&self, by: Duration) {
        let mut time = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *time += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CoachError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Grade(#[from] GradeError),
    #[error("unknown framework `{wanted}`; the frameworks are {known}")]
    UnknownFramework { wanted: String, known: String },
    #[error("the {framework} framework has no rubric for part of `{question}`; practise it with {suggestion}")]
    FrameworkDoesNotFit { framework: String, question: String, suggestion: String },
    #[error("no question matches {0}; see the list with `design-coach questions`")]
    NoQuestionMatches(String),
    #[error("you already have a session on {question} (step {step_number} of {steps}); resume it or end it first")]
    AlreadyActive { question: String, step_number: usize, steps: usize },
    #[error("you have no practice session in progress; start one first")]
    NoActiveSession,
    #[error("this session has ended; start a new one")]
    SessionEnded,
    #[error("write your answer to this step before submitting it")]
    EmptyAnswer,
    #[error("this answer is {chars} characters; keep a step under {MAX_STEP_ANSWER_CHARS} characters")]
    AnswerTooLong { chars: usize },
    #[error("submit this step (or skip it) before moving on")]
    NotSubmitted,
    #[error("unknown quiz topic `{wanted}`{}; the topics are {known}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownTopic { wanted: String, suggestion: Option<String>, known: String },
    #[error("the stored session refers to content that no longer exists ({0})")]
    StaleSession(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = CoachError> = std::result::Result<T, E>;

/// Grading is CPU work of up to a millisecond: inside a multi-threaded runtime it runs on the
/// blocking pool, so it never holds up the tasks that wait on the database or the network.
async fn off_the_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            handle.spawn_blocking(work).await.map_err(|error| CoachError::Internal(format!("grading stopped: {error}")))
        }
        _ => Ok(work()),
    }
}

/// Who is practising, and where.
#[derive(Debug, Clone)]
pub struct Learner {
    pub user: User,
    /// "terminal", or a Discord thread/channel id.
    pub place: String,
    pub server_id: Option<String>,
    /// The server's time zone, used when the learner has none.
    pub server_timezone: Option<String>,
}

impl Learner {
    pub fn zone(&self) -> chrono_tz::Tz {
        streak::zone_for(self.user.timezone.as_deref(), self.server_timezone.as_deref())
    }

    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        streak::local_date(now, self.zone())
    }
}

/// How to choose the question of a new session.
#[derive(Debug, Clone, Default)]
pub struct QuestionChoice {
    pub id: Option<String>,
    pub difficulty: Option<Difficulty>,
    pub tag: Option<String>,
}

/// A session as the front ends show it.
#[derive(Debug, Clone)]
pub struct SessionView<'c> {
    pub row: SessionRow,
    pub question: &'c Question,
    pub framework: &'c Framework,
    pub step: &'c Step,
    pub draft: Draft,
    /// Graded attempts of the current step so far.
    pub attempts: u32,
    best: Option<u32>,
    /// Rubric items credited by an attempt of the current step.
    covered: Vec<String>,
}

impl SessionView<'_> {
    pub fn id(&self) -> i64 {
        self.row.id
    }

    /// 1-based.
    pub fn step_number(&self) -> usize {
        self.row.step_index + 1
    }

    pub fn step_count(&self) -> usize {
        self.framework.steps.len()
    }

    pub fn best_score(&self) -> Option<u32> {
        self.best
    }

    pub fn prompt(&self) -> &str {
        self.question.prompt(&self.step.id).unwrap_or(&self.step.prompt)
    }

    /// `▰▰▱▱` for step 2 of 4.
    pub fn progress_bar(&self) -> String {
        let done = self.step_number();
        format!("{}{}", "\u{25b0}".repeat(done), "\u{25b1}".repeat(self.step_count().saturating_sub(done)))
    }

    /// Seconds since the step (or its last revision) started.
    pub fn seconds_since_start(&self, now: DateTime<Utc>) -> u64 {
        (now - self.row.step_started_at).num_seconds().max(0) as u64
    }

    /// All the time spent on this step so far.
    pub fn seconds_on_step(&self, now: DateTime<Utc>) -> u64 {
        self.draft.seconds_used + self.seconds_since_start(now)
    }
}

/// What submitting a step gives back.
#[derive(Debug, Clone)]
pub struct StepFeedback {
    pub grade: Grade,
    pub attempt: u32,
    /// The best score of this step over all attempts, this one included.
    pub best: u32,
    pub seconds_taken: u64,
    pub streak: Streak,
    pub day: DayOutcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct HintView {
    pub item: String,
    pub label: String,
    pub hint: String,
    pub why: String,
    pub remaining: usize,
}

/// Where a session stands after `next` or `skip`.
#[derive(Debug)]
pub enum Advance<'c> {
    Step(Box<SessionView<'c>>),
    Finished(Box<Report>),
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: String,
    pub title: String,
    /// The best attempt, or None when the step was skipped or never submitted.
    pub score: Option<u32>,
    pub attempts: usize,
    pub skipped: bool,
    pub seconds_used: u64,
    pub budget_minutes: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConceptStat {
    pub concept: String,
    pub label: String,
    pub missed: u32,
    pub seen: u32,
    pub miss_rate: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub session: i64,
    pub question: String,
    pub title: String,
    pub framework: String,
    pub overall: u32,
    pub steps: Vec<StepReport>,
    pub checklist: Vec<crate::grading::CheckResult>,
    pub red_flags: Vec<crate::grading::RedFlagResult>,
    pub weakest_concepts: Vec<ConceptStat>,
    pub suggested_quiz_topic: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuizFeedback {
    pub correct: bool,
    pub right_answer: char,
    pub explanation: String,
    pub streak: Streak,
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub current_streak: u32,
    pub longest_streak: u32,
    pub freezes: u32,
    pub sessions_completed: u32,
    /// Average best score per step id.
    pub step_averages: BTreeMap<String, f64>,
    pub weakest_concepts: Vec<ConceptStat>,
    /// Days with a graded activity in the last 8 weeks.
    pub active_days: Vec<NaiveDate>,
    pub quiz_answered: u32,
    pub quiz_correct: u32,
}

impl Progress {
    /// The last [`ACTIVITY_WEEKS`] weeks ending `today`, oldest first: per day, whether it had a
    /// graded activity.
    pub fn activity_weeks(&self, today: NaiveDate) -> Vec<[bool; 7]> {
        let start = today - Duration::days(ACTIVITY_WEEKS * 7 - 1);
        (0..ACTIVITY_WEEKS)
            .map(|week| {
                std::array::from_fn(|day| self.active_days.contains(&(start + Duration::days(week * 7 + day as i64))))
            })
            .collect()
    }
}

pub struct Coach {
    grader: Arc<Grader>,
    /// Streaks already counted for their last active day. Counting is idempotent and a day
    /// once counted stays counted, so every answer after a learner's first of the day needs
    /// neither a read nor a write.
    counted: Mutex<rustc_hash::FxHashMap<i64, Streak>>,
}

impl Coach {
    pub fn new(grader: Arc<Grader>) -> Self {
        Coach { grader, counted: Mutex::default() }
    }

    pub fn grader(&self) -> &Grader {
        &self.grader
    }

    /// Counts `day` for the learner's streak.
    async fn count_day(&self, store: &Store, user_id: i64, day: NaiveDate) -> Result<(Streak, DayOutcome)> {
        let known = self.counted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&user_id).copied();
        if let Some(streak) = known.filter(|streak| streak.last_active == Some(day)) {
            return Ok((streak, DayOutcome::AlreadyCounted));
        }
        let current = store.streak(user_id).await?;
        let (streak, outcome) = if current.last_active == Some(day) {
            (current, DayOutcome::AlreadyCounted)
        } else {
            store.update_streak(user_id, day, |streak| streak.record(day)).await?
        };
        if streak.last_active == Some(day) {
            self.counted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(user_id, streak);
        }
        Ok((streak, outcome))
    }

    /// Forgets what is cached about a user whose data was deleted.
    pub fn forget(&self, user_id: i64) {
        self.counted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&user_id);
    }

    fn framework(&self, id: &str) -> Result<&Framework> {
        self.grader.content().framework(id).ok_or_else(|| CoachError::UnknownFramework {
            wanted: id.to_string(),
            known: self.grader.content().frameworks.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// Each step of `framework` must grade at least one item of `question`.
    fn check_fit(&self, question: &Question, framework: &Framework) -> Result<()> {
        let fits = framework.steps.iter().all(|step| question.items.iter().any(|item| step.grades(&item.step)));
        if fits || framework.id == question.framework {
            return Ok(());
        }
        Err(CoachError::FrameworkDoesNotFit {
            framework: framework.id.clone(),
            question: question.id.clone(),
            suggestion: format!("`{}` or `four-step`", question.framework),
        })
    }

    async fn pick_question(&self, store: &Store, learner: &Learner, choice: &QuestionChoice) -> Result<&Question> {
        if let Some(id) = &choice.id {
            return Ok(self.grader.question(id)?);
        }
        let candidates: Vec<&Question> = self
            .grader
            .content()
            .questions
            .iter()
            .filter(|q| choice.difficulty.is_none_or(|d| q.difficulty == d))
            .filter(|q| choice.tag.as_ref().is_none_or(|tag| q.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))))
            .collect();
        if candidates.is_empty() {
            let mut wanted = Vec::new();
            if let Some(d) = choice.difficulty {
                wanted.push(format!("difficulty {d}"));
            }
            if let Some(tag) = &choice.tag {
                wanted.push(format!("tag {tag:?}"));
            }
            return Err(CoachError::NoQuestionMatches(wanted.join(" and ")));
        }
        let recent = store.recent_questions(learner.user.id, RECENT_QUESTIONS).await?;
        let fresh: Vec<&Question> = candidates.iter().copied().filter(|q| !recent.contains(&q.id)).collect();
        let pool = if fresh.is_empty() {
            // Everything was done recently: take the one done longest ago.
            let oldest =
                candidates.iter().copied().max_by_key(|q| recent.iter().position(|r| *r == q.id).unwrap_or(usize::MAX));
            oldest.into_iter().collect()
        } else {
            fresh
        };
        pool.choose(&mut rand::thread_rng()).copied().ok_or_else(|| CoachError::NoQuestionMatches("anything".into()))
    }

    /// Starts a session in the learner's place; refuses while another one is active there.
    pub async fn start(
        &self,
        store: &Store,
        clock: &dyn Clock,
        learner: &Learner,
        choice: &QuestionChoice,
        framework: Option<&str>,
    ) -> Result<SessionView<'_>> {
        if let Some(active) = store.active_session(learner.user.id, &learner.place).await? {
            let view = self.load_view(store, active.id).await?.ok_or(CoachError::NoActiveSession)?;
            return Err(CoachError::AlreadyActive {
                question: view.question.title.clone(),
                step_number: view.step_number(),
                steps: view.step_count(),
            });
        }
        let question = self.pick_question(store, learner, choice).await?;
        let framework = self.framework(framework.unwrap_or(&question.framework))?;
        self.check_fit(question, framework)?;
        let new = NewSession {
            user_id: learner.user.id,
            place: &learner.place,
            server_id: learner.server_id.as_deref(),
            question_id: &question.id,
            framework_id: &framework.id,
            first_step: &framework.steps[0].id,
        };
        let row = store.create_session(&new, clock.now()).await?;
        self.load_view(store, row.id).await?.ok_or(CoachError::NoActiveSession)
    }

    fn view_of(&self, state: SessionState) -> Result<SessionView<'_>> {
        let content = self.grader.content();
        let row = state.row;
        let question =
            content.question(&row.question_id).ok_or_else(|| CoachError::StaleSession(row.question_id.clone()))?;
        let framework =
            content.framework(&row.framework_id).ok_or_else(|| CoachError::StaleSession(row.framework_id.clone()))?;
        let step = framework
            .steps
            .get(row.step_index)
            .ok_or_else(|| CoachError::StaleSession(format!("step {}", row.step_index)))?;
        Ok(SessionView {
            row,
            question,
            framework,
            step,
            draft: state.draft,
            attempts: state.attempts,
            best: state.best_score,
            covered: state.covered,
        })
    }

    async fn load_view(&self, store: &Store, id: i64) -> Result<Option<SessionView<'_>>> {
        store.session_state(id).await?.map(|state| self.view_of(state)).transpose()
    }

    /// The session with this id, if it exists.
    pub async fn session(&self, store: &Store, id: i64) -> Result<Option<SessionView<'_>>> {
        self.load_view(store, id).await
    }

    /// The learner's active session here, moved past a step that was graded but not left
    /// (input ended right after a submit): resuming continues at the next step.
    pub async fn resume(&self, store: &Store, clock: &dyn Clock, learner: &Learner) -> Result<Option<SessionView<'_>>> {
        let Some(row) = store.active_session(learner.user.id, &learner.place).await? else { return Ok(None) };
        let view = self.load_view(store, row.id).await?.ok_or(CoachError::NoActiveSession)?;
        if view.attempts > 0 && view.draft.text.trim().is_empty() {
            return match self.next(store, clock, learner, view.id()).await? {
                Advance::Step(view) => Ok(Some(*view)),
                Advance::Finished(_) => Ok(None),
            };
        }
        Ok(Some(view))
    }

    async fn active_view(&self, store: &Store, session_id: i64) -> Result<SessionView<'_>> {
        let view = self.load_view(store, session_id).await?.ok_or(CoachError::NoActiveSession)?;
        if view.row.status != SessionStatus::Active {
            return Err(CoachError::SessionEnded);
        }
        Ok(view)
    }

    /// Adds a part of the current step's answer; returns the answer's length so far, in
    /// characters. One statement, as this runs for every message of a learner.
    pub async fn answer(&self, store: &Store, session_id: i64, text: &str) -> Result<usize> {
        if !text.trim().is_empty()
            && let Some(chars) = store.append_draft(session_id, text, MAX_STEP_ANSWER_CHARS).await?
        {
            return Ok(chars);
        }
        // Nothing was appended: say why.
        let view = self.active_view(store, session_id).await?;
        let chars = view.draft.text.chars().count();
        if text.trim().is_empty() {
            return Ok(chars);
        }
        Err(CoachError::AnswerTooLong { chars: chars + 1 + text.chars().count() })
    }

    /// Grades the current step's answer, records the attempt (the best one counts) and the
    /// learner's day for the streak.
    pub async fn submit(
        &self,
        store: &Store,
        clock: &dyn Clock,
        learner: &Learner,
        session_id: i64,
    ) -> Result<StepFeedback> {
        let view = self.active_view(store, session_id).await?;
        if view.draft.text.trim().is_empty() {
            return Err(CoachError::EmptyAnswer);
        }
        let now = clock.now();
        let grader = self.grader.clone();
        let (question, step, covers, text) =
            (view.question.id.clone(), view.step.id.clone(), view.step.covers.clone(), view.draft.text.clone());
        let grade = off_the_runtime(move || {
            let question = grader.question(&question)?;
            Ok::<_, GradeError>(grader.grade_covered(question, &step, &covers, &grader.analyze(&text)))
        })
        .await??;
        let hits: Vec<String> = grade.hits().map(|item| item.id().to_string()).collect();
        let misses: Vec<String> = grade.misses().map(|item| item.id().to_string()).collect();
        let red_flags: Vec<String> = grade.red_flags.iter().map(|flag| flag.id.clone()).collect();
        let seconds_taken = view.seconds_since_start(now);
        let attempt = store
            .record_attempt(
                session_id,
                &NewAttempt {
                    step_id: &view.step.id,
                    answer: &view.draft.text,
                    score: grade.score,
                    hits: &hits,
                    misses: &misses,
                    red_flags: &red_flags,
                    seconds_taken,
                },
                now,
            )
            .await?;
        let best = view.best_score().unwrap_or(0).max(grade.score);
        let (streak, day) = self.count_day(store, learner.user.id, learner.today(now)).await?;
        Ok(StepFeedback { grade, attempt, best, seconds_taken, streak, day })
    }

    /// Reveals the hint of one missed item of the current step (by weight), one more each call.
    pub async fn hint(&self, store: &Store, session_id: i64) -> Result<Option<HintView>> {
        let view = self.active_view(store, session_id).await?;
        let covered = &view.covered;
        let mut missed: Vec<_> = view
            .question
            .items
            .iter()
            .filter(|item| view.step.grades(&item.step))
            .filter(|item| !covered.iter().any(|id| **id == *item.id))
            .collect();
        missed.sort_by(|a, b| by_importance((a.weight, a.generic), (b.weight, b.generic)));
        let shown = view.draft.hints_shown as usize;
        let Some(item) = missed.get(shown).copied() else { return Ok(None) };
        store.count_hint(session_id, &view.step.id).await?;
        Ok(Some(HintView {
            item: item.id.to_string(),
            label: item.label.to_string(),
            hint: item.hint.to_string(),
            why: item.why.to_string(),
            remaining: missed.len() - shown - 1,
        }))
    }

    /// Moves to the next step once this one has been graded (or skipped); after the last step,
    /// finishes the session with its report.
    pub async fn next(
        &self,
        store: &Store,
        clock: &dyn Clock,
        learner: &Learner,
        session_id: i64,
    ) -> Result<Advance<'_>> {
        let view = self.active_view(store, session_id).await?;
        if view.attempts == 0 && !view.draft.skipped {
            return Err(CoachError::NotSubmitted);
        }
        self.advance(store, clock, learner, view).await
    }

    async fn advance<'c>(
        &'c self,
        store: &Store,
        clock: &dyn Clock,
        learner: &Learner,
        view: SessionView<'c>,
    ) -> Result<Advance<'c>> {
        let session_id = view.id();
        let next_index = view.row.step_index + 1;
        if next_index >= view.step_count() {
            return Ok(Advance::Finished(Box::new(self.finish(store, clock, learner, session_id).await?)));
        }
        let step = &view.framework.steps[next_index];
        let now = clock.now();
        store.move_to_step(session_id, next_index, &step.id, now).await?;
        // Steps only go forward, so the new one has no draft and no attempts yet.
        let mut row = view.row;
        row.step_index = next_index;
        row.step_id = step.id.clone();
        row.step_started_at = now;
        Ok(Advance::Step(Box::new(SessionView {
            row,
            step,
            draft: Draft::default(),
            attempts: 0,
            best: None,
            covered: Vec::new(),
            ..view
        })))
    }

    /// Skips the current step (it scores 0 in the report) and moves on.
    pub async fn skip(
        &self,
        store: &Store,
        clock: &dyn Clock,
        learner: &Learner,
        session_id: i64,
    ) -> Result<Advance<'_>> {
        let view = self.active_view(store, session_id).await?;
        if view.attempts == 0 {
            store.mark_skipped(session_id, &view.step.id, view.seconds_since_start(clock.now())).await?;
        }
        self.advance(store, clock, learner, view).await
    }

    /// Ends the session with its final report.
    pub async fn finish(
        &self,
        store: &Store,
        clock: &dyn Clock,
        _learner: &Learner,
        session_id: i64,
    ) -> Result<Report> {
        let row = store.session(session_id).await?.ok_or(CoachError::NoActiveSession)?;
        let report = self.report_of(store, &row).await?;
        if row.status == SessionStatus::Active {
            store.end_session(session_id, SessionStatus::Finished, Some(report.overall), clock.now()).await?;
        }
        Ok(report)
    }

    /// Sets the session aside for good (`/quit`, End).
    pub async fn abandon(&self, store: &Store, clock: &dyn Clock, session_id: i64) -> Result<()> {
        store.end_session(session_id, SessionStatus::Abandoned, None, clock.now()).await?;
        Ok(())
    }

    /// The report of a session (finished or not).
    pub async fn report(&self, store: &Store, session_id: i64) -> Result<Report> {
        let row = store.session(session_id).await?.ok_or(CoachError::NoActiveSession)?;
        self.report_of(store, &row).await
    }

    async fn report_of(&self, store: &Store, row: &SessionRow) -> Result<Report> {
        let content = self.grader.content();
        let question =
            content.question(&row.question_id).ok_or_else(|| CoachError::StaleSession(row.question_id.clone()))?;
        let framework =
            content.framework(&row.framework_id).ok_or_else(|| CoachError::StaleSession(row.framework_id.clone()))?;
        let attempts = store.attempts(row.id).await?;
        let drafts: BTreeMap<String, Draft> = store.drafts(row.id).await?.into_iter().collect();
        let mut steps = Vec::new();
        let mut best_answers = Vec::new();
        let mut best_attempts = Vec::new();
        for step in &framework.steps {
            let of_step: Vec<&Attempt> = attempts.iter().filter(|a| a.step_id == step.id).collect();
            let best = of_step.iter().copied().max_by_key(|a| (a.score, std::cmp::Reverse(a.attempt)));
            let draft = drafts.get(&step.id).cloned().unwrap_or_default();
            if let Some(best) = best {
                best_answers.push(best.answer.as_str());
                best_attempts.push(best);
            }
            steps.push(StepReport {
                step: step.id.clone(),
                title: step.title.clone(),
                score: best.map(|a| a.score),
                attempts: of_step.len(),
                skipped: draft.skipped && best.is_none(),
                seconds_used: draft.seconds_used,
                budget_minutes: step.minutes,
            });
        }
        let overall = if steps.is_empty() {
            0
        } else {
            (steps.iter().map(|s| s.score.unwrap_or(0) as f64).sum::<f64>() / steps.len() as f64).round() as u32
        };
        let (grader, question_id, joined) = (self.grader.clone(), question.id.clone(), best_answers.join("\n\n"));
        let whole_grade = off_the_runtime(move || grader.grade(&question_id, None, &joined)).await??;
        let weakest_concepts = self.concept_stats(best_attempts.iter().map(|a| (question.id.as_str(), *a)));
        let suggested_quiz_topic = self.quiz_topic_for(&weakest_concepts);
        Ok(Report {
            session: row.id,
            question: question.id.clone(),
            title: question.title.clone(),
            framework: framework.id.clone(),
            overall,
            steps,
            checklist: whole_grade.checklist,
            red_flags: whole_grade.red_flags,
            weakest_concepts,
            suggested_quiz_topic,
        })
    }

    /// Miss rates by concept over attempts (items without concepts count under their label).
    fn concept_stats<'a>(&self, attempts: impl Iterator<Item = (&'a str, &'a Attempt)>) -> Vec<ConceptStat> {
        let content = self.grader.content();
        let mut stats: BTreeMap<String, (String, u32, u32)> = BTreeMap::new();
        for (question_id, attempt) in attempts {
            let Some(question) = content.question(question_id) else { continue };
            for (ids, missed) in [(&attempt.hits, false), (&attempt.misses, true)] {
                for id in ids {
                    let Some(item) = question.items.iter().find(|item| *item.id == **id) else { continue };
                    let concepts = item.concepts();
                    let keys: Vec<(String, String)> = if concepts.is_empty() {
                        vec![(format!("{}/{}", question.id, item.id), item.label.to_string())]
                    } else {
                        concepts
                            .iter()
                            .filter_map(|c| content.concepts.iter().find(|concept| concept.id == *c))
                            .map(|concept| (concept.id.clone(), concept.label.clone()))
                            .collect()
                    };
                    for (key, label) in keys {
                        let entry = stats.entry(key).or_insert((label, 0, 0));
                        entry.2 += 1;
                        if missed {
                            entry.1 += 1;
                        }
                    }
                }
            }
        }
        let mut list: Vec<ConceptStat> = stats
            .into_iter()
            .filter(|(_, (_, missed, _))| *missed > 0)
            .map(|(concept, (label, missed, seen))| ConceptStat {
                concept,
                label,
                missed,
                seen,
                miss_rate: missed as f64 / seen as f64,
            })
            .collect();
        list.sort_by(|a, b| {
            b.miss_rate.total_cmp(&a.miss_rate).then(b.seen.cmp(&a.seen)).then(a.concept.cmp(&b.concept))
        });
        list.truncate(5);
        list
    }

    fn quiz_topic_for(&self, weakest: &[ConceptStat]) -> Option<String> {
        let content = self.grader.content();
        weakest
            .iter()
            .filter_map(|stat| content.concepts.iter().find(|c| c.id == stat.concept))
            .find_map(|concept| concept.quiz_topic.clone())
            .or_else(|| content.quiz_topics().first().map(|t| t.to_string()))
    }

    // --- quizzes ----------------------------------------------------------------------------

    /// Up to `count` random quiz items, of one topic or of all.
    pub fn quiz(&self, topic: Option<&str>, count: usize) -> Result<Vec<&QuizItem>> {
        self.quiz_round(topic, count, rand::random())
    }

    /// The quiz items of a round, the same for the same seed: a round whose state lives only in
    /// its buttons (Discord) can be picked up again after a restart.
    pub fn quiz_round(&self, topic: Option<&str>, count: usize, seed: u64) -> Result<Vec<&QuizItem>> {
        let content = self.grader.content();
        if let Some(topic) = topic {
            let topics = content.quiz_topics();
            if !topics.contains(&topic) {
                return Err(CoachError::UnknownTopic {
                    wanted: topic.to_string(),
                    suggestion: crate::content::closest(topic, topics.iter().copied()).map(str::to_string),
                    known: topics.join(", "),
                });
            }
        }
        let mut items: Vec<&QuizItem> =
            content.quiz.iter().filter(|item| topic.is_none_or(|t| item.topic == t)).collect();
        items.shuffle(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed));
        items.truncate(count.max(1));
        Ok(items)
    }

    /// Records an answer (0-3 for A-D); a quiz answer counts toward the streak.
    pub async fn answer_quiz(
        &self,
        store: &Store,
        clock: &dyn Clock,
        learner: &Learner,
        item: &QuizItem,
        chosen: usize,
    ) -> Result<QuizFeedback> {
        let now = clock.now();
        let correct = chosen == item.answer;
        store.record_quiz_answer(learner.user.id, &item.id, &item.topic, chosen, correct, now).await?;
        let (streak, _) = self.count_day(store, learner.user.id, learner.today(now)).await?;
        Ok(QuizFeedback { correct, right_answer: item.answer_letter(), explanation: item.explanation.clone(), streak })
    }

    // --- progress ---------------------------------------------------------------------------

    pub async fn progress(&self, store: &Store, clock: &dyn Clock, learner: &Learner) -> Result<Progress> {
        let today = learner.today(clock.now());
        let streak = store.streak(learner.user.id).await?.as_of(today);
        let best = store.best_attempts(learner.user.id).await?;
        let mut sums: BTreeMap<String, (f64, u32)> = BTreeMap::new();
        for (_, attempt) in &best {
            let entry = sums.entry(attempt.step_id.clone()).or_insert((0.0, 0));
            entry.0 += attempt.score as f64;
            entry.1 += 1;
        }
        let step_averages =
            sums.into_iter().map(|(step, (sum, n))| (step, (sum / n as f64 * 10.0).round() / 10.0)).collect();
        let weakest_concepts = self.concept_stats(best.iter().map(|(question, attempt)| (question.as_str(), attempt)));
        let since = today - Duration::days(ACTIVITY_WEEKS * 7 - 1);
        let quiz = store.quiz_totals(learner.user.id).await?;
        Ok(Progress {
            current_streak: streak.current,
            longest_streak: streak.longest,
            freezes: streak.freezes,
            sessions_completed: store.sessions_completed(learner.user.id).await?,
            step_averages,
            weakest_concepts,
            active_days: store.active_days(learner.user.id, since).await?,
            quiz_answered: quiz.iter().map(|(_, n, _)| n).sum(),
            quiz_correct: quiz.iter().map(|(_, _, c)| c).sum(),
        })
    }
}
