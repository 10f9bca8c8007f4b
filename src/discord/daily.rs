//! The question of the day: a scheduler that looks at the clock every tick and posts each
//! server's question once its local time has come, exactly once per local date.

use super::{BotError, Data, discord_code, no_pings, render};
use crate::coach::daily::due_date;
use crate::store::DailySettings;
use chrono::NaiveDate;
use poise::serenity_prelude as serenity;
use serenity::{ChannelId, CreateAllowedMentions, CreateMessage, CreateThread, Http, RoleId};
use std::sync::Arc;

/// How many servers are posted to at once: Discord's global limit is 50 requests a second.
const CONCURRENT_POSTS: usize = 8;

/// What became of a request to post a day's question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    Now {
        channel: String,
    },
    Already,
    /// The channel is gone or the bot may not post there; the schedule is now off.
    Disabled,
}

pub async fn schedule(http: Arc<Http>, data: Data) {
    let mut ticker = tokio::time::interval(data.settings.scheduler_tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_POSTS));
    loop {
        ticker.tick().await;
        let schedules = match data.store.enabled_dailies().await {
            Ok(list) => list,
            Err(error) => {
                tracing::error!(%error, "reading the daily schedules failed; trying again next tick");
                continue;
            }
        };
        let now = data.clock.now();
        let mut posts = tokio::task::JoinSet::new();
        for settings in schedules {
            let Some(date) = due_date(&settings, now) else { continue };
            let (http, data, limit) = (http.clone(), data.clone(), limit.clone());
            posts.spawn(async move {
                let Ok(_permit) = limit.acquire().await else { return };
                if let Err(error) = post_daily(&http, &data, &settings, date).await {
                    tracing::error!(%error, server = settings.server_id, "posting the question of the day failed");
                }
            });
        }
        while posts.join_next().await.is_some() {}
    }
}

/// The same for every attempt at one server's post on one date, and within Discord's 25
/// characters: the date and the server id's last 16 digits.
fn daily_nonce(server_id: &str, date: NaiveDate) -> serenity::Nonce {
    let digits: Vec<char> = server_id.chars().collect();
    let tail: String = digits[digits.len().saturating_sub(16)..].iter().collect();
    serenity::Nonce::String(format!("d{}{tail}", date.format("%Y%m%d")))
}

/// Posts `date`'s question in the server's channel with a thread to answer in, unless it is
/// out already. The date is claimed in the database first, so two ticks, a reconnect or a
/// restart can never post it twice; a post that fails gives its claim back for the next tick.
pub async fn post_daily(
    http: &Http,
    data: &Data,
    settings: &DailySettings,
    date: NaiveDate,
) -> Result<Posted, BotError> {
    let store = &data.store;
    let question = data.coach.daily_question(store, &settings.server_id).await?;
    if !store.claim_daily_post(&settings.server_id, date, &question.id, &settings.channel_id, data.clock.now()).await? {
        return Ok(Posted::Already);
    }
    let channel = match settings.channel_id.parse::<u64>() {
        Ok(id) if id != 0 => ChannelId::new(id),
        _ => {
            store.release_daily_post(&settings.server_id, date).await?;
            store.disable_daily(&settings.server_id, data.clock.now()).await?;
            return Ok(Posted::Disabled);
        }
    };
    let role = settings.role_id.as_deref().and_then(|r| r.parse::<u64>().ok()).filter(|r| *r != 0).map(RoleId::new);
    let card = render::Card::new(
        format!("Question of the day: {} ({})", question.title, question.difficulty),
        &question.scenario,
        serenity::Colour(0x3b82f6),
    )
    .footer("Answer in the thread below: your answer is graded against the whole question and counts for your streak.");
    let mut message = CreateMessage::new().embed(card.embed());
    // The configured role is the one mention the bot ever lets ping.
    let mentions = match role {
        Some(role) => {
            message = message.content(format!("<@&{role}> today's design question"));
            CreateAllowedMentions::new().empty_users().roles(vec![role]).everyone(false)
        }
        None => no_pings(),
    };
    // A retry after a lost reply (a dropped connection, a 5xx) must not post the question twice:
    // with `enforce_nonce` Discord returns the message it already created for this nonce.
    let message = message.allowed_mentions(mentions).nonce(daily_nonce(&settings.server_id, date)).enforce_nonce(true);
    let sent = super::deliver("post the question of the day", || channel.send_message(http, message.clone())).await;
    let sent = match sent {
        Ok(sent) => sent,
        Err(error) => {
            store.release_daily_post(&settings.server_id, date).await?;
            // Unknown channel, missing access, missing permissions: trying again cannot help.
            if matches!(discord_code(&error), Some(10003 | 50001 | 50013)) {
                store.disable_daily(&settings.server_id, data.clock.now()).await?;
                tracing::warn!(
                    server = settings.server_id,
                    channel = settings.channel_id,
                    %error,
                    "the daily channel is gone or closed to the bot; the daily question is now off for this server"
                );
                return Ok(Posted::Disabled);
            }
            return Err(error.into());
        }
    };
    let thread_name = render::clip(&format!("{} \u{2014} {date}", question.title), 100);
    let thread = super::deliver("open the daily thread", || {
        channel.create_thread_from_message(http, sent.id, CreateThread::new(thread_name.clone()))
    })
    .await;
    let thread_id = match thread {
        Ok(thread) => Some(thread.id.to_string()),
        Err(error) => {
            tracing::warn!(%error, server = settings.server_id, "the daily post has no thread; answers go unanswered");
            None
        }
    };
    store.complete_daily_post(&settings.server_id, date, &sent.id.to_string(), thread_id.as_deref()).await?;
    tracing::info!(server = settings.server_id, %date, question = question.id, "question of the day posted");
    Ok(Posted::Now { channel: settings.channel_id.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daily_nonce_fits_discord_and_names_one_server_and_date() {
        let text = |nonce: serenity::Nonce| match nonce {
            serenity::Nonce::String(text) => text,
            serenity::Nonce::Number(number) => number.to_string(),
        };
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let next_day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let nonce = text(daily_nonce("1234567890123456789", day));
        assert!(nonce.len() <= 25, "{nonce}");
        assert_eq!(nonce, text(daily_nonce("1234567890123456789", day)), "every attempt sends the same nonce");
        assert_ne!(nonce, text(daily_nonce("1234567890123456789", next_day)));
        assert_ne!(nonce, text(daily_nonce("1234567890123456788", day)));
    }
}
