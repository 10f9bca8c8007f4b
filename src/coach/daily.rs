//! The question of the day: when a server's post is due, which question it carries, grading
//! the answers posted under it, and the server's leaderboards.

use super::{Clock, Coach, CoachError, Learner, Result, off_the_runtime, streak};
use crate::content::Question;
use crate::grading::Grade;
use crate::store::{DailyPost, DailySettings, Store, Streak};
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rand::seq::SliceRandom;

/// The instant `time` happens on `date` in `zone`. A time skipped by a daylight-saving jump
/// happens when the clocks resume (02:30 on a spring-forward night posts at 03:00); a time that
/// happens twice (autumn) counts its first occurrence, so the post never goes out twice.
pub fn scheduled_instant(date: NaiveDate, time: NaiveTime, zone: Tz) -> DateTime<Utc> {
    let local = date.and_time(time);
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Gaps are at most a few hours; the first minute that exists afterwards is when
            // the clocks resume.
            (1..=24 * 60)
                .find_map(|minutes| zone.from_local_datetime(&(local + Duration::minutes(minutes))).earliest())
                .map(|at| at.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&local))
        }
    }
}

/// The local date whose post is due at `now`, if the schedule's time has passed today there.
/// A post missed while the bot was down still goes out later the same local day.
pub fn due_date(settings: &DailySettings, now: DateTime<Utc>) -> Option<NaiveDate> {
    let zone = streak::zone_for(None, Some(&settings.timezone));
    let today = streak::local_date(now, zone);
    (settings.enabled && now >= scheduled_instant(today, settings.time, zone)).then_some(today)
}

/// Leaderboard order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    Streak,
    Score,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeaderboardLine {
    pub external_id: String,
    pub display_name: String,
    pub current_streak: u32,
    pub longest_streak: u32,
    pub points: u32,
}

/// What a member gets back for an answer under the question of the day.
#[derive(Debug, Clone)]
pub struct DailyFeedback {
    pub grade: Grade,
    pub streak: Streak,
}

impl Coach {
    /// The question for a server's next daily post: one it has had least often, so nothing
    /// repeats until the whole bank has been used.
    pub async fn daily_question(&self, store: &Store, server_id: &str) -> Result<&Question> {
        let counts = store.daily_question_counts(server_id).await?;
        let times_used = |question: &Question| {
            counts.iter().find(|(id, _)| *id == question.id).map(|(_, count)| *count).unwrap_or(0)
        };
        let questions = &self.grader.content().questions;
        let fewest = questions.iter().map(times_used).min().unwrap_or(0);
        let unused: Vec<&Question> = questions.iter().filter(|q| times_used(q) == fewest).collect();
        unused
            .choose(&mut rand::thread_rng())
            .copied()
            .ok_or_else(|| CoachError::NoQuestionMatches("anything for the question of the day".into()))
    }

    /// Grades an answer posted under a question of the day against the whole question, keeps
    /// its score for the leaderboard and counts the day for the learner's streak.
    pub async fn answer_daily(
        &self,
        store: &Store,
        clock: &dyn Clock,
        learner: &Learner,
        post: &DailyPost,
        text: &str,
    ) -> Result<DailyFeedback> {
        if text.trim().is_empty() {
            return Err(CoachError::EmptyAnswer);
        }
        let chars = text.chars().count();
        if chars > super::MAX_STEP_ANSWER_CHARS {
            return Err(CoachError::AnswerTooLong { chars });
        }
        let (grader, question, text) = (self.grader.clone(), post.question_id.clone(), text.to_string());
        let grade = off_the_runtime(move || grader.grade(&question, None, &text)).await??;
        let now = clock.now();
        store.record_daily_answer(learner.user.id, post, grade.score, now).await?;
        let (streak, _) = self.count_day(store, learner.user.id, learner.today(now)).await?;
        Ok(DailyFeedback { grade, streak })
    }

    /// The server's members ranked by current streak or by points; `since` limits the points
    /// to a period (a week), None counts all time.
    pub async fn leaderboard(
        &self,
        store: &Store,
        clock: &dyn Clock,
        server_id: &str,
        ranking: Ranking,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<LeaderboardLine>> {
        let zone = streak::zone_for(None, store.server_timezone(server_id).await?.as_deref());
        let today = streak::local_date(clock.now(), zone);
        let mut lines: Vec<LeaderboardLine> = store
            .standings(server_id, since)
            .await?
            .into_iter()
            .map(|member| {
                let streak = member.streak.as_of(today);
                LeaderboardLine {
                    external_id: member.external_id,
                    display_name: member.display_name,
                    current_streak: streak.current,
                    longest_streak: streak.longest,
                    points: member.points,
                }
            })
            .collect();
        lines.retain(|line| match ranking {
            Ranking::Streak => line.current_streak > 0,
            Ranking::Score => line.points > 0,
        });
        lines.sort_by(|a, b| {
            let key = |line: &LeaderboardLine| match ranking {
                Ranking::Streak => (line.current_streak, line.points),
                Ranking::Score => (line.points, line.current_streak),
            };
            key(b).cmp(&key(a)).then_with(|| a.display_name.cmp(&b.display_name))
        });
        lines.truncate(10);
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(time: &str, zone: &str) -> DailySettings {
        DailySettings {
            server_id: "1".into(),
            channel_id: "2".into(),
            time: NaiveTime::parse_from_str(time, "%H:%M").unwrap(),
            timezone: zone.into(),
            role_id: None,
            enabled: true,
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_post_is_due_from_its_local_time_until_the_end_of_that_day() {
        let berlin = settings("09:00", "Europe/Berlin");
        assert_eq!(due_date(&berlin, utc("2026-12-04T07:59:00Z")), None);
        assert_eq!(due_date(&berlin, utc("2026-12-04T08:00:00Z")), NaiveDate::from_ymd_opt(2026, 12, 4));
        assert_eq!(due_date(&berlin, utc("2026-12-04T22:59:00Z")), NaiveDate::from_ymd_opt(2026, 12, 4));
        // Past midnight in Berlin it is the next day, and 09:00 has not come yet.
        assert_eq!(due_date(&berlin, utc("2026-12-04T23:00:00Z")), None);
    }

    #[test]
    fn a_time_skipped_by_spring_forward_posts_when_the_clocks_resume() {
        // New York, 2026-03-08: 02:00 jumps to 03:00.
        let at = scheduled_instant(
            NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            chrono_tz::America::New_York,
        );
        assert_eq!(at, utc("2026-03-08T07:00:00Z"));
    }

    #[test]
    fn a_time_repeated_by_fall_back_counts_once_at_its_first_occurrence() {
        // New York, 2026-11-01: 01:00-02:00 happens twice (EDT, then EST).
        let at = scheduled_instant(
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            NaiveTime::from_hms_opt(1, 30, 0).unwrap(),
            chrono_tz::America::New_York,
        );
        assert_eq!(at, utc("2026-11-01T05:30:00Z"));
    }

    #[test]
    fn a_disabled_schedule_is_never_due() {
        let mut off = settings("00:00", "UTC");
        off.enabled = false;
        assert_eq!(due_date(&off, utc("2026-12-04T12:00:00Z")), None);
    }
}
