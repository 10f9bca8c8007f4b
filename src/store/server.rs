//! Server settings, the question of the day and leaderboards: what the Discord front end keeps.

use super::{Result, SessionRow, Store, StoreError, Streak, parse_date, time_text};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::Row;

/// A server's schedule for the question of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailySettings {
    pub server_id: String,
    pub channel_id: String,
    /// Local wall-clock time in `timezone`.
    pub time: NaiveTime,
    pub timezone: String,
    /// The role the post pings, if any.
    pub role_id: Option<String>,
    pub enabled: bool,
}

/// A question of the day that went out (or is going out) in a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyPost {
    pub server_id: String,
    pub local_date: NaiveDate,
    pub question_id: String,
    pub channel_id: String,
    pub message_id: Option<String>,
    pub thread_id: Option<String>,
}

/// One line of a leaderboard, before ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberStanding {
    pub external_id: String,
    pub display_name: String,
    pub streak: Streak,
    /// Points in the period asked for: finished sessions' overall scores plus the best daily
    /// answer of each day.
    pub points: u32,
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

impl Store {
    /// The server's time zone (set with its daily schedule), for members who chose none.
    pub async fn server_timezone(&self, server_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT timezone FROM servers WHERE id = ?1")
            .bind(server_id)
            .fetch_optional(&mut *self.read().await)
            .await?;
        Ok(row.and_then(|row| row.get(0)))
    }

    pub async fn set_daily(&self, settings: &DailySettings, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO servers (id, timezone, daily_channel, daily_time, daily_role, daily_enabled, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET timezone = excluded.timezone, daily_channel = excluded.daily_channel,
                daily_time = excluded.daily_time, daily_role = excluded.daily_role,
                daily_enabled = excluded.daily_enabled, updated_at = excluded.updated_at",
        )
        .bind(&settings.server_id)
        .bind(&settings.timezone)
        .bind(&settings.channel_id)
        .bind(settings.time.format("%H:%M").to_string())
        .bind(&settings.role_id)
        .bind(settings.enabled)
        .bind(time_text(now))
        .execute(&mut *self.write().await)
        .await?;
        Ok(())
    }

    /// Turns a server's daily question off; returns whether it was on.
    pub async fn disable_daily(&self, server_id: &str, now: DateTime<Utc>) -> Result<bool> {
        let changed =
            sqlx::query("UPDATE servers SET daily_enabled = 0, updated_at = ?2 WHERE id = ?1 AND daily_enabled = 1")
                .bind(server_id)
                .bind(time_text(now))
                .execute(&mut *self.write().await)
                .await?;
        Ok(changed.rows_affected() > 0)
    }

    fn settings_from(row: &sqlx::sqlite::SqliteRow) -> Result<Option<DailySettings>> {
        let (Some(channel_id), Some(time), Some(timezone)) = (
            row.get::<Option<String>, _>("daily_channel"),
            row.get::<Option<String>, _>("daily_time"),
            row.get::<Option<String>, _>("timezone"),
        ) else {
            return Ok(None);
        };
        let time = NaiveTime::parse_from_str(&time, "%H:%M")
            .map_err(|_| StoreError::Corrupt(format!("daily time {time:?}")))?;
        Ok(Some(DailySettings {
            server_id: row.get("id"),
            channel_id,
            time,
            timezone,
            role_id: row.get("daily_role"),
            enabled: row.get::<i64, _>("daily_enabled") != 0,
        }))
    }

    pub async fn daily_settings(&self, server_id: &str) -> Result<Option<DailySettings>> {
        let row = sqlx::query("SELECT * FROM servers WHERE id = ?1")
            .bind(server_id)
            .fetch_optional(&mut *self.read().await)
            .await?;
        Ok(row.as_ref().map(Self::settings_from).transpose()?.flatten())
    }

    pub async fn enabled_dailies(&self) -> Result<Vec<DailySettings>> {
        let rows = sqlx::query("SELECT * FROM servers WHERE daily_enabled = 1 ORDER BY id")
            .fetch_all(&mut *self.read().await)
            .await?;
        let mut list = Vec::with_capacity(rows.len());
        for row in &rows {
            list.extend(Self::settings_from(row)?);
        }
        Ok(list)
    }

    /// Reserves the server's post for `date`. Only one caller ever wins a date, so the question
    /// goes out at most once however many ticks, reconnects or restarts race for it.
    pub async fn claim_daily_post(
        &self,
        server_id: &str,
        date: NaiveDate,
        question_id: &str,
        channel_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO daily_posts (server_id, local_date, question_id, channel_id, posted_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (server_id, local_date) DO NOTHING",
        )
        .bind(server_id)
        .bind(date_text(date))
        .bind(question_id)
        .bind(channel_id)
        .bind(time_text(now))
        .execute(&mut *self.write().await)
        .await?;
        Ok(inserted.rows_affected() > 0)
    }

    /// Gives back a claim whose post did not go out, so a later tick tries again.
    pub async fn release_daily_post(&self, server_id: &str, date: NaiveDate) -> Result<()> {
        sqlx::query("DELETE FROM daily_posts WHERE server_id = ?1 AND local_date = ?2 AND message_id IS NULL")
            .bind(server_id)
            .bind(date_text(date))
            .execute(&mut *self.write().await)
            .await?;
        Ok(())
    }

    /// Claims left by a process that stopped between claiming and posting: there is only one
    /// bot process per database, so at start none of them is in flight.
    pub async fn release_unfinished_daily_posts(&self) -> Result<u64> {
        let released =
            sqlx::query("DELETE FROM daily_posts WHERE message_id IS NULL").execute(&mut *self.write().await).await?;
        Ok(released.rows_affected())
    }

    pub async fn complete_daily_post(
        &self,
        server_id: &str,
        date: NaiveDate,
        message_id: &str,
        thread_id: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE daily_posts SET message_id = ?3, thread_id = ?4 WHERE server_id = ?1 AND local_date = ?2")
            .bind(server_id)
            .bind(date_text(date))
            .bind(message_id)
            .bind(thread_id)
            .execute(&mut *self.write().await)
            .await?;
        Ok(())
    }

    fn post_from(row: &sqlx::sqlite::SqliteRow) -> Result<DailyPost> {
        Ok(DailyPost {
            server_id: row.get("server_id"),
            local_date: parse_date(row.get("local_date"))?,
            question_id: row.get("question_id"),
            channel_id: row.get("channel_id"),
            message_id: row.get("message_id"),
            thread_id: row.get("thread_id"),
        })
    }

    pub async fn daily_post_in_thread(&self, thread_id: &str) -> Result<Option<DailyPost>> {
        let row = sqlx::query("SELECT * FROM daily_posts WHERE thread_id = ?1")
            .bind(thread_id)
            .fetch_optional(&mut *self.read().await)
            .await?;
        row.as_ref().map(Self::post_from).transpose()
    }

    pub async fn latest_daily_post(&self, server_id: &str) -> Result<Option<DailyPost>> {
        let row = sqlx::query("SELECT * FROM daily_posts WHERE server_id = ?1 ORDER BY local_date DESC LIMIT 1")
            .bind(server_id)
            .fetch_optional(&mut *self.read().await)
            .await?;
        row.as_ref().map(Self::post_from).transpose()
    }

    /// How often each question has been the server's question of the day.
    pub async fn daily_question_counts(&self, server_id: &str) -> Result<Vec<(String, u32)>> {
        let rows =
            sqlx::query("SELECT question_id, COUNT(*) FROM daily_posts WHERE server_id = ?1 GROUP BY question_id")
                .bind(server_id)
                .fetch_all(&mut *self.read().await)
                .await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get::<i64, _>(1).max(0) as u32)).collect())
    }

    pub async fn record_daily_answer(
        &self,
        user_id: i64,
        post: &DailyPost,
        score: u32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO daily_answers (user_id, server_id, local_date, question_id, score, answered_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(user_id)
        .bind(&post.server_id)
        .bind(date_text(post.local_date))
        .bind(&post.question_id)
        .bind(score)
        .bind(time_text(now))
        .execute(&mut *self.write().await)
        .await?;
        Ok(())
    }

    /// Remembers that a user takes part in a server, for its leaderboards.
    pub async fn add_member(&self, server_id: &str, user_id: i64) -> Result<()> {
        sqlx::query("INSERT OR IGNORE INTO server_members (server_id, user_id) VALUES (?1, ?2)")
            .bind(server_id)
            .bind(user_id)
            .execute(&mut *self.write().await)
            .await?;
        Ok(())
    }

    /// Every member of the server with their stored streak and their points since `since`.
    pub async fn standings(&self, server_id: &str, since: Option<DateTime<Utc>>) -> Result<Vec<MemberStanding>> {
        let since = since.map(time_text).unwrap_or_default();
        let rows = sqlx::query(
            "SELECT u.external_id, u.display_name, s.current, s.longest, s.freezes, s.last_active,
                COALESCE((SELECT SUM(overall_score) FROM sessions
                    WHERE user_id = u.id AND server_id = ?1 AND status = 'finished' AND finished_at >= ?2), 0)
              + COALESCE((SELECT SUM(best) FROM (SELECT MAX(score) AS best FROM daily_answers
                    WHERE user_id = u.id AND server_id = ?1 AND answered_at >= ?2 GROUP BY local_date)), 0)
             FROM server_members m JOIN users u ON u.id = m.user_id LEFT JOIN streaks s ON s.user_id = u.id
             WHERE m.server_id = ?1",
        )
        .bind(server_id)
        .bind(since)
        .fetch_all(&mut *self.read().await)
        .await?;
        rows.iter()
            .map(|row| {
                let last_active: Option<String> = row.get(5);
                Ok(MemberStanding {
                    external_id: row.get(0),
                    display_name: row.get(1),
                    streak: Streak {
                        current: row.get::<Option<i64>, _>(2).unwrap_or(0).max(0) as u32,
                        longest: row.get::<Option<i64>, _>(3).unwrap_or(0).max(0) as u32,
                        freezes: row.get::<Option<i64>, _>(4).unwrap_or(0).max(0) as u32,
                        last_active: last_active.as_deref().map(parse_date).transpose()?,
                    },
                    points: row.get::<i64, _>(6).max(0) as u32,
                })
            })
            .collect()
    }

    /// The active session held in a place (a Discord thread), with its owner's platform id.
    pub async fn session_in_place(&self, place: &str) -> Result<Option<(SessionRow, String)>> {
        let row = sqlx::query(
            "SELECT s.*, u.external_id AS owner FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.place = ?1 AND s.status = 'active' ORDER BY s.id LIMIT 1",
        )
        .bind(place)
        .fetch_optional(&mut *self.read().await)
        .await?;
        row.as_ref().map(|row| Ok((Self::session_from(row)?, row.get("owner")))).transpose()
    }

    /// The platform id (Discord user id) of a session's owner.
    pub async fn session_owner(&self, session_id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT u.external_id FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1")
            .bind(session_id)
            .fetch_optional(&mut *self.read().await)
            .await?;
        Ok(row.map(|row| row.get(0)))
    }

    /// The user with this platform identity, if the coach has seen them; reads only.
    pub async fn find_user(&self, platform: super::Platform, external_id: &str) -> Result<Option<super::User>> {
        let row = sqlx::query("SELECT id, display_name, timezone FROM users WHERE platform = ?1 AND external_id = ?2")
            .bind(platform.as_str())
            .bind(external_id)
            .fetch_optional(&mut *self.read().await)
            .await?;
        Ok(row.map(|row| super::User { id: row.get(0), display_name: row.get(1), timezone: row.get(2) }))
    }

    /// The user's active sessions in a server, newest first.
    pub async fn active_sessions_in_server(&self, user_id: i64, server_id: &str) -> Result<Vec<SessionRow>> {
        let rows = sqlx::query(
            "SELECT * FROM sessions WHERE user_id = ?1 AND server_id = ?2 AND status = 'active' ORDER BY id DESC",
        )
        .bind(user_id)
        .bind(server_id)
        .fetch_all(&mut *self.read().await)
        .await?;
        rows.iter().map(Self::session_from).collect()
    }
}
