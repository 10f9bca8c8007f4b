//! All persistent state, in SQLite through sqlx. The only module with SQL, so another store
//! (Postgres for several bot processes) can stand in its place later.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};

mod server;
pub use server::{DailyPost, DailySettings, MemberStanding};

/// Where the database lives when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://design-coach.db";

/// How long a writer waits for another writer before giving up; long enough that a learner
/// never sees "database is locked" under load.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("cannot update the database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database holds a value it cannot read back: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A learner's streak as stored; the rules that change it live in `coach::streak`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Streak {
    pub current: u32,
    pub longest: u32,
    pub freezes: u32,
    pub last_active: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Local,
    Discord,
}

impl Platform {
    fn as_str(self) -> &'static str {
        match self {
            Platform::Local => "local",
            Platform::Discord => "discord",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub display_name: String,
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    Active,
    Finished,
    Abandoned,
}

impl SessionStatus {
    fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Finished => "finished",
            SessionStatus::Abandoned => "abandoned",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "active" => Ok(SessionStatus::Active),
            "finished" => Ok(SessionStatus::Finished),
            "abandoned" => Ok(SessionStatus::Abandoned),
            other => Err(StoreError::Corrupt(format!("session status {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub place: String,
    pub server_id: Option<String>,
    pub question_id: String,
    pub framework_id: String,
    pub status: SessionStatus,
    pub step_index: usize,
    pub step_id: String,
    pub step_started_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub overall_score: Option<u32>,
}

/// A session as the coach works with it: the row, the current step's draft, and what the
/// step's attempts so far add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    pub row: SessionRow,
    pub draft: Draft,
    /// Graded attempts of the current step.
    pub attempts: u32,
    pub best_score: Option<u32>,
    /// Rubric items credited by any attempt of the current step.
    pub covered: Vec<String>,
}

const SESSION_STATE: &str = "
    SELECT s.*, COALESCE(d.text, '') AS text, COALESCE(d.hints_shown, 0) AS hints_shown,
           COALESCE(d.skipped, 0) AS skipped, COALESCE(d.seconds_used, 0) AS seconds_used,
           (SELECT COUNT(*) FROM step_answers a WHERE a.session_id = s.id AND a.step_id = s.step_id) AS attempt_count,
           (SELECT MAX(score) FROM step_answers a WHERE a.session_id = s.id AND a.step_id = s.step_id) AS best_score,
           (SELECT json_group_array(json(a.hits)) FROM step_answers a
             WHERE a.session_id = s.id AND a.step_id = s.step_id) AS covered
    FROM sessions s LEFT JOIN step_drafts d ON d.session_id = s.id AND d.step_id = s.step_id
    WHERE s.id = ?1";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    pub text: String,
    pub hints_shown: u32,
    pub skipped: bool,
    pub seconds_used: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub step_id: String,
    pub attempt: u32,
    pub answer: String,
    pub score: u32,
    pub hits: Vec<String>,
    pub misses: Vec<String>,
    pub red_flags: Vec<String>,
    pub seconds_taken: u64,
    pub submitted_at: DateTime<Utc>,
}

/// A session to start.
pub struct NewSession<'a> {
    pub user_id: i64,
    pub place: &'a str,
    pub server_id: Option<&'a str>,
    pub question_id: &'a str,
    pub framework_id: &'a str,
    pub first_step: &'a str,
}

/// A new attempt to record.
pub struct NewAttempt<'a> {
    pub step_id: &'a str,
    pub answer: &'a str,
    pub score: u32,
    pub hits: &'a [String],
    pub misses: &'a [String],
    pub red_flags: &'a [String],
    pub seconds_taken: u64,
}

#[derive(Debug, Clone)]
pub struct Store {
    /// Readers: WAL lets them run beside the writer.
    readers: Arc<[Mutex<SqliteConnection>]>,
    next_reader: Arc<AtomicUsize>,
    /// The one connection that writes. Writers queue here, in order, instead of contending for
    /// SQLite's lock, whose busy handler sleeps in steps of milliseconds. (Other processes on
    /// the same file still meet the busy timeout.)
    writer: Arc<Mutex<SqliteConnection>>,
    _checkpointer: Arc<AbortOnDrop>,
}

/// Connections are held rather than pooled: sqlx's pool pings a connection on its worker
/// thread every time it is handed back, which doubled the thread handoffs of every statement
/// and held the single writer for the ping.
type Guard<'a> = MutexGuard<'a, SqliteConnection>;

/// How many connections read.
const READERS: usize = 4;

/// Stops the checkpoint task when the last handle to the store goes.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often the write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Copies the write-ahead log into the database without blocking writers (PASSIVE), so the
/// log stays small and no answer waits for a checkpoint.
async fn checkpoint_periodically(mut connection: SqliteConnection) {
    let mut ticker = tokio::time::interval(CHECKPOINT_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut connection).await {
            tracing::warn!(%error, "WAL checkpoint failed; it will be retried");
        }
    }
}

fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("timestamp {text:?}")))
}

fn parse_date(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("date {text:?}")))
}

fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn parse_list(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt(format!("list {text:?}")))
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        let open_error = |source| StoreError::Open { url: url.to_string(), source };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(open_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // The writer never checkpoints on commit: a checkpoint syncs the database file, which
        // would stall the answer that happened to trigger it. A background task does it instead.
        let mut writer = options.clone().pragma("wal_autocheckpoint", "0").connect().await.map_err(open_error)?;
        sqlx::migrate!("./migrations").run(&mut writer).await?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(Mutex::new(options.connect().await.map_err(open_error)?));
        }
        let checkpointer = tokio::spawn(checkpoint_periodically(options.connect().await.map_err(open_error)?));
        Ok(Store {
            readers: readers.into(),
            next_reader: Arc::default(),
            writer: Arc::new(Mutex::new(writer)),
            _checkpointer: Arc::new(AbortOnDrop(checkpointer)),
        })
    }

    /// A reading connection: a free one if there is one, else the next in turn.
    async fn read(&self) -> Guard<'_> {
        let first = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for offset in 0..self.readers.len() {
            if let Ok(guard) = self.readers[(first + offset) % self.readers.len()].try_lock() {
                return guard;
            }
        }
        self.readers[first % self.readers.len()].lock().await
    }

    /// The writing connection; writers queue for it in order.
    async fn write(&self) -> Guard<'_> {
        self.writer.lock().await
    }

    /// `DATABASE_URL`, or a file in the working directory.
    pub fn url_from_env() -> String {
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into())
    }

    /// Copies what the write-ahead log holds into the database file before the process ends
    /// (the data is safe either way; this leaves a tidy file).
    pub async fn close(&self) {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *self.write().await).await {
            tracing::debug!(%error, "final checkpoint failed");
        }
    }

    // --- users -----------------------------------------------------------------------------

    /// The user with this platform identity, created on first sight.
    pub async fn user(
        &self,
        platform: Platform,
        external_id: &str,
        display_name: &str,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let row = sqlx::query(
            "INSERT INTO users (platform, external_id, display_name, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (platform, external_id) DO UPDATE SET
                display_name = CASE WHEN excluded.display_name = '' THEN users.display_name ELSE excluded.display_name END
             RETURNING id, display_name, timezone",
        )
        .bind(platform.as_str())
        .bind(external_id)
        .bind(display_name)
        .bind(time_text(now))
        .fetch_one(&mut *self.write().await)
        .await?;
        Ok(User { id: row.get(0), display_name: row.get(1), timezone: row.get(2) })
    }

    pub async fn set_timezone(&self, user_id: i64, timezone: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE users SET timezone = ?2 WHERE id = ?1")
            .bind(user_id)
            .bind(timezone)
            .execute(&mut *self.write().await)
            .await?;
        Ok(())
    }

    /// Deletes everything stored about a user. Returns whether there was such a user.
    pub async fn forget_user(&self, platform: Platform, external_id: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM users WHERE platform = ?1 AND external_id = ?2")
            .bind(platform.as_str())
            .bind(external_id)
            .execute(&mut *self.write().await)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    // --- sessions --------------------------------------------------------------------------

    fn session_from(row: &sqlx::sqlite::SqliteRow) -> Result<SessionRow> {
        let finished: Option<String> = row.get("finished_at");
        let score: Option<i64> = row.get("overall_score");
        let index: i64 = row.get("step_index");
        Ok(SessionRow {
            id: row.get("id"),
            user_id: row.get("user_id"),
            place: row.get("place"),
            server_id: row.get("server_id"),
            question_id: row.get("question_id"),
            framework_id: row.get("framework_id"),
            status: SessionStatus::parse(row.get("status"))?,
            step_index: usize::try_from(index).map_err(|_| StoreError::Corrupt(format!("step index {index}")))?,
            step_id: row.get("step_id"),
            step_started_at: parse_time(row.get("step_started_at"))?,
            started_at: parse_time(row.get("started_at"))?,
            finished_at: finished.as_deref().map(parse_time).transpose()?,
            overall_score: score.map(|s| s.clamp(0, 100) as u32),
        })
    }

    /// Starts a session; fails with a constraint error when the user already has an active
    /// session in this place (checked by the caller first, enforced here).
    pub async fn create_session(&self, new: &NewSession<'_>, now: DateTime<Utc>) -> Result<SessionRow> {
        let row = sqlx::query(
            "INSERT INTO sessions (user_id, place, server_id, question_id, framework_id, status, step_index, step_id,
                                   step_started_at, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'active', 0, ?7, ?6, ?6)
             RETURNING *",
        )
        .bind(new.user_id)
        .bind(new.place)
        .bind(new.server_id)
        .bind(new.question_id)
        .bind(new.framework_id)
        .bind(time_text(now))
        .bind(new.first_step)
        .fetch_one(&mut *self.write().await)
        .await?;
        Self::session_from(&row)
    }

    /// A session with its current step's draft and a summary of that step's attempts, in one
    /// query: this runs for every submission.
    pub async fn session_state(&self, id: i64) -> Result<Option<SessionState>> {
        let row = sqlx::query(SESSION_STATE).bind(id).fetch_optional(&mut *self.read().await).await?;
        row.as_ref().map(Self::state_from).transpose()
    }

    fn state_from(row: &sqlx::sqlite::SqliteRow) -> Result<SessionState> {
        let text: String = row.get("covered");
        let lists: Vec<Vec<String>> =
            serde_json::from_str(&text).map_err(|_| StoreError::Corrupt(format!("hits {text:?}")))?;
        let mut covered: Vec<String> = lists.into_iter().flatten().collect();
        covered.sort_unstable();
        covered.dedup();
        let best: Option<i64> = row.get("best_score");
        Ok(SessionState {
            row: Self::session_from(row)?,
            draft: Self::draft_from(row),
            attempts: row.get::<i64, _>("attempt_count").max(0) as u32,
            best_score: best.map(|score| score.clamp(0, 100) as u32),
            covered,
        })
    }

    pub async fn session(&self, id: i64) -> Result<Option<SessionRow>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *self.read().await)
            .await?;
        row.as_ref().map(Self::session_from).transpose()
    }

    pub async fn active_session(&self, user_id: i64, place: &str) -> Result<Option<SessionRow>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE user_id = ?1 AND place = ?2 AND status = 'active'")
            .bind(user_id)
            .bind(place)
            .fetch_optional(&mut *self.read().await)
            .await?;
        row.as_ref().map(Self::session_from).transpose()
    }

    /// The questions the user practised most recently, newest first.
    pub async fn recent_questions(&self, user_id: i64, limit: u32) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT question_id FROM sessions WHERE user_id = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&mut *self.read().await)
        .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    pub async fn move_to_step(
        &self,
        session_id: i64,
        step_index: usize,
        step_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET step_index = ?2, step_id = ?3, step_started_at = ?4 WHERE id = ?1 AND status = 'active'",
        )
        .bind(session_id)
        .bind(step_index as i64)
        .bind(step_id)
        .bind(time_text(now))
        .execute(&mut *self.write().await)
        .await?;
        Ok(())
    }

    pub async fn end_session(
        &self,
        session_id: i64,
        status: SessionStatus,
        overall_score: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET status = ?2, overall_score = ?3, finished_at = ?4 WHERE id = ?1 AND status = 'active'",
        )
        .bind(session_id)
        .bind(status.as_str())
        .bind(overall_score)
        .bind(time_text(now))
        .execute(&mut *self.write().await)
        .await?;
        Ok(())
    }

    // --- drafts and attempts ---------------------------------------------------------------

    fn draft_from(row: &sqlx::sqlite::SqliteRow) -> Draft {
        Draft {
            text: row.get("text"),
            hints_shown: row.get::<i64, _>("hints_shown").max(0) as u32,
            skipped: row.get::<i64, _>("skipped") != 0,
            seconds_used: row.get::<i64, _>("seconds_used").max(0) as u64,
        }
    }

    pub async fn draft(&self, session_id: i64, step_id: &str) -> Result<Draft> {
        let row = sqlx::query(
            "SELECT text, hints_shown, skipped, seconds_used FROM step_drafts WHERE session_id = ?1 AND step_id = ?2",
        )
        .bind(session_id)
        .bind(step_id)
        .fetch_optional(&mut *self.read().await)
        .await?;
        Ok(row.as_ref().map(Self::draft_from).unwrap_or_default())
    }

    /// Appends a part of the answer to the session's current step (answers may arrive in several
    /// messages), unless the session has ended or the draft would grow past `max_chars`. Returns
    /// the draft's length in characters, or None when nothing was appended.
    pub async fn append_draft(&self, session_id: i64, text: &str, max_chars: usize) -> Result<Option<usize>> {
        let row = sqlx::query(
            "INSERT INTO step_drafts (session_id, step_id, text)
             SELECT s.id, s.step_id, ?2 FROM sessions s WHERE s.id = ?1 AND s.status = 'active' AND length(?2) <= ?3
             ON CONFLICT (session_id, step_id) DO UPDATE SET
                text = CASE WHEN step_drafts.text = '' THEN excluded.text ELSE step_drafts.text || char(10) || excluded.text END
             WHERE length(step_drafts.text) + 1 + length(excluded.text) <= ?3
             RETURNING length(text)",
        )
        .bind(session_id)
        .bind(text)
        .bind(max_chars as i64)
        .fetch_optional(&mut *self.write().await)
        .await?;
        Ok(row.map(|row| row.get::<i64, _>(0).max(0) as usize))
    }

    pub async fn count_hint(&self, session_id: i64, step_id: &str) -> Result<u32> {
        let row = sqlx::query(
            "INSERT INTO step_drafts (session_id, step_id, hints_shown) VALUES (?1, ?2, 1)
             ON CONFLICT (session_id, step_id) DO UPDATE SET hints_shown = step_drafts.hints_shown + 1
             RETURNING hints_shown",
        )
        .bind(session_id)
        .bind(step_id)
        .fetch_one(&mut *self.write().await)
        .await?;
        Ok(row.get::<i64, _>(0).max(0) as u32)
    }

    pub async fn mark_skipped(&self, session_id: i64, step_id: &str, seconds_used: u64) -> Result<()> {
        sqlx::query(
            "INSERT INTO step_drafts (session_id, step_id, skipped, seconds_used) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (session_id, step_id) DO UPDATE SET skipped = 1, text = '',
                seconds_used = step_drafts.seconds_used + excluded.seconds_used",
        )
        .bind(session_id)
        .bind(step_id)
        .bind(seconds_used as i64)
        .execute(&mut *self.write().await)
        .await?;
        Ok(())
    }

    /// Records a graded attempt. The schema's trigger clears the draft for a revision, adds the
    /// time spent and restarts the step clock within the same statement.
    pub async fn record_attempt(&self, session_id: i64, attempt: &NewAttempt<'_>, now: DateTime<Utc>) -> Result<u32> {
        let row = sqlx::query(
            "INSERT INTO step_answers (session_id, step_id, attempt, answer, score, hits, misses, red_flags,
                                       seconds_taken, submitted_at)
             VALUES (?1, ?2, (SELECT COALESCE(MAX(attempt), 0) + 1 FROM step_answers WHERE session_id = ?1 AND step_id = ?2),
                     ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             RETURNING attempt",
        )
        .bind(session_id)
        .bind(attempt.step_id)
        .bind(attempt.answer)
        .bind(attempt.score)
        .bind(json_list(attempt.hits))
        .bind(json_list(attempt.misses))
        .bind(json_list(attempt.red_flags))
        .bind(attempt.seconds_taken as i64)
        .bind(time_text(now))
        .fetch_one(&mut *self.write().await)
        .await?;
        Ok(row.get::<i64, _>(0).max(0) as u32)
    }

    fn attempt_from(row: &sqlx::sqlite::SqliteRow) -> Result<Attempt> {
        Ok(Attempt {
            step_id: row.get("step_id"),
            attempt: row.get::<i64, _>("attempt").max(0) as u32,
            answer: row.get("answer"),
            score: row.get::<i64, _>("score").clamp(0, 100) as u32,
            hits: parse_list(row.get("hits"))?,
            misses: parse_list(row.get("misses"))?,
            red_flags: parse_list(row.get("red_flags"))?,
            seconds_taken: row.get::<i64, _>("seconds_taken").max(0) as u64,
            submitted_at: parse_time(row.get("submitted_at"))?,
        })
    }

    /// Every attempt of a session, in order.
    pub async fn attempts(&self, session_id: i64) -> Result<Vec<Attempt>> {
        let rows = sqlx::query("SELECT * FROM step_answers WHERE session_id = ?1 ORDER BY id")
            .bind(session_id)
            .fetch_all(&mut *self.read().await)
            .await?;
        rows.iter().map(Self::attempt_from).collect()
    }

    /// All drafts of a session, by step.
    pub async fn drafts(&self, session_id: i64) -> Result<Vec<(String, Draft)>> {
        let rows = sqlx::query(
            "SELECT step_id, text, hints_shown, skipped, seconds_used FROM step_drafts WHERE session_id = ?1",
        )
        .bind(session_id)
        .fetch_all(&mut *self.read().await)
        .await?;
        Ok(rows.iter().map(|row| (row.get("step_id"), Self::draft_from(row))).collect())
    }

    // --- quizzes ---------------------------------------------------------------------------

    pub async fn record_quiz_answer(
        &self,
        user_id: i64,
        item_id: &str,
        topic: &str,
        chosen: usize,
        correct: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO quiz_attempts (user_id, item_id, topic, chosen, correct, answered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(user_id)
        .bind(item_id)
        .bind(topic)
        .bind(chosen as i64)
        .bind(correct)
        .bind(time_text(now))
        .execute(&mut *self.write().await)
        .await?;
        Ok(())
    }

    /// (topic, answered, correct) for a user.
    pub async fn quiz_totals(&self, user_id: i64) -> Result<Vec<(String, u32, u32)>> {
        let rows = sqlx::query(
            "SELECT topic, COUNT(*), SUM(correct) FROM quiz_attempts WHERE user_id = ?1 GROUP BY topic ORDER BY topic",
        )
        .bind(user_id)
        .fetch_all(&mut *self.read().await)
        .await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get::<i64, _>(1) as u32, row.get::<i64, _>(2) as u32)).collect())
    }

    // --- streaks ---------------------------------------------------------------------------

    /// Marks `day` active for the user and applies `rule` to their streak, in one IMMEDIATE
    /// transaction that takes the write lock before reading: concurrent writers queue up
    /// (within the busy timeout) instead of losing an update.
    pub async fn update_streak<T>(
        &self,
        user_id: i64,
        day: NaiveDate,
        rule: impl FnOnce(Streak) -> (Streak, T),
    ) -> Result<(Streak, T)> {
        let mut writer = self.write().await;
        let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
        let streak = Self::read_streak(&mut tx, user_id).await?;
        let (next, outcome) = rule(streak);
        sqlx::query("INSERT OR IGNORE INTO activity_days (user_id, local_date) VALUES (?1, ?2)")
            .bind(user_id)
            .bind(day.format("%Y-%m-%d").to_string())
            .execute(&mut *tx)
            .await?;
        if next != streak {
            let last_active = next.last_active.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
            sqlx::query(
                "INSERT INTO streaks (user_id, current, longest, freezes, last_active) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (user_id) DO UPDATE SET current = excluded.current, longest = excluded.longest,
                    freezes = excluded.freezes, last_active = excluded.last_active",
            )
            .bind(user_id)
            .bind(next.current)
            .bind(next.longest)
            .bind(next.freezes)
            .bind(last_active)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((next, outcome))
    }

    async fn read_streak(connection: &mut SqliteConnection, user_id: i64) -> Result<Streak> {
        let row = sqlx::query("SELECT current, longest, freezes, last_active FROM streaks WHERE user_id = ?1")
            .bind(user_id)
            .fetch_optional(connection)
            .await?;
        match row {
            None => Ok(Streak::default()),
            Some(row) => Ok(Streak {
                current: row.get::<i64, _>(0).max(0) as u32,
                longest: row.get::<i64, _>(1).max(0) as u32,
                freezes: row.get::<i64, _>(2).max(0) as u32,
                last_active: Some(parse_date(row.get(3))?),
            }),
        }
    }

    pub async fn streak(&self, user_id: i64) -> Result<Streak> {
        Self::read_streak(&mut *self.read().await, user_id).await
    }

    pub async fn active_days(&self, user_id: i64, since: NaiveDate) -> Result<Vec<NaiveDate>> {
        let rows = sqlx::query(
            "SELECT local_date FROM activity_days WHERE user_id = ?1 AND local_date >= ?2 ORDER BY local_date",
        )
        .bind(user_id)
        .bind(since.format("%Y-%m-%d").to_string())
        .fetch_all(&mut *self.read().await)
        .await?;
        rows.iter().map(|row| parse_date(row.get(0))).collect()
    }

    // --- progress --------------------------------------------------------------------------

    pub async fn sessions_completed(&self, user_id: i64) -> Result<u32> {
        let row = sqlx::query("SELECT COUNT(*) FROM sessions WHERE user_id = ?1 AND status = 'finished'")
            .bind(user_id)
            .fetch_one(&mut *self.read().await)
            .await?;
        Ok(row.get::<i64, _>(0).max(0) as u32)
    }

    /// The best attempt of every step the user has graded: (question, step, hits, misses, score).
    pub async fn best_attempts(&self, user_id: i64) -> Result<Vec<(String, Attempt)>> {
        let rows = sqlx::query(
            "SELECT s.question_id, a.* FROM step_answers a JOIN sessions s ON s.id = a.session_id
             WHERE s.user_id = ?1 AND a.id = (
                SELECT b.id FROM step_answers b WHERE b.session_id = a.session_id AND b.step_id = a.step_id
                ORDER BY b.score DESC, b.id LIMIT 1)
             ORDER BY a.id",
        )
        .bind(user_id)
        .fetch_all(&mut *self.read().await)
        .await?;
        rows.iter().map(|row| Ok((row.get("question_id"), Self::attempt_from(row)?))).collect()
    }
}
