//! The Discord front end: slash commands (poise), practice threads driven by buttons, quizzes,
//! the question of the day and leaderboards. Thin: every decision is the coach's, every byte
//! stored is the store's; this module turns Discord events into coach calls and coach results
//! into messages.

mod commands;
mod daily;
mod events;
mod order;
pub mod render;

use crate::coach::{Clock, Coach, CoachError, Learner};
use crate::store::{Platform, Store, StoreError};
use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage,
    GatewayIntents, GuildId, Http, HttpBuilder, Message, User,
};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error(
        "DISCORD_TOKEN is not set; set it to your Discord application's bot token (README, \"Run it in your server\")"
    )]
    MissingToken,
    #[error(
        "Discord rejected DISCORD_TOKEN; copy the bot token again from the Discord developer portal (Bot, Reset Token)"
    )]
    TokenRejected,
    #[error("DEV_GUILD_ID must be a Discord server id (a number), not {0:?}")]
    BadGuildId(String),
    #[error("cannot talk to Discord: {0}")]
    Discord(Box<serenity::Error>),
    #[error(transparent)]
    Coach(#[from] CoachError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something the member can fix, said to them as it is.
    #[error("{0}")]
    Refused(String),
}

impl From<serenity::Error> for BotError {
    fn from(error: serenity::Error) -> Self {
        BotError::Discord(Box::new(error))
    }
}

impl BotError {
    /// What the member sees: their own mistakes in full, the bot's troubles in one line.
    fn for_member(&self) -> String {
        match self {
            BotError::Coach(CoachError::Store(_) | CoachError::Internal(_))
            | BotError::Store(_)
            | BotError::Discord(_) => {
                "Something went wrong on the coach's side; your work is saved. Please try again in a moment.".into()
            }
            other => other.to_string(),
        }
    }
}

/// The bot token; kept out of every log line and debug print.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(hidden)")
    }
}

#[derive(Debug, Clone)]
pub struct BotSettings {
    pub token: Token,
    /// Register commands in this server only (instant, for development); else globally.
    pub dev_guild: Option<GuildId>,
    /// Another address for Discord's API (a local double in tests). Serenity's own rate
    /// limiter always talks to discord.com, so with another address it is off and the bot's
    /// retries handle HTTP 429 alone.
    pub api_base: Option<String>,
    /// How often the daily scheduler looks at the clock.
    pub scheduler_tick: Duration,
    /// How long a group quiz question stays open.
    pub group_quiz_window: Duration,
}

impl BotSettings {
    /// `DISCORD_TOKEN` and `DEV_GUILD_ID` from the environment.
    pub fn from_env() -> Result<BotSettings, BotError> {
        let token =
            std::env::var("DISCORD_TOKEN").ok().filter(|t| !t.trim().is_empty()).ok_or(BotError::MissingToken)?;
        let dev_guild = match std::env::var("DEV_GUILD_ID").ok().filter(|g| !g.trim().is_empty()) {
            Some(text) => Some(
                text.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|id| *id != 0)
                    .map(GuildId::new)
                    .ok_or(BotError::BadGuildId(text))?,
            ),
            None => None,
        };
        Ok(BotSettings {
            token: Token::new(token.trim()),
            dev_guild,
            api_base: None,
            scheduler_tick: Duration::from_secs(20),
            group_quiz_window: Duration::from_secs(30),
        })
    }
}

/// A group quiz in a channel: who answered what, per question.
#[derive(Debug, Default)]
struct GroupRound {
    /// Per question: member id -> (name, chosen option).
    answers: Vec<HashMap<String, (String, usize)>>,
    /// Quiz item ids, in order.
    items: Vec<String>,
    /// The question taking answers now.
    open: usize,
}

/// What every handler shares.
pub struct Shared {
    coach: Arc<Coach>,
    store: Store,
    clock: Arc<dyn Clock>,
    settings: BotSettings,
    group_rounds: Mutex<HashMap<String, GroupRound>>,
    message_order: order::MessageOrder,
}

#[derive(Clone)]
pub struct Data(Arc<Shared>);

impl std::ops::Deref for Data {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

type Context<'a> = poise::Context<'a, Data, BotError>;

/// "s" for counts other than one: "1 day", "3 days".
fn plural(count: u32) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// The server a command runs in; `/command` names it in the refusal.
fn server_of(ctx: Context<'_>) -> Result<GuildId, BotError> {
    ctx.guild_id()
        .ok_or_else(|| BotError::Refused(format!("Use /{} in a server channel.", ctx.command().qualified_name)))
}

fn display_name(user: &User) -> String {
    user.global_name.clone().unwrap_or_else(|| user.name.clone())
}

impl Shared {
    fn group_round_item(&self, round: &str, position: usize) -> Option<String> {
        let rounds = self.group_rounds.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        rounds.get(round).and_then(|state| state.items.get(position).cloned())
    }

    /// The learner a Discord member is, in `place` (a thread, or a channel for quizzes); a member
    /// met in a server joins its leaderboards.
    async fn learner(&self, user: &User, place: String, server: Option<GuildId>) -> Result<Learner, BotError> {
        let stored =
            self.store.user(Platform::Discord, &user.id.to_string(), &display_name(user), self.clock.now()).await?;
        let server_id = server.map(|guild| guild.to_string());
        let server_timezone = match &server_id {
            Some(id) => {
                self.store.add_member(id, stored.id).await?;
                self.store.server_timezone(id).await?
            }
            None => None,
        };
        Ok(Learner { user: stored, place, server_id, server_timezone })
    }
}

/// No mention the bot sends pings anyone, whatever the learner wrote.
pub fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new().empty_users().empty_roles().everyone(false)
}

/// Discord's answer to a request it refused, if that is what went wrong.
fn refusal(error: &serenity::Error) -> Option<&serenity::http::ErrorResponse> {
    match error {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(response)) => Some(response),
        _ => None,
    }
}

fn is_transient(error: &serenity::Error) -> bool {
    match refusal(error) {
        Some(response) => response.status_code.as_u16() == 429 || response.status_code.is_server_error(),
        None => matches!(error, serenity::Error::Http(serenity::http::HttpError::Request(_))),
    }
}

/// The Discord error code of a refused request (10003 unknown channel, 50001/50013 access).
fn discord_code(error: &serenity::Error) -> Option<isize> {
    refusal(error).map(|response| response.error.code)
}

fn status_of(error: &serenity::Error) -> Option<u16> {
    refusal(error).map(|response| response.status_code.as_u16())
}

const SEND_ATTEMPTS: u32 = 5;

/// Runs a Discord request, retrying rate limits (429), server errors and dropped connections
/// with growing waits; logs what it gives up on. Serenity's limiter honours Discord's
/// retry-after itself when it is on; these retries are the floor under it.
async fn deliver<T, F, Fut>(what: &str, mut request: F) -> Result<T, serenity::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, serenity::Error>>,
{
    let mut wait = Duration::from_millis(1_000);
    let mut attempt = 1;
    loop {
        match request().await {
            Err(error) if attempt < SEND_ATTEMPTS && is_transient(&error) => {
                tracing::warn!(%error, attempt, what, "Discord request failed; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            Err(error) => {
                tracing::error!(%error, what, "Discord request failed");
                return Err(error);
            }
            Ok(value) => return Ok(value),
        }
    }
}

/// Posts a message in a channel (with retries), never pinging anyone.
async fn post(http: &Http, channel: ChannelId, message: CreateMessage, what: &str) -> Result<Message, serenity::Error> {
    let message = message.allowed_mentions(no_pings());
    deliver(what, || channel.send_message(http, message.clone())).await
}

/// Posts plain text, split into as many messages as Discord's 2,000-character limit needs.
async fn post_text(http: &Http, channel: ChannelId, text: &str, what: &str) -> Result<(), serenity::Error> {
    for part in render::split_message(text, render::MESSAGE_LIMIT) {
        post(http, channel, CreateMessage::new().content(part), what).await?;
    }
    Ok(())
}

/// An ephemeral reply to an interaction.
fn ephemeral(text: impl Into<String>) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(render::clip(&text.into(), render::MESSAGE_LIMIT))
            .ephemeral(true)
            .allowed_mentions(no_pings()),
    )
}

fn http_for(settings: &BotSettings) -> Http {
    let mut builder = HttpBuilder::new(&settings.token.0);
    if let Some(base) = &settings.api_base {
        builder = builder.proxy(base.as_str()).ratelimiter_disabled(true);
    }
    builder.build()
}

/// Runs the bot until `shutdown` completes (SIGTERM, Ctrl-C, or a test's signal), or until
/// the gateway connection fails for good.
pub async fn run(
    settings: BotSettings,
    coach: Arc<Coach>,
    store: Store,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), BotError> {
    let http = http_for(&settings);
    match http.get_current_user().await {
        Ok(user) => tracing::info!(bot = %user.name, "token accepted"),
        Err(error) if status_of(&error) == Some(401) => return Err(BotError::TokenRejected),
        Err(error) => return Err(error.into()),
    }
    let released = store.release_unfinished_daily_posts().await?;
    if released > 0 {
        tracing::warn!(released, "daily posts claimed by a stopped process will be posted again");
    }
    let data = Data(Arc::new(Shared {
        coach,
        store,
        clock,
        settings: settings.clone(),
        group_rounds: Mutex::default(),
        message_order: order::MessageOrder::default(),
    }));
    let intents = GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT;
    let setup_data = data.clone();
    let dev_guild = settings.dev_guild;
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            event_handler: |framework, event| Box::pin(events::handle(framework, event)),
            on_error: |error| Box::pin(commands::on_error(error)),
            allowed_mentions: Some(no_pings()),
            initialize_owners: false,
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                let registered = match dev_guild {
                    Some(guild) => poise::builtins::register_in_guild(ctx, commands, guild).await,
                    None => poise::builtins::register_globally(ctx, commands).await,
                };
                match registered {
                    Ok(()) => tracing::info!(servers = ready.guilds.len(), "slash commands registered"),
                    Err(error) => tracing::error!(%error, "registering slash commands failed"),
                }
                Ok(setup_data)
            })
        })
        .build();
    let mut client = serenity::all::ClientBuilder::new_with_http(http, intents).framework(framework).await?;
    let scheduler = tokio::spawn(daily::schedule(client.http.clone(), data.clone()));
    let shard_manager = client.shard_manager.clone();
    let outcome = tokio::select! {
        result = client.start() => result.map_err(BotError::from),
        () = shutdown => {
            tracing::info!("shutting down");
            Ok(())
        }
    };
    scheduler.abort();
    shard_manager.shutdown_all().await;
    outcome
}
