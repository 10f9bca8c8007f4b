//! Daily streaks, as learners know them from language apps: a day counts when at least one
//! graded activity happens in the learner's own calendar day; a freeze, earned every 7
//! consecutive days (at most 2 held), covers a single missed day.

pub use crate::store::Streak;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

pub const DAYS_PER_FREEZE: u32 = 7;
pub const MAX_FREEZES: u32 = 2;

/// What recording a day did, for the message shown to the learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOutcome {
    /// The day had already counted.
    AlreadyCounted,
    Started,
    Extended,
    /// A freeze covered the missed day before.
    SavedByFreeze,
    /// Too many days were missed; the streak starts again at 1.
    Restarted,
}

impl Streak {
    /// The streak after a graded activity on `day`. Idempotent within a day; a day before the
    /// last active one (a clock or time-zone change) changes nothing.
    pub fn record(self, day: NaiveDate) -> (Streak, DayOutcome) {
        let mut next = self;
        let outcome = match self.last_active {
            None => {
                next.current = 1;
                DayOutcome::Started
            }
            Some(last) if day <= last => return (self, DayOutcome::AlreadyCounted),
            Some(last) => match (day - last).num_days() {
                1 => {
                    next.current += 1;
                    DayOutcome::Extended
                }
                2 if self.freezes > 0 => {
                    next.freezes -= 1;
                    next.current += 1;
                    DayOutcome::SavedByFreeze
                }
                _ => {
                    next.current = 1;
                    DayOutcome::Restarted
                }
            },
        };
        next.last_active = Some(day);
        if next.current.is_multiple_of(DAYS_PER_FREEZE) {
            next.freezes = (next.freezes + 1).min(MAX_FREEZES);
        }
        next.longest = next.longest.max(next.current);
        (next, outcome)
    }

    /// The streak as it stands on `today`: broken streaks show 0, while a streak that a freeze
    /// can still save (one missed day) is shown alive.
    pub fn as_of(self, today: NaiveDate) -> Streak {
        let alive = match self.last_active {
            None => false,
            Some(last) => {
                let gap = (today - last).num_days();
                gap <= 1 || gap == 2 && self.freezes > 0
            }
        };
        if alive { self } else { Streak { current: 0, ..self } }
    }
}

/// The calendar day of `now` in `zone`.
pub fn local_date(now: DateTime<Utc>, zone: Tz) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

/// The zone that decides a learner's day: theirs, else the server's, else UTC.
pub fn zone_for(user: Option<&str>, server: Option<&str>) -> Tz {
    user.and_then(|name| name.parse().ok()).or_else(|| server.and_then(|name| name.parse().ok())).unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn run(days: &[u32]) -> Streak {
        days.iter().fold(Streak::default(), |streak, &d| streak.record(day(d)).0)
    }

    #[test]
    fn consecutive_days_extend_and_repeats_count_once() {
        let streak = run(&[1, 1, 2, 2, 2, 3]);
        assert_eq!((streak.current, streak.longest), (3, 3));
        assert_eq!(Streak::default().record(day(1)).0.record(day(1)).1, DayOutcome::AlreadyCounted);
    }

    #[test]
    fn one_missed_day_without_a_freeze_restarts() {
        let streak = run(&[1, 2, 4]);
        assert_eq!((streak.current, streak.longest, streak.freezes), (1, 2, 0));
    }

    #[test]
    fn seven_days_earn_a_freeze_that_covers_one_missed_day() {
        let streak = run(&[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!((streak.current, streak.freezes), (7, 1));
        let (saved, outcome) = streak.record(day(9));
        assert_eq!(outcome, DayOutcome::SavedByFreeze);
        assert_eq!((saved.current, saved.freezes), (8, 0));
    }

    #[test]
    fn two_missed_days_restart_even_with_freezes() {
        let streak = run(&[1, 2, 3, 4, 5, 6, 7]);
        let (after, outcome) = streak.record(day(10));
        assert_eq!(outcome, DayOutcome::Restarted);
        assert_eq!((after.current, after.longest, after.freezes), (1, 7, 1));
    }

    #[test]
    fn at_most_two_freezes_are_held() {
        let streak = run(&(1..=28).collect::<Vec<_>>());
        assert_eq!((streak.current, streak.freezes), (28, MAX_FREEZES));
    }

    #[test]
    fn as_of_shows_broken_streaks_as_zero() {
        let streak = run(&[1, 2, 3]);
        assert_eq!(streak.as_of(day(4)).current, 3);
        assert_eq!(streak.as_of(day(5)).current, 0);
        let frozen = run(&[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(frozen.as_of(day(9)).current, 7, "a freeze can still save it");
        assert_eq!(frozen.as_of(day(10)).current, 0);
    }

    #[test]
    fn a_day_is_the_learners_own_calendar_day() {
        // 23:30 UTC on 1 March is already 2 March in Tokyo and still 1 March in New York.
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 23, 30, 0).unwrap();
        assert_eq!(local_date(now, chrono_tz::Asia::Tokyo), day(2));
        assert_eq!(local_date(now, chrono_tz::America::New_York), day(1));
        assert_eq!(zone_for(Some("Asia/Tokyo"), Some("Europe/Paris")), chrono_tz::Asia::Tokyo);
        assert_eq!(zone_for(Some("Not/AZone"), Some("Europe/Paris")), chrono_tz::Europe::Paris);
        assert_eq!(zone_for(None, None), Tz::UTC);
    }
}
