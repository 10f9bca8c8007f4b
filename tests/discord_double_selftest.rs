//! Proves the Discord double speaks a dialect the real serenity 0.12 client understands: every
//! payload here goes through serenity's own parsing, over real HTTP and websocket connections.

mod discord_double;

use std::sync::Arc;
use std::time::Duration;

use discord_double::*;
use serde_json::json;
use serenity::all::{
    AutoArchiveDuration, ButtonStyle, Channel, ChannelId, ChannelType, Client, ClientBuilder, Command,
    CommandDataOptionValue, CommandOptionType, Context, CreateActionRow, CreateAttachment, CreateAutocompleteResponse,
    CreateButton, CreateCommand, CreateCommandOption, CreateEmbed, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage, CreateThread, EditMessage,
    EditThread, EventHandler, GatewayIntents, Guild, GuildChannel, GuildId, Http, HttpBuilder, Interaction, Message,
    MessageId, Permissions, Ready, RoleId, ShardManager, UserId,
};
use serenity::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(5);

#[derive(Debug)]
enum Seen {
    Ready(Box<Ready>),
    Guild(Box<Guild>),
    Message(Box<Message>),
    Interaction(Box<Interaction>),
    ChannelDelete(Box<GuildChannel>),
    ThreadCreate(Box<GuildChannel>),
    Resumed,
}

/// Forwards what serenity parsed to the test, which asserts on it.
struct Forward(mpsc::UnboundedSender<Seen>);

#[async_trait]
impl EventHandler for Forward {
    async fn ready(&self, _: Context, ready: Ready) {
        let _ = self.0.send(Seen::Ready(Box::new(ready)));
    }
    async fn guild_create(&self, _: Context, guild: Guild, _: Option<bool>) {
        let _ = self.0.send(Seen::Guild(Box::new(guild)));
    }
    async fn message(&self, _: Context, message: Message) {
        let _ = self.0.send(Seen::Message(Box::new(message)));
    }
    async fn interaction_create(&self, _: Context, interaction: Interaction) {
        let _ = self.0.send(Seen::Interaction(Box::new(interaction)));
    }
    async fn channel_delete(&self, _: Context, channel: GuildChannel, _: Option<Vec<Message>>) {
        let _ = self.0.send(Seen::ChannelDelete(Box::new(channel)));
    }
    async fn thread_create(&self, _: Context, thread: GuildChannel) {
        let _ = self.0.send(Seen::ThreadCreate(Box::new(thread)));
    }
    async fn resume(&self, _: Context, _: serenity::model::event::ResumedEvent) {
        let _ = self.0.send(Seen::Resumed);
    }
}

struct Bot {
    events: mpsc::UnboundedReceiver<Seen>,
    shards: Arc<ShardManager>,
    run: JoinHandle<Result<(), serenity::Error>>,
}

impl Bot {
    /// Connects the way the real bot does: proxy + disabled limiter, one shard via `start()`.
    async fn start(double: &DiscordDouble, token: &str) -> Bot {
        let (tx, events) = mpsc::unbounded_channel();
        let intents = GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT;
        let http = HttpBuilder::new(token).proxy(double.url()).ratelimiter_disabled(true).build();
        let mut client: Client =
            ClientBuilder::new_with_http(http, intents).event_handler(Forward(tx)).await.expect("client builds");
        let shards = client.shard_manager.clone();
        let run = tokio::spawn(async move { client.start().await });
        Bot { events, shards, run }
    }

    /// The next forwarded event for which `pick` returns Some, skipping others.
    async fn next<T>(&mut self, what: &str, mut pick: impl FnMut(Seen) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(seen)) => {
                    if let Some(found) = pick(seen) {
                        return found;
                    }
                }
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    async fn interaction(&mut self) -> Interaction {
        self.next("an interaction", |s| match s {
            Seen::Interaction(i) => Some(*i),
            _ => None,
        })
        .await
    }

    async fn stop(self) {
        self.shards.shutdown_all().await;
        let _ = tokio::time::timeout(WAIT, self.run).await;
    }
}

/// A REST-only client, like the one the bot uses outside event handlers.
fn rest(double: &DiscordDouble) -> Http {
    HttpBuilder::new("test-token")
        .proxy(double.url())
        .ratelimiter_disabled(true)
        .application_id(APPLICATION_ID.into())
        .build()
}

fn status_and_code(err: &serenity::Error) -> (u16, isize) {
    match err {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(resp)) => {
            (resp.status_code.as_u16(), resp.error.code)
        }
        other => panic!("expected an unsuccessful request, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_ready_guild_message_and_channel_delete_reach_serenity() {
    let double = DiscordDouble::start().await;
    let mut bot = Bot::start(&double, "good-token").await;

    let ready = bot
        .next("ready", |s| match s {
            Seen::Ready(r) => Some(r),
            _ => None,
        })
        .await;
    assert_eq!(ready.user.id, UserId::new(BOT_USER_ID));
    assert!(ready.user.bot);
    assert_eq!(ready.application.id.get(), APPLICATION_ID);
    assert_eq!(ready.guilds[0].id, GuildId::new(GUILD_ID));
    assert!(double.wait_for_ready(WAIT).await);

    let guild = bot
        .next("guild_create", |s| match s {
            Seen::Guild(g) => Some(g),
            _ => None,
        })
        .await;
    assert_eq!(guild.id, GuildId::new(GUILD_ID));
    // serenity skips channels it cannot parse with only a log line, so count them.
    assert_eq!(guild.channels.len(), 2);
    assert_eq!(guild.channels[&ChannelId::new(STUDY_CHANNEL_ID)].name, "study");
    assert_eq!(guild.roles.len(), 2);
    assert_eq!(guild.members[&UserId::new(ALICE)].user.name, "alice");

    let identify = &double.identifies()[0];
    assert_eq!(identify["token"], json!("Bot good-token"));
    let intents = GatewayIntents::from_bits_truncate(identify["intents"].as_u64().unwrap());
    assert!(intents.contains(GatewayIntents::MESSAGE_CONTENT | GatewayIntents::GUILD_MESSAGES));
    assert!(double.requests().iter().any(|r| r.method == "GET" && r.path == "/gateway"));

    double.set_member_roles(ALICE, &[STUDY_ROLE]);
    let id = double.message(ALICE, STUDY_CHANNEL_ID, "what is consistent hashing?");
    let message = bot
        .next("message", |s| match s {
            Seen::Message(m) => Some(m),
            _ => None,
        })
        .await;
    assert_eq!(message.id, MessageId::new(id));
    assert_eq!(message.content, "what is consistent hashing?");
    assert_eq!(message.author.name, "alice");
    assert!(!message.author.bot);
    assert_eq!(message.guild_id, Some(GuildId::new(GUILD_ID)));
    assert_eq!(message.channel_id, ChannelId::new(STUDY_CHANNEL_ID));
    let member = message.member.as_ref().expect("member on a guild message");
    assert_eq!(member.roles, vec![RoleId::new(STUDY_ROLE)]);
    assert!(member.joined_at.is_some());
    assert_eq!(double.messages_in(STUDY_CHANNEL_ID).len(), 1);

    // Threads the bot creates over REST are announced on the gateway, as Discord does.
    let http = rest(&double);
    let created = ChannelId::new(STUDY_CHANNEL_ID).create_thread(&http, CreateThread::new("round-1")).await;
    let thread = bot
        .next("thread_create", |s| match s {
            Seen::ThreadCreate(t) => Some(t),
            _ => None,
        })
        .await;
    assert_eq!(thread.id, created.expect("thread").id);

    double.delete_channel(OTHER_CHANNEL_ID);
    let deleted = bot
        .next("channel_delete", |s| match s {
            Seen::ChannelDelete(c) => Some(c),
            _ => None,
        })
        .await;
    assert_eq!(deleted.id, ChannelId::new(OTHER_CHANNEL_ID));

    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactions_arrive_parsed_and_responses_are_recorded() {
    let double = DiscordDouble::start().await;
    let mut bot = Bot::start(&double, "good-token").await;
    assert!(double.wait_for_ready(WAIT).await);
    let http = rest(&double);

    // Slash command with a subcommand, from a member allowed to manage the guild.
    let options = json!([subcommand("setup", json!([opt("topic", 3, json!("caching")), opt("rounds", 4, json!(3))]))]);
    let slash = double.slash_command(ADMIN, STUDY_CHANNEL_ID, "coach", options, MANAGE_GUILD);
    let Interaction::Command(cmd) = bot.interaction().await else { panic!("expected a command") };
    assert_eq!(cmd.id.get(), slash.id);
    assert_eq!(cmd.token, slash.token);
    assert_eq!(cmd.data.name, "coach");
    assert_eq!(cmd.guild_id, Some(GuildId::new(GUILD_ID)));
    assert_eq!(cmd.channel_id, ChannelId::new(STUDY_CHANNEL_ID));
    assert_eq!(cmd.user.id, UserId::new(ADMIN));
    let member = cmd.member.as_ref().expect("member");
    assert_eq!(member.permissions, Some(Permissions::MANAGE_GUILD));
    let CommandDataOptionValue::SubCommand(sub) = &cmd.data.options[0].value else { panic!("subcommand") };
    assert_eq!(cmd.data.options[0].name, "setup");
    assert_eq!(sub[0].value, CommandDataOptionValue::String("caching".into()));
    assert_eq!(sub[1].value, CommandDataOptionValue::Integer(3));

    let button = CreateButton::new("start:1").label("Start").style(ButtonStyle::Primary);
    let reply = CreateInteractionResponseMessage::new()
        .content("Setup saved")
        .components(vec![CreateActionRow::Buttons(vec![button])]);
    cmd.create_response(&http, CreateInteractionResponse::Message(reply)).await.expect("callback");
    let callbacks = double.callbacks(&slash);
    assert_eq!(callbacks[0]["type"], json!(4));
    assert_eq!(callbacks[0]["data"]["content"], json!("Setup saved"));
    let original = cmd.get_response(&http).await.expect("original response");
    assert_eq!(original.content, "Setup saved");
    assert_eq!(original.components.len(), 1);
    let followup = cmd
        .create_followup(&http, CreateInteractionResponseFollowup::new().content("Round 1").ephemeral(true))
        .await
        .expect("followup");
    assert_eq!(followup.content, "Round 1");
    assert_eq!(double.followups(&slash).len(), 1);
    let edited = cmd
        .edit_response(&http, serenity::all::EditInteractionResponse::new().content("Setup saved (edited)"))
        .await
        .expect("edit original");
    assert_eq!(edited.id, original.id);
    assert_eq!(double.original_response(&slash).unwrap()["content"], json!("Setup saved (edited)"));
    // Discord refuses a second callback for one interaction.
    let again = cmd.create_response(&http, CreateInteractionResponse::Acknowledge).await.unwrap_err();
    assert_eq!(status_and_code(&again), (400, 40060));

    // Button on the message the bot just posted.
    let click = double.button(BOB, STUDY_CHANNEL_ID, original.id.get(), "start:1");
    let Interaction::Component(comp) = bot.interaction().await else { panic!("expected a component") };
    assert_eq!(comp.data.custom_id, "start:1");
    assert_eq!(comp.message.id, original.id);
    assert_eq!(comp.user.name, "bob");
    let update = CreateInteractionResponseMessage::new().content("Round 1 started").components(vec![]);
    comp.create_response(&http, CreateInteractionResponse::UpdateMessage(update)).await.expect("update");
    assert_eq!(double.message_by_id(original.id.get()).unwrap()["content"], json!("Round 1 started"));
    assert_eq!(double.callbacks(&click)[0]["type"], json!(7));

    // Autocomplete: the last option is focused unless one is marked.
    let auto = double.autocomplete(ALICE, STUDY_CHANNEL_ID, "practice", json!([opt("topic", 3, json!("cach"))]));
    let Interaction::Autocomplete(ac) = bot.interaction().await else { panic!("expected autocomplete") };
    let focused = ac.data.autocomplete().expect("focused option");
    assert_eq!((focused.name, focused.value), ("topic", "cach"));
    let choices = CreateAutocompleteResponse::new().add_string_choice("caching", "caching");
    ac.create_response(&http, CreateInteractionResponse::Autocomplete(choices)).await.expect("autocomplete");
    assert_eq!(double.callbacks(&auto)[0]["data"]["choices"][0]["value"], json!("caching"));

    // Modal submit, answered with a deferred message that is then edited.
    let modal = double.modal_submit(ALICE, STUDY_CHANNEL_ID, "answer:1", &[("design", "Use a CDN")]);
    let Interaction::Modal(submit) = bot.interaction().await else { panic!("expected a modal") };
    assert_eq!(submit.data.custom_id, "answer:1");
    let serenity::all::ActionRowComponent::InputText(input) = &submit.data.components[0].components[0] else {
        panic!("text input")
    };
    assert_eq!(input.value.as_deref(), Some("Use a CDN"));
    // `ModalInteraction::defer` is a deferred *update* (type 6); a "thinking" reply is type 5.
    let thinking = CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new());
    submit.create_response(&http, thinking).await.expect("defer");
    assert_eq!(double.original_response(&modal).unwrap()["flags"], json!(128));
    submit
        .edit_response(&http, serenity::all::EditInteractionResponse::new().content("Graded: 7/10"))
        .await
        .expect("edit deferred");
    let graded = double.original_response(&modal).unwrap();
    assert_eq!((graded["content"].clone(), graded["flags"].clone()), (json!("Graded: 7/10"), json!(0)));

    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_messages_threads_and_commands_round_trip() {
    let double = DiscordDouble::start().await;
    let http = rest(&double);
    let study = ChannelId::new(STUDY_CHANNEL_ID);

    let me = http.get_current_user().await.expect("users/@me");
    assert_eq!(me.id, UserId::new(BOT_USER_ID));
    let info = http.get_current_application_info().await.expect("application info");
    assert_eq!(info.id.get(), APPLICATION_ID);
    let partial = GuildId::new(GUILD_ID).to_partial_guild(&http).await.expect("guild");
    assert_eq!(partial.name, "Design Coach Test Guild");
    let channels = GuildId::new(GUILD_ID).channels(&http).await.expect("guild channels");
    assert_eq!(channels.len(), 2);
    let member = GuildId::new(GUILD_ID).member(&http, UserId::new(ALICE)).await.expect("member");
    assert_eq!(member.user.name, "alice");
    assert_eq!(GuildId::new(GUILD_ID).roles(&http).await.expect("roles").len(), 2);
    assert_eq!(UserId::new(BOB).to_user(&http).await.expect("user").name, "bob");
    let Channel::Guild(channel) = study.to_channel(&http).await.expect("channel") else { panic!("guild channel") };
    assert_eq!(channel.name, "study");

    let said = study.say(&http, "Welcome to practice").await.expect("say");
    assert_eq!(said.content, "Welcome to practice");
    assert_eq!(said.author.id, UserId::new(BOT_USER_ID));
    let embed = CreateEmbed::new().title("Round 1").description("Design a URL shortener").field("Time", "30m", true);
    let rich = study
        .send_message(
            &http,
            CreateMessage::new()
                .content("Your prompt")
                .embed(embed)
                .components(vec![CreateActionRow::Buttons(vec![CreateButton::new("hint").label("Hint")])]),
        )
        .await
        .expect("send_message");
    assert_eq!(rich.embeds[0].title.as_deref(), Some("Round 1"));
    assert_eq!(rich.embeds[0].fields[0].value, "30m");
    assert_eq!(rich.components.len(), 1);
    let sent = double.wait_for_request(|r| r.method == "POST" && r.body["content"] == json!("Your prompt"), WAIT).await;
    assert_eq!(sent.expect("recorded").body["embeds"][0]["description"], json!("Design a URL shortener"));

    let edited = study.edit_message(&http, rich.id, EditMessage::new().content("Your prompt (edited)")).await;
    assert_eq!(edited.expect("edit").content, "Your prompt (edited)");
    study.delete_message(&http, said.id).await.expect("delete");
    assert_eq!(double.bot_messages_in(STUDY_CHANNEL_ID).len(), 1);

    // Multipart upload: payload_json becomes the body, the file is kept.
    let file = CreateAttachment::bytes(b"notes".to_vec(), "notes.txt");
    let with_file = study.send_files(&http, vec![file], CreateMessage::new().content("Your notes")).await;
    assert_eq!(with_file.expect("upload").attachments[0].filename, "notes.txt");
    let upload = double.requests_to("POST", "/channels/3000/messages").pop().unwrap();
    assert_eq!(upload.body["content"], json!("Your notes"));
    assert_eq!((upload.files[0].filename.as_str(), upload.files[0].data.as_slice()), ("notes.txt", &b"notes"[..]));

    // Private thread without a message, then a member, then archive.
    let thread = study
        .create_thread(
            &http,
            CreateThread::new("alice-practice")
                .kind(ChannelType::PrivateThread)
                .auto_archive_duration(AutoArchiveDuration::OneDay)
                .invitable(false),
        )
        .await
        .expect("create_thread");
    assert_eq!(thread.kind, ChannelType::PrivateThread);
    assert_eq!(thread.parent_id, Some(study));
    assert_eq!(thread.guild_id, GuildId::new(GUILD_ID));
    let body = &double.requests_to("POST", "/channels/3000/threads")[0].body;
    assert_eq!((body["type"].clone(), body["auto_archive_duration"].clone()), (json!(12), json!(1440)));
    thread.id.add_thread_member(&http, UserId::new(ALICE)).await.expect("add member");
    assert_eq!(double.thread_members(thread.id.get()), vec![BOT_USER_ID, ALICE]);
    thread.id.say(&http, "Round 1 in the thread").await.expect("post in thread");
    let archived = thread.id.edit_thread(&http, EditThread::new().archived(true).locked(true)).await;
    let metadata = archived.expect("archive").thread_metadata.expect("metadata");
    assert!(metadata.archived && metadata.locked);

    let from_message = study.create_thread_from_message(&http, rich.id, CreateThread::new("discussion")).await;
    let from_message = from_message.expect("thread from message");
    assert_eq!(from_message.id.get(), rich.id.get());
    assert_eq!(from_message.kind, ChannelType::PublicThread);
    assert_eq!(double.threads().len(), 2);

    // Command registration, global and per guild.
    let practice = CreateCommand::new("practice").description("Start a practice round").add_option(
        CreateCommandOption::new(CommandOptionType::String, "topic", "What to practise")
            .required(true)
            .set_autocomplete(true),
    );
    let global = Command::set_global_commands(&http, vec![practice]).await.expect("global commands");
    assert_eq!(global[0].name, "practice");
    assert_eq!(global[0].application_id.get(), APPLICATION_ID);
    assert!(global[0].options[0].autocomplete);
    let setup = CreateCommand::new("coach")
        .description("Configure the coach")
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .add_option(CreateCommandOption::new(CommandOptionType::SubCommand, "setup", "Set up"));
    let guild = GuildId::new(GUILD_ID).set_commands(&http, vec![setup]).await.expect("guild commands");
    assert_eq!(guild[0].guild_id, Some(GuildId::new(GUILD_ID)));
    assert_eq!(guild[0].default_member_permissions, Some(Permissions::MANAGE_GUILD));
    let recorded = double.requests_to("PUT", "/applications/1000/guilds/2000/commands");
    assert_eq!(recorded[0].body[0]["name"], json!("coach"));
    // A registered command's id is what a later interaction carries.
    double.slash_command(ALICE, STUDY_CHANNEL_ID, "coach", json!([]), NO_PERMISSIONS);
    assert_eq!(double.guild_commands()[0]["id"], json!(guild[0].id.to_string()));

    // Anything unknown is a recorded 404.
    let unknown = http.get_guild_webhooks(GuildId::new(GUILD_ID)).await.unwrap_err();
    assert_eq!(status_and_code(&unknown).0, 404);
    assert!(double.requests().iter().any(|r| r.path == "/guilds/2000/webhooks" && r.status == 404));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_surface_as_serenity_errors() {
    let double = DiscordDouble::start().await;
    let http = rest(&double);
    let study = ChannelId::new(STUDY_CHANNEL_ID);

    double.rate_limit_next("POST", "/channels/3000/messages", 0.25);
    let limited = study.say(&http, "first").await.unwrap_err();
    assert_eq!(status_and_code(&limited).0, 429);
    study.say(&http, "second").await.expect("served after the 429");
    let statuses: Vec<u16> = double.requests_to("POST", "/channels/3000/messages").iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200]);

    double.delete_channel(OTHER_CHANNEL_ID);
    let gone = ChannelId::new(OTHER_CHANNEL_ID).say(&http, "hello?").await.unwrap_err();
    assert_eq!(status_and_code(&gone), (404, 10003));

    double.deny_channel(STUDY_CHANNEL_ID);
    let denied = study.say(&http, "let me in").await.unwrap_err();
    assert_eq!(status_and_code(&denied), (403, 50013));
    double.allow_channel(STUDY_CHANNEL_ID);
    study.say(&http, "back").await.expect("allowed again");

    let rejected = HttpBuilder::new(REJECTED_TOKEN).proxy(double.url()).ratelimiter_disabled(true).build();
    let err = rejected.get_current_user().await.unwrap_err();
    assert_eq!(status_and_code(&err).0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reconnect_resume_and_restart() {
    let double = DiscordDouble::start().await;
    let mut first = Bot::start(&double, "good-token").await;
    assert!(double.wait_for_ready_count(1, WAIT).await);

    // A dropped gateway connection is resumed, and dispatches flow again afterwards.
    double.disconnect_all();
    assert!(double.wait_for_resume_count(1, WAIT).await);
    first.next("resumed", |s| matches!(s, Seen::Resumed).then_some(())).await;
    double.message(BOB, STUDY_CHANNEL_ID, "after resume");
    let message = first
        .next("message after resume", |s| match s {
            Seen::Message(m) => Some(m),
            _ => None,
        })
        .await;
    assert_eq!(message.content, "after resume");
    assert_eq!(double.ready_count(), 1);

    // A restart: the first client goes away and a new one identifies.
    first.stop().await;
    assert!(double.wait_for_no_sessions(WAIT).await);
    let mut second = Bot::start(&double, "good-token").await;
    assert!(double.wait_for_ready_count(2, WAIT).await);
    assert_eq!(double.live_sessions(), 1);
    assert!(double.connections() >= 3);
    double.message(ALICE, STUDY_CHANNEL_ID, "hello again");
    let message = second
        .next("message on the second client", |s| match s {
            Seen::Message(m) => Some(m),
            _ => None,
        })
        .await;
    assert_eq!(message.content, "hello again");
    second.stop().await;

    // A rejected token ends the client with an authentication error instead of retrying.
    let rejected = Bot::start(&double, REJECTED_TOKEN).await;
    let outcome = tokio::time::timeout(WAIT, rejected.run).await.expect("client gives up").expect("join");
    assert!(outcome.is_err(), "a rejected token must not connect");
}

#[test]
fn dispatch_refuses_payloads_serenity_would_drop() {
    let broken = std::panic::catch_unwind(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let double = DiscordDouble::start().await;
            double.dispatch("MESSAGE_CREATE", json!({"id": "1", "content": "no author"}));
        });
    });
    let message = broken.unwrap_err();
    let text = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("serenity cannot parse this MESSAGE_CREATE"), "{text}");
}
