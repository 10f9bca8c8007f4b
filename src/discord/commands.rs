//! The slash commands. Each one checks what only Discord knows (who, where, permissions),
//! then asks the coach and shows the answer.

use super::render::{self, Card};
use super::{BotError, Context, Data, daily, display_name, no_pings, plural, post, server_of};
use crate::coach::QuestionChoice;
use crate::coach::daily::Ranking;
use crate::content::Difficulty;
use crate::store::{DailySettings, Platform};
use chrono::{Duration, NaiveTime};
use poise::serenity_prelude as serenity;
use serenity::{
    AutocompleteChoice, ChannelType, CreateActionRow, CreateAutocompleteResponse, CreateButton, CreateEmbed,
    CreateMessage, CreateThread, Permissions,
};

pub fn all() -> Vec<poise::Command<Data, BotError>> {
    vec![practice(), quiz(), streak(), progress(), leaderboard(), timezone(), forget_me(), daily()]
}

pub async fn on_error(error: poise::FrameworkError<'_, Data, BotError>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            if matches!(error, BotError::Discord(_) | BotError::Store(_)) {
                tracing::error!(%error, command = %ctx.command().name, "command failed");
            }
            let reply = poise::CreateReply::default().content(error.for_member()).ephemeral(true);
            if let Err(send_error) = ctx.send(reply).await {
                tracing::error!(%send_error, "could not tell the member about an error");
            }
        }
        other => {
            if let Err(error) = poise::builtins::on_error(other).await {
                tracing::error!(%error, "handling a framework error failed");
            }
        }
    }
}

fn card_reply(card: &Card, ephemeral: bool) -> poise::CreateReply {
    poise::CreateReply::default().embed(card.embed()).ephemeral(ephemeral).allowed_mentions(no_pings())
}

fn choices(list: impl Iterator<Item = (String, String)>) -> CreateAutocompleteResponse {
    CreateAutocompleteResponse::new().set_choices(
        list.take(25).map(|(name, value)| AutocompleteChoice::new(render::clip(&name, 100), value)).collect(),
    )
}

fn matches(partial: &str, candidates: &[&str]) -> bool {
    let partial = partial.trim().to_lowercase();
    candidates.iter().any(|c| c.to_lowercase().contains(&partial))
}

async fn question_choices(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let content = ctx.data().coach.grader().content();
    choices(
        content
            .questions
            .iter()
            .filter(|q| matches(partial, &[&q.id, &q.title]))
            .map(|q| (format!("{} ({})", q.title, q.difficulty), q.id.clone())),
    )
}

async fn framework_choices(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let content = ctx.data().coach.grader().content();
    choices(
        content
            .frameworks
            .iter()
            .filter(|f| matches(partial, &[&f.id, &f.title]))
            .map(|f| (f.title.clone(), f.id.clone())),
    )
}

async fn topic_choices(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let content = ctx.data().coach.grader().content();
    choices(
        content.quiz_topics().into_iter().filter(|t| matches(partial, &[t])).map(|t| (t.to_string(), t.to_string())),
    )
}

async fn timezone_choices(_ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    choices(
        chrono_tz::TZ_VARIANTS
            .iter()
            .map(|zone| zone.name())
            .filter(|name| matches(partial, &[name]))
            .map(|name| (name.to_string(), name.to_string())),
    )
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum DifficultyChoice {
    #[name = "easy"]
    Easy,
    #[name = "medium"]
    Medium,
    #[name = "hard"]
    Hard,
}

fn parse_timezone(name: &str) -> Result<chrono_tz::Tz, BotError> {
    name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        BotError::Refused(format!(
            "`{name}` is not a time zone I know; pick an IANA name such as Europe/Berlin from the list"
        ))
    })
}

/// Practise a system design question step by step in a thread of your own.
#[poise::command(slash_command, guild_only)]
pub async fn practice(
    ctx: Context<'_>,
    #[description = "Which question (leave empty for one you have not done lately)"]
    #[autocomplete = "question_choices"]
    question: Option<String>,
    #[description = "Interview framework (default: the question's own)"]
    #[autocomplete = "framework_choices"]
    framework: Option<String>,
    #[description = "Pick a random question of this difficulty"] difficulty: Option<DifficultyChoice>,
    #[description = "A private thread only you (and moderators) can see"] private: Option<bool>,
) -> Result<(), BotError> {
    let data = ctx.data();
    let guild = server_of(ctx)?;
    let author = ctx.author();
    let learner = data.learner(author, String::new(), Some(guild)).await?;
    if let Some(active) = data.store.active_sessions_in_server(learner.user.id, &guild.to_string()).await?.first() {
        return Err(BotError::Refused(format!(
            "You already have a practice session in <#{}>; finish it there (or press End) before starting another.",
            active.place
        )));
    }
    let coach = &data.coach;
    if let Some(id) = &question {
        coach.grader().question(id).map_err(|error| BotError::Refused(error.to_string()))?;
    }
    if let Some(id) = &framework
        && coach.grader().content().framework(id).is_none()
    {
        let known: Vec<&str> = coach.grader().content().frameworks.iter().map(|f| f.id.as_str()).collect();
        return Err(BotError::Refused(format!("unknown framework `{id}`; the frameworks are {}", known.join(", "))));
    }
    let difficulty = difficulty.map(|d| match d {
        DifficultyChoice::Easy => Difficulty::Easy,
        DifficultyChoice::Medium => Difficulty::Medium,
        DifficultyChoice::Hard => Difficulty::Hard,
    });
    // Create the thread first: the session lives in it, keyed by its id.
    let title = question
        .as_deref()
        .and_then(|id| coach.grader().content().question(id))
        .map(|q| render::thread_name(q, &display_name(author)))
        .unwrap_or_else(|| render::clip(&format!("Practice \u{2014} {}", display_name(author)), 100));
    let kind = if private.unwrap_or(false) { ChannelType::PrivateThread } else { ChannelType::PublicThread };
    let http = ctx.http();
    let thread = super::deliver("create a practice thread", || {
        ctx.channel_id().create_thread(http, CreateThread::new(title.clone()).kind(kind))
    })
    .await?;
    if kind == ChannelType::PrivateThread {
        super::deliver("add the learner to the thread", || thread.id.add_thread_member(http, author.id)).await?;
    }
    let learner = crate::coach::Learner { place: thread.id.to_string(), ..learner };
    let choice = QuestionChoice { id: question, difficulty, tag: None };
    let view = match coach.start(&data.store, data.clock.as_ref(), &learner, &choice, framework.as_deref()).await {
        Ok(view) => view,
        Err(error) => {
            let _ =
                post(http, thread.id, CreateMessage::new().content(error.to_string()), "report a failed start").await;
            return Err(error.into());
        }
    };
    if !title.starts_with(&view.question.title) {
        // A random question is only known now: name the thread after it.
        let name = render::thread_name(view.question, &display_name(author));
        let _ = thread.id.edit_thread(http, serenity::EditThread::new().name(name)).await;
    }
    post(
        http,
        thread.id,
        CreateMessage::new()
            .content(format!("<@{}>, here is your question.", author.id))
            .embeds(vec![render::scenario_card(&view).embed(), render::step_card(&view).embed()])
            .components(render::step_buttons(view.id())),
        "post the first step",
    )
    .await?;
    ctx.send(
        poise::CreateReply::default()
            .content(format!("Your practice session on **{}** is in <#{}>.", view.question.title, thread.id))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Answer quiz questions (A-D) on a topic, alone or as a group round in this channel.
#[poise::command(slash_command, guild_only)]
pub async fn quiz(
    ctx: Context<'_>,
    #[description = "Topic (leave empty for a mix)"]
    #[autocomplete = "topic_choices"]
    topic: Option<String>,
    #[description = "How many questions (1-10, default 5)"]
    #[min = 1]
    #[max = 10]
    count: Option<u8>,
    #[description = "A round for everyone in this channel"] group: Option<bool>,
) -> Result<(), BotError> {
    let data = ctx.data();
    let count = count.unwrap_or(5).clamp(1, 10) as usize;
    let seed: u32 = rand::random();
    let items = data.coach.quiz_round(topic.as_deref(), count, seed as u64)?;
    if group.unwrap_or(false) {
        let round = ctx.id().to_string();
        ctx.send(poise::CreateReply::default().content(format!(
            "Group quiz: {} question(s){}; everyone can answer, {} seconds each.",
            items.len(),
            topic.as_deref().map(|t| format!(" on {t}")).unwrap_or_default(),
            data.settings.group_quiz_window.as_secs()
        )))
        .await?;
        let ids: Vec<String> = items.iter().map(|item| item.id.clone()).collect();
        tokio::spawn(super::events::run_group_round(
            ctx.serenity_context().http.clone(),
            data.clone(),
            ctx.channel_id(),
            round,
            ids,
        ));
        return Ok(());
    }
    let Some(first) = items.first() else { return Err(BotError::Refused("There are no quiz questions yet.".into())) };
    let quiz = super::events::SoloQuiz { seed, topic: topic.clone(), position: 0, count: items.len(), correct: 0 };
    let options = first.options.len();
    ctx.send(
        poise::CreateReply::default()
            .embed(render::quiz_card(first, 0, items.len()).embed())
            .components(render::letter_buttons(options, |choice| quiz.custom_id(choice)))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Show a streak: yours, or another member's.
#[poise::command(slash_command)]
pub async fn streak(
    ctx: Context<'_>,
    #[description = "Whose streak (default: yours)"] user: Option<serenity::User>,
) -> Result<(), BotError> {
    let data = ctx.data();
    let who = user.as_ref().unwrap_or_else(|| ctx.author());
    let Some(stored) = data.store.find_user(Platform::Discord, &who.id.to_string()).await? else {
        ctx.send(
            poise::CreateReply::default().content(format!("{} has no streak yet.", display_name(who))).ephemeral(true),
        )
        .await?;
        return Ok(());
    };
    let server_zone = match ctx.guild_id() {
        Some(guild) => data.store.server_timezone(&guild.to_string()).await?,
        None => None,
    };
    let zone = crate::coach::streak::zone_for(stored.timezone.as_deref(), server_zone.as_deref());
    let today = crate::coach::streak::local_date(data.clock.now(), zone);
    let streak = data.store.streak(stored.id).await?.as_of(today);
    let text = format!(
        "**{}**: {} day streak (longest {}, {} freeze{} held).",
        display_name(who),
        streak.current,
        streak.longest,
        streak.freezes,
        plural(streak.freezes)
    );
    ctx.send(poise::CreateReply::default().content(text).allowed_mentions(no_pings())).await?;
    Ok(())
}

/// Your progress: average score per step, weakest concepts, activity (only you see it).
#[poise::command(slash_command)]
pub async fn progress(ctx: Context<'_>) -> Result<(), BotError> {
    let data = ctx.data();
    let learner = data.learner(ctx.author(), ctx.channel_id().to_string(), ctx.guild_id()).await?;
    let progress = data.coach.progress(&data.store, data.clock.as_ref(), &learner).await?;
    let today = learner.today(data.clock.now());
    ctx.send(card_reply(&render::progress_card(&display_name(ctx.author()), &progress, today), true)).await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum RankBy {
    #[name = "streak"]
    Streak,
    #[name = "score"]
    Score,
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum Period {
    #[name = "week"]
    Week,
    #[name = "all"]
    All,
}

/// This server's leaderboard, by streak or by points.
#[poise::command(slash_command, guild_only)]
pub async fn leaderboard(
    ctx: Context<'_>,
    #[description = "Rank by streak or by points (default: streak)"] by: Option<RankBy>,
    #[description = "Points of this week or of all time (default: week)"] period: Option<Period>,
) -> Result<(), BotError> {
    let data = ctx.data();
    let guild = server_of(ctx)?;
    let ranking = match by.unwrap_or(RankBy::Streak) {
        RankBy::Streak => Ranking::Streak,
        RankBy::Score => Ranking::Score,
    };
    let period = period.unwrap_or(Period::Week);
    let since = match period {
        Period::Week => Some(data.clock.now() - Duration::days(7)),
        Period::All => None,
    };
    let lines = data.coach.leaderboard(&data.store, data.clock.as_ref(), &guild.to_string(), ranking, since).await?;
    let title = match (ranking, period) {
        (Ranking::Streak, _) => "Leaderboard: current streaks".to_string(),
        (Ranking::Score, Period::Week) => "Leaderboard: points in the last 7 days".to_string(),
        (Ranking::Score, Period::All) => "Leaderboard: points of all time".to_string(),
    };
    ctx.send(card_reply(&render::leaderboard_card(&title, &lines, ranking == Ranking::Streak), false)).await?;
    Ok(())
}

/// Your time zone: your streak's days follow it.
#[poise::command(slash_command, subcommands("timezone_set"), subcommand_required)]
pub async fn timezone(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// Set your time zone (an IANA name such as Europe/Berlin).
#[poise::command(slash_command, rename = "set")]
pub async fn timezone_set(
    ctx: Context<'_>,
    #[description = "IANA time zone, e.g. America/New_York"]
    #[autocomplete = "timezone_choices"]
    zone: String,
) -> Result<(), BotError> {
    let data = ctx.data();
    let tz = parse_timezone(&zone)?;
    let learner = data.learner(ctx.author(), ctx.channel_id().to_string(), ctx.guild_id()).await?;
    data.store.set_timezone(learner.user.id, Some(tz.name())).await?;
    let local = data.clock.now().with_timezone(&tz).format("%H:%M on %A");
    ctx.send(
        poise::CreateReply::default()
            .content(format!("Time zone set to {} (it is {local} there); your streak days follow it.", tz.name()))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Delete everything the coach stores about you (asks to confirm first).
#[poise::command(slash_command, rename = "forget-me")]
pub async fn forget_me(ctx: Context<'_>) -> Result<(), BotError> {
    let confirm = CreateButton::new(format!("fm:{}", ctx.author().id))
        .label("Delete my data")
        .style(serenity::ButtonStyle::Danger);
    ctx.send(
        poise::CreateReply::default()
            .content(
                "This deletes your sessions, answers, quiz results and streak, in every server. It cannot be undone.",
            )
            .components(vec![CreateActionRow::Buttons(vec![confirm])])
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// The question of the day (members with Manage Server).
#[poise::command(
    slash_command,
    guild_only,
    subcommands("daily_setup", "daily_off", "daily_now", "daily_status"),
    subcommand_required,
    default_member_permissions = "MANAGE_GUILD"
)]
pub async fn daily(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// Discord hides /daily from members without Manage Server, but a server can change that:
/// the permissions Discord sends with the interaction decide.
fn require_manage_server(ctx: Context<'_>) -> Result<(), BotError> {
    let permissions = match ctx {
        poise::Context::Application(app) => app.interaction.member.as_ref().and_then(|member| member.permissions),
        poise::Context::Prefix(_) => None,
    };
    if permissions.is_some_and(|p| p.contains(Permissions::MANAGE_GUILD) || p.contains(Permissions::ADMINISTRATOR)) {
        Ok(())
    } else {
        Err(BotError::Refused(
            "Only members with the Manage Server permission can change the question of the day.".into(),
        ))
    }
}

/// Post a question every day at a local time, with a thread to answer in.
#[poise::command(slash_command, rename = "setup")]
pub async fn daily_setup(
    ctx: Context<'_>,
    #[description = "Where to post"]
    #[channel_types("Text")]
    channel: serenity::ChannelId,
    #[description = "Local time, HH:MM (24-hour)"] time: String,
    #[description = "IANA time zone, e.g. Europe/Berlin"]
    #[autocomplete = "timezone_choices"]
    timezone: String,
    #[description = "A role to ping with each question"] role: Option<serenity::RoleId>,
) -> Result<(), BotError> {
    require_manage_server(ctx)?;
    let data = ctx.data();
    let guild = server_of(ctx)?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M")
        .map_err(|_| BotError::Refused(format!("`{time}` is not a time; write it as HH:MM, e.g. 09:30 or 18:00")))?;
    let zone = parse_timezone(&timezone)?;
    let settings = DailySettings {
        server_id: guild.to_string(),
        channel_id: channel.to_string(),
        time,
        timezone: zone.name().to_string(),
        role_id: role.map(|r| r.to_string()),
        enabled: true,
    };
    data.store.set_daily(&settings, data.clock.now()).await?;
    ctx.send(
        poise::CreateReply::default()
            .content(format!(
                "The question of the day goes to <#{channel}> every day at {} ({}){}.",
                time.format("%H:%M"),
                zone.name(),
                role.map(|r| format!(", pinging <@&{r}>")).unwrap_or_default()
            ))
            .ephemeral(true)
            .allowed_mentions(no_pings()),
    )
    .await?;
    Ok(())
}

/// Stop the question of the day.
#[poise::command(slash_command, rename = "off")]
pub async fn daily_off(ctx: Context<'_>) -> Result<(), BotError> {
    require_manage_server(ctx)?;
    let data = ctx.data();
    let guild = server_of(ctx)?;
    let was_on = data.store.disable_daily(&guild.to_string(), data.clock.now()).await?;
    let text = if was_on { "The question of the day is off." } else { "The question of the day was not on." };
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
    Ok(())
}

/// Post today's question now (once per day).
#[poise::command(slash_command, rename = "now")]
pub async fn daily_now(ctx: Context<'_>) -> Result<(), BotError> {
    require_manage_server(ctx)?;
    let data = ctx.data();
    let guild = server_of(ctx)?;
    let Some(settings) = data.store.daily_settings(&guild.to_string()).await? else {
        return Err(BotError::Refused("Set the question of the day up first with /daily setup.".into()));
    };
    ctx.defer_ephemeral().await?;
    let zone = crate::coach::streak::zone_for(None, Some(&settings.timezone));
    let today = crate::coach::streak::local_date(data.clock.now(), zone);
    let text = match daily::post_daily(ctx.http(), data, &settings, today).await? {
        daily::Posted::Now { channel } => format!("Today's question is out in <#{channel}>."),
        daily::Posted::Already => "Today's question is already out; the next one comes tomorrow.".to_string(),
        daily::Posted::Disabled => {
            "I cannot post in that channel (deleted, or no permission); the schedule is off. Run /daily setup again."
                .to_string()
        }
    };
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
    Ok(())
}

/// Show the schedule and the last question posted.
#[poise::command(slash_command, rename = "status")]
pub async fn daily_status(ctx: Context<'_>) -> Result<(), BotError> {
    require_manage_server(ctx)?;
    let data = ctx.data();
    let guild = server_of(ctx)?;
    let settings = data.store.daily_settings(&guild.to_string()).await?;
    let last = data.store.latest_daily_post(&guild.to_string()).await?;
    let mut embed = CreateEmbed::new().title("Question of the day");
    embed = match &settings {
        Some(s) => embed.description(format!(
            "{} \u{b7} <#{}> at {} ({}){}",
            if s.enabled { "On" } else { "Off" },
            s.channel_id,
            s.time.format("%H:%M"),
            s.timezone,
            s.role_id.as_ref().map(|r| format!(" \u{b7} pings <@&{r}>")).unwrap_or_default()
        )),
        None => embed.description("Not set up: use /daily setup."),
    };
    if let Some(post) = last {
        let title = data
            .coach
            .grader()
            .content()
            .question(&post.question_id)
            .map(|q| q.title.clone())
            .unwrap_or(post.question_id);
        embed = embed.field("Last question", format!("{} on {}", title, post.local_date), false);
    }
    ctx.send(poise::CreateReply::default().embed(embed).ephemeral(true).allowed_mentions(no_pings())).await?;
    Ok(())
}
