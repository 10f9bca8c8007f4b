//! A local stand-in for Discord (REST API + gateway) on loopback, for driving the real serenity
//! client in tests without a network or a token.
//!
//! Point serenity at it with
//! `HttpBuilder::new(token).proxy(double.url()).ratelimiter_disabled(true)`: the proxy option
//! rewrites `https://discord.com` to the double's address, so REST paths arrive as `/api/v10/...`,
//! and `GET /api/v10/gateway` hands out the double's own websocket url.
//!
//! Every JSON shape here was checked against serenity 0.12.5's models, which are stricter than
//! Discord's docs suggest (see `tests/discord_double_selftest.rs`). Serenity drops gateway
//! events it cannot parse with only a log line, so [`DiscordDouble::dispatch`] parses each event
//! with serenity first and panics on a shape serenity would silently ignore.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

pub const APPLICATION_ID: u64 = 1000;
/// Discord gives a bot user the same id as its application.
pub const BOT_USER_ID: u64 = APPLICATION_ID;
pub const GUILD_ID: u64 = 2000;
pub const STUDY_CHANNEL_ID: u64 = 3000;
pub const OTHER_CHANNEL_ID: u64 = 3001;
pub const ALICE: u64 = 4001;
pub const BOB: u64 = 4002;
pub const ADMIN: u64 = 4003;
/// The @everyone role shares the guild's id.
pub const EVERYONE_ROLE: u64 = GUILD_ID;
pub const STUDY_ROLE: u64 = 5001;

/// Member permission strings for interactions (`member.permissions`).
pub const NO_PERMISSIONS: &str = "0";
pub const MANAGE_GUILD: &str = "32";
pub const ADMINISTRATOR: &str = "8";

/// The token whose REST calls get 401 and whose IDENTIFY is closed with 4004.
pub const REJECTED_TOKEN: &str = "rejected-token";

const API_PREFIX: &str = "/api/v10";
const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// Every permission bit Discord defines today, so poise's bot-permission checks pass.
const ALL_PERMISSIONS: &str = "2251799813685247";
const EVERYONE_PERMISSIONS: &str = "1071698660929";
const JOINED_AT: &str = "2024-01-01T00:00:00.000000+00:00";
/// Milliseconds from the Unix epoch to Discord's snowflake epoch (2015-01-01).
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// One REST request the double received, with what it answered.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Without the `/api/v10` prefix and without the query, e.g. `/channels/3000/messages`.
    pub path: String,
    /// The raw query string without `?`, empty when there was none.
    pub query: String,
    /// The JSON body; for multipart bodies the `payload_json` part; `Null` when empty.
    pub body: Value,
    /// Files of a multipart body (every part that is not `payload_json`).
    pub files: Vec<RecordedFile>,
    /// The Authorization header as sent (`Bot <token>`).
    pub authorization: Option<String>,
    /// The HTTP status the double answered with.
    pub status: u16,
    pub at: Instant,
}

#[derive(Clone, Debug)]
pub struct RecordedFile {
    /// The multipart field name, e.g. `files[0]`.
    pub field: String,
    pub filename: String,
    pub data: Vec<u8>,
}

/// Identifies an interaction the double dispatched, so tests can find the bot's answers to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionRef {
    pub id: u64,
    pub token: String,
}

#[derive(Clone)]
pub struct DiscordDouble {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<DoubleState>,
    /// Woken on every recorded request and every session change, so waiters never sleep blindly.
    changed: Notify,
    port: u16,
}

#[derive(Default)]
struct DoubleState {
    requests: Vec<Recorded>,
    last_snowflake: u64,
    /// Live websocket connections; a session is identified once `session_id` is set.
    sessions: Vec<Session>,
    /// Last sequence number per session id, kept after the socket closes so RESUME can continue.
    resumable: HashMap<String, u64>,
    connections: usize,
    ready_count: usize,
    resume_count: usize,
    identifies: Vec<Value>,
    allow_resume: bool,
    messages: Vec<Value>,
    threads: Vec<Value>,
    /// Text channels other than threads, by id.
    channels: BTreeMap<u64, Value>,
    thread_members: BTreeMap<u64, Vec<u64>>,
    member_roles: BTreeMap<u64, Vec<u64>>,
    interactions: HashMap<String, InteractionInfo>,
    global_commands: Vec<Value>,
    guild_commands: Vec<Value>,
    rate_limits: Vec<RateLimitRule>,
    /// (method, path prefix) of requests whose reply is to be lost once.
    lost_replies: Vec<(String, String)>,
    deleted_channels: Vec<u64>,
    denied_channels: Vec<u64>,
}

struct Session {
    conn_id: usize,
    session_id: Option<String>,
    seq: u64,
    tx: mpsc::UnboundedSender<WsOut>,
}

enum WsOut {
    Text(String),
    Close(u16, &'static str),
}

struct InteractionInfo {
    id: u64,
    channel_id: u64,
    /// The message a component interaction was clicked on (target of UPDATE_MESSAGE).
    message_id: Option<u64>,
    acknowledged: bool,
    original_id: Option<u64>,
    followup_ids: Vec<u64>,
}

struct RateLimitRule {
    method: String,
    path_prefix: String,
    retry_after: f64,
}

/// A status code and body the REST handler answers with.
struct Reply {
    status: StatusCode,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(body: Value) -> Self {
        Reply { status: StatusCode::OK, body: Some(body), headers: Vec::new() }
    }
    fn no_content() -> Self {
        Reply { status: StatusCode::NO_CONTENT, body: None, headers: Vec::new() }
    }
    fn error(status: StatusCode, message: &str, code: u64) -> Self {
        Reply { status, body: Some(json!({"message": message, "code": code})), headers: Vec::new() }
    }
    fn not_found() -> Self {
        Self::error(StatusCode::NOT_FOUND, "404: Not Found", 0)
    }
    fn unknown_channel() -> Self {
        Self::error(StatusCode::NOT_FOUND, "Unknown Channel", 10003)
    }
    fn unknown_message() -> Self {
        Self::error(StatusCode::NOT_FOUND, "Unknown Message", 10008)
    }
}

impl DiscordDouble {
    /// Binds 127.0.0.1 on a free port and serves on the current tokio runtime.
    pub async fn start() -> DiscordDouble {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let mut state = DoubleState { allow_resume: true, ..Default::default() };
        for id in [STUDY_CHANNEL_ID, OTHER_CHANNEL_ID] {
            state.channels.insert(id, base_channel_json(id));
        }
        let double =
            DiscordDouble { inner: Arc::new(Inner { state: Mutex::new(state), changed: Notify::new(), port }) };
        let app = Router::new().route("/ws", get(ws_upgrade)).fallback(rest_entry).with_state(double.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        double
    }

    /// `http://127.0.0.1:PORT`, for `HttpBuilder::proxy`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.inner.port)
    }

    /// The gateway url handed out by `GET /gateway` (serenity appends `?v=10`).
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.inner.port)
    }

    fn state(&self) -> MutexGuard<'_, DoubleState> {
        // A panicking test thread must not hide the state from the other assertions.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self) {
        self.inner.changed.notify_waiters();
    }

    /// Polls `check` after every state change until it yields a value or `timeout` passes.
    async fn wait_until<T>(&self, timeout: Duration, mut check: impl FnMut(&DoubleState) -> Option<T>) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before checking, so a change between the check and the wait is not lost.
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = check(&self.state()) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return check(&self.state());
            }
        }
    }

    // ----- gateway -----

    /// True once some live connection has identified (or resumed) and been sent READY.
    pub async fn wait_for_ready(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.sessions.iter().any(|x| x.session_id.is_some()).then_some(())).await.is_some()
    }

    /// True once READY has been sent `n` times in total: after a restart, wait for 2 so the
    /// old client's still-closing session does not count.
    pub async fn wait_for_ready_count(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| (s.ready_count >= n).then_some(())).await.is_some()
    }

    /// True once `n` RESUMEs have been answered with RESUMED.
    pub async fn wait_for_resume_count(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| (s.resume_count >= n).then_some(())).await.is_some()
    }

    /// True once no identified session is connected (e.g. after `shutdown_all`).
    pub async fn wait_for_no_sessions(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| (!s.sessions.iter().any(|x| x.session_id.is_some())).then_some(())).await.is_some()
    }

    /// Websocket connections accepted so far (identified or not).
    pub fn connections(&self) -> usize {
        self.state().connections
    }

    /// READY payloads sent so far.
    pub fn ready_count(&self) -> usize {
        self.state().ready_count
    }

    pub fn resume_count(&self) -> usize {
        self.state().resume_count
    }

    /// Identified sessions currently connected.
    pub fn live_sessions(&self) -> usize {
        self.state().sessions.iter().filter(|s| s.session_id.is_some()).count()
    }

    /// The `d` of every IDENTIFY received (token, intents, shard, properties, ...).
    pub fn identifies(&self) -> Vec<Value> {
        self.state().identifies.clone()
    }

    /// When false, RESUME is answered with INVALID_SESSION(false) so the client re-identifies
    /// (serenity waits 5 s between identifies of one client, so tests rarely want this).
    pub fn set_allow_resume(&self, allow: bool) {
        self.state().allow_resume = allow;
    }

    /// Closes every gateway socket with 4000 (resumable); serenity then reconnects and RESUMEs.
    /// Events dispatched before the resume completes are lost, so wait with
    /// `wait_for_resume_count` or `wait_for_ready` first.
    pub fn disconnect_all(&self) {
        let sessions = std::mem::take(&mut self.state().sessions);
        for session in sessions {
            let _ = session.tx.send(WsOut::Close(4000, "disconnected by the test double"));
        }
        self.notify();
    }

    /// Sends `event` (op 0) to every identified session, each with its next sequence number.
    /// Panics if serenity would not parse `data` as that event (it would drop it silently).
    /// Returns how many sessions it went to.
    pub fn dispatch(&self, event: &str, data: Value) -> usize {
        check_event_parses(event, &data);
        self.dispatch_raw(event, data)
    }

    /// `dispatch` without the serenity parse check, for deliberately unknown or broken events.
    pub fn dispatch_raw(&self, event: &str, data: Value) -> usize {
        let mut state = self.state();
        let DoubleState { sessions, resumable, .. } = &mut *state;
        let mut sent = 0;
        for session in sessions.iter_mut().filter(|s| s.session_id.is_some()) {
            push_dispatch(session, resumable, event, &data);
            sent += 1;
        }
        sent
    }

    // ----- events from users -----

    /// Dispatches an APPLICATION_COMMAND interaction. `options` is the `data.options` array as
    /// Discord sends it, e.g. `[{"type":1,"name":"setup","options":[{"type":3,"name":"topic",
    /// "value":"caching"}]}]` (see [`opt`] and [`subcommand`]). `permissions` is the member's
    /// permission bitfield string, e.g. [`MANAGE_GUILD`].
    pub fn slash_command(
        &self,
        user: u64,
        channel: u64,
        name: &str,
        options: Value,
        permissions: &str,
    ) -> InteractionRef {
        self.command_interaction(2, user, channel, name, options, permissions)
    }

    /// Dispatches an APPLICATION_COMMAND_AUTOCOMPLETE interaction. The option carrying
    /// `"focused": true` is the one being typed; if none is marked, the last leaf option is.
    pub fn autocomplete(&self, user: u64, channel: u64, name: &str, options: Value) -> InteractionRef {
        let mut options = options;
        if !has_focused(&options) {
            mark_last_leaf_focused(&mut options);
        }
        self.command_interaction(4, user, channel, name, options, NO_PERMISSIONS)
    }

    fn command_interaction(
        &self,
        kind: u8,
        user: u64,
        channel: u64,
        name: &str,
        options: Value,
        permissions: &str,
    ) -> InteractionRef {
        let (interaction, iref) = {
            let mut state = self.state();
            let command_id = state.command_id(name);
            let resolved = state.resolve_options(&options);
            let (id, token) = state.new_interaction(channel, None);
            let mut data = json!({"id": command_id.to_string(), "name": name, "type": 1, "options": options});
            if resolved.as_object().is_some_and(|r| !r.is_empty()) {
                data["resolved"] = resolved;
            }
            (state.interaction_json(kind, id, &token, user, channel, permissions, data), InteractionRef { id, token })
        };
        self.dispatch("INTERACTION_CREATE", interaction);
        iref
    }

    /// Dispatches a MESSAGE_COMPONENT (button) interaction on `message_id`, which should be a
    /// message the bot posted through the double (a placeholder bot message is used otherwise).
    pub fn button(&self, user: u64, channel: u64, message_id: u64, custom_id: &str) -> InteractionRef {
        self.component(user, channel, message_id, json!({"custom_id": custom_id, "component_type": 2}))
    }

    /// Dispatches a string select menu interaction with the chosen `values`.
    pub fn select_menu(
        &self,
        user: u64,
        channel: u64,
        message_id: u64,
        custom_id: &str,
        values: &[&str],
    ) -> InteractionRef {
        self.component(
            user,
            channel,
            message_id,
            json!({"custom_id": custom_id, "component_type": 3, "values": values}),
        )
    }

    fn component(&self, user: u64, channel: u64, message_id: u64, data: Value) -> InteractionRef {
        let (interaction, iref) = {
            let mut state = self.state();
            let message = state
                .find_message(message_id)
                .cloned()
                .unwrap_or_else(|| message_json(message_id, channel, &bot_user_json(), "", &json!({})));
            let (id, token) = state.new_interaction(channel, Some(message_id));
            let mut interaction = state.interaction_json(3, id, &token, user, channel, NO_PERMISSIONS, data);
            interaction["message"] = message;
            (interaction, InteractionRef { id, token })
        };
        self.dispatch("INTERACTION_CREATE", interaction);
        iref
    }

    /// Dispatches a MODAL_SUBMIT interaction whose text inputs hold `fields` (custom_id, value).
    pub fn modal_submit(&self, user: u64, channel: u64, custom_id: &str, fields: &[(&str, &str)]) -> InteractionRef {
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]}))
            .collect();
        let (interaction, iref) = {
            let mut state = self.state();
            let (id, token) = state.new_interaction(channel, None);
            let data = json!({"custom_id": custom_id, "components": rows});
            (state.interaction_json(5, id, &token, user, channel, NO_PERMISSIONS, data), InteractionRef { id, token })
        };
        self.dispatch("INTERACTION_CREATE", interaction);
        iref
    }

    /// Dispatches MESSAGE_CREATE for a guild message by `user`; returns its id. The message is
    /// also stored, so `messages_in` shows it after the bot's messages posted before it.
    pub fn message(&self, user: u64, channel: u64, content: &str) -> u64 {
        let (event, id) = {
            let mut state = self.state();
            let id = state.next_snowflake();
            let stored = message_json(id, channel, &user_json(user), content, &json!({}));
            state.messages.push(stored.clone());
            let mut event = stored;
            event["guild_id"] = json!(GUILD_ID.to_string());
            event["member"] = state.partial_member_json(user);
            (event, id)
        };
        self.dispatch("MESSAGE_CREATE", event);
        id
    }

    // ----- recorded requests -----

    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// The first recorded request (since the last `clear_requests`) matching `predicate`,
    /// waiting up to `timeout` for it to arrive.
    pub async fn wait_for_request(&self, predicate: impl Fn(&Recorded) -> bool, timeout: Duration) -> Option<Recorded> {
        self.wait_until(timeout, |s| s.requests.iter().find(|r| predicate(r)).cloned()).await
    }

    /// Requests with this method whose path starts with `path_prefix`.
    pub fn requests_to(&self, method: &str, path_prefix: &str) -> Vec<Recorded> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    // ----- stored state -----

    /// Messages in `channel`, oldest first: the bot's (REST and interaction responses) and the
    /// users' (from `message`). Deleted messages are gone.
    pub fn messages_in(&self, channel: u64) -> Vec<Value> {
        self.state().messages.iter().filter(|m| id_of(&m["channel_id"]) == channel).cloned().collect()
    }

    /// Only the messages in `channel` authored by the bot.
    pub fn bot_messages_in(&self, channel: u64) -> Vec<Value> {
        self.messages_in(channel).into_iter().filter(|m| id_of(&m["author"]["id"]) == BOT_USER_ID).collect()
    }

    pub fn message_by_id(&self, id: u64) -> Option<Value> {
        self.state().find_message(id).cloned()
    }

    /// Threads the bot created, in creation order, with their current state.
    pub fn threads(&self) -> Vec<Value> {
        self.state().threads.clone()
    }

    /// Users added to `thread` through `PUT /channels/{thread}/thread-members/{user}`.
    pub fn thread_members(&self, thread: u64) -> Vec<u64> {
        self.state().thread_members.get(&thread).cloned().unwrap_or_default()
    }

    /// The bodies of every callback the bot sent for this interaction, in order.
    pub fn callbacks(&self, interaction: &InteractionRef) -> Vec<Value> {
        let path = format!("/interactions/{}/{}/callback", interaction.id, interaction.token);
        self.state().requests.iter().filter(|r| r.path == path && r.status < 300).map(|r| r.body.clone()).collect()
    }

    /// The interaction's original response message (callback type 4 or 5, then PATCHes).
    pub fn original_response(&self, interaction: &InteractionRef) -> Option<Value> {
        let state = self.state();
        let id = state.interactions.get(&interaction.token)?.original_id?;
        state.find_message(id).cloned()
    }

    pub fn followups(&self, interaction: &InteractionRef) -> Vec<Value> {
        let state = self.state();
        let Some(info) = state.interactions.get(&interaction.token) else { return Vec::new() };
        info.followup_ids.iter().filter_map(|id| state.find_message(*id).cloned()).collect()
    }

    /// Commands registered with `PUT /applications/{app}/commands`.
    pub fn global_commands(&self) -> Vec<Value> {
        self.state().global_commands.clone()
    }

    /// Commands registered with `PUT /applications/{app}/guilds/{guild}/commands`.
    pub fn guild_commands(&self) -> Vec<Value> {
        self.state().guild_commands.clone()
    }

    /// The member's role ids, as changed by `PUT/DELETE /guilds/{g}/members/{u}/roles/{r}`.
    pub fn member_roles(&self, user: u64) -> Vec<u64> {
        self.state().member_roles.get(&user).cloned().unwrap_or_default()
    }

    pub fn set_member_roles(&self, user: u64, roles: &[u64]) {
        self.state().member_roles.insert(user, roles.to_vec());
    }

    /// The current JSON of a text channel or thread the double knows (None if unknown/deleted).
    pub fn channel(&self, id: u64) -> Option<Value> {
        self.state().channel_json(id)
    }

    /// The GUILD_CREATE payload as it would be sent now.
    pub fn guild(&self) -> Value {
        self.state().guild_json()
    }

    pub fn member(&self, user: u64, permissions: Option<&str>) -> Value {
        self.state().member_json(user, permissions)
    }

    // ----- fault injection -----

    /// The next request with `method` whose path (without `/api/v10`) starts with
    /// `path_prefix` gets 429 with `retry-after`; later ones are served normally. Rules queue.
    pub fn rate_limit_next(&self, method: &str, path_prefix: &str, retry_after_secs: f64) {
        self.state().rate_limits.push(RateLimitRule {
            method: method.to_ascii_uppercase(),
            path_prefix: path_prefix.to_string(),
            retry_after: retry_after_secs,
        });
    }

    /// The next request with `method` whose path starts with `path_prefix` is carried out, but
    /// its reply is lost: the client gets 502 Bad Gateway, as when a proxy drops the connection
    /// after Discord accepted the request.
    pub fn lose_reply_next(&self, method: &str, path_prefix: &str) {
        self.state().lost_replies.push((method.to_ascii_uppercase(), path_prefix.to_string()));
    }

    /// From now on every request on `/channels/{id}...` gets 404 Unknown Channel (10003), and
    /// connected clients get CHANNEL_DELETE (THREAD_DELETE for a thread).
    pub fn delete_channel(&self, id: u64) {
        let (event, data) = {
            let mut state = self.state();
            let channel = state.channel_json(id);
            state.deleted_channels.push(id);
            match channel {
                Some(c) if is_thread(&c) => (
                    "THREAD_DELETE",
                    json!({"id": c["id"], "guild_id": c["guild_id"], "parent_id": c["parent_id"], "type": c["type"]}),
                ),
                Some(c) => ("CHANNEL_DELETE", c),
                None => return,
            }
        };
        self.dispatch(event, data);
    }

    /// From now on every request on `/channels/{id}...` gets 403 Missing Permissions (50013).
    pub fn deny_channel(&self, id: u64) {
        self.state().denied_channels.push(id);
    }

    pub fn allow_channel(&self, id: u64) {
        self.state().denied_channels.retain(|c| *c != id);
    }
}

// ----- option helpers for slash_command -----

/// A leaf option: `kind` 3 string, 4 integer, 5 boolean, 6 user, 7 channel, 8 role, 10 number.
pub fn opt(name: &str, kind: u8, value: Value) -> Value {
    json!({"type": kind, "name": name, "value": value})
}

/// A subcommand (type 1) with its options.
pub fn subcommand(name: &str, options: Value) -> Value {
    json!({"type": 1, "name": name, "options": options})
}

fn has_focused(options: &Value) -> bool {
    options.as_array().is_some_and(|opts| {
        opts.iter().any(|o| o["focused"] == json!(true) || o.get("options").is_some_and(has_focused))
    })
}

fn mark_last_leaf_focused(options: &mut Value) {
    let Some(last) = options.as_array_mut().and_then(|opts| opts.last_mut()) else { return };
    match last.get_mut("options") {
        Some(inner) => mark_last_leaf_focused(inner),
        None => last["focused"] = json!(true),
    }
}

// ----- JSON shapes -----

fn id_of(value: &Value) -> u64 {
    match value {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn now_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

fn user_name(id: u64) -> String {
    match id {
        BOT_USER_ID => "design-coach".into(),
        ALICE => "alice".into(),
        BOB => "bob".into(),
        ADMIN => "admin".into(),
        other => format!("user{other}"),
    }
}

pub fn user_json(id: u64) -> Value {
    let name = user_name(id);
    json!({
        "id": id.to_string(),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": null,
        "bot": id == BOT_USER_ID,
        "system": false,
        "public_flags": 0,
        "flags": 0,
        "banner": null,
        "accent_color": null,
    })
}

pub fn bot_user_json() -> Value {
    let mut user = user_json(BOT_USER_ID);
    user["verified"] = json!(true);
    user["mfa_enabled"] = json!(false);
    user["email"] = Value::Null;
    user
}

fn role_json(id: u64, name: &str, permissions: &str, position: u16) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "color": 0,
        // serenity 0.12.5 requires `colors` although Discord only added it recently.
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": position,
        "permissions": permissions,
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

fn roles_json() -> Vec<Value> {
    vec![role_json(EVERYONE_ROLE, "@everyone", EVERYONE_PERMISSIONS, 0), role_json(STUDY_ROLE, "study", "0", 1)]
}

fn base_channel_json(id: u64) -> Value {
    let (name, position, topic) = match id {
        STUDY_CHANNEL_ID => ("study", 0, "System design practice"),
        OTHER_CHANNEL_ID => ("general", 1, "Anything else"),
        other => {
            return json!({"id": other.to_string(), "type": 0, "name": format!("channel-{other}"), "guild_id": GUILD_ID.to_string(), "position": 9, "permission_overwrites": [], "nsfw": false, "parent_id": null});
        }
    };
    json!({
        "id": id.to_string(),
        "type": 0,
        "guild_id": GUILD_ID.to_string(),
        "name": name,
        "position": position,
        "topic": topic,
        "permission_overwrites": [],
        "nsfw": false,
        "rate_limit_per_user": 0,
        "parent_id": null,
        "last_message_id": null,
        "default_auto_archive_duration": 1440,
        "flags": 0,
    })
}

fn is_thread(channel: &Value) -> bool {
    matches!(channel["type"].as_u64(), Some(10..=12))
}

/// A message as the REST API returns it (no guild_id/member: only gateway events carry those).
fn message_json(id: u64, channel: u64, author: &Value, content: &str, extra: &Value) -> Value {
    let mut message = json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "author": author,
        "content": content,
        "timestamp": now_timestamp(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "mention_channels": [],
        "attachments": [],
        "embeds": [],
        "reactions": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "components": [],
    });
    merge(&mut message, extra);
    message
}

/// Copies the top-level fields of `fields` into `target`, replacing existing ones.
fn merge(target: &mut Value, fields: &Value) {
    if let (Some(target), Some(fields)) = (target.as_object_mut(), fields.as_object()) {
        for (key, value) in fields {
            target.insert(key.clone(), value.clone());
        }
    }
}

/// The parts of a create/edit body that become message fields.
const MESSAGE_BODY_FIELDS: [&str; 6] = ["content", "embeds", "components", "flags", "tts", "attachments"];

fn message_fields_from_body(body: &Value) -> Value {
    let mut fields = serde_json::Map::new();
    for key in MESSAGE_BODY_FIELDS {
        if let Some(value) = body.get(key).filter(|v| !v.is_null()) {
            fields.insert(key.to_string(), value.clone());
        }
    }
    if body.get("message_reference").is_some_and(|r| !r.is_null()) {
        fields.insert("message_reference".into(), body["message_reference"].clone());
        // 19 = REPLY
        fields.insert("type".into(), json!(19));
    }
    Value::Object(fields)
}

/// Attachment objects for uploaded files, in the shape serenity's `Attachment` requires.
fn attachments_json(state: &mut DoubleState, body: &Value, files: &[RecordedFile], port: u16) -> Option<Value> {
    if files.is_empty() {
        return None;
    }
    let described = body["attachments"].as_array().cloned().unwrap_or_default();
    let attachments = files
        .iter()
        .map(|file| {
            let id = state.next_snowflake();
            let description = described
                .iter()
                .find(|a| a["filename"].as_str() == Some(file.filename.as_str()))
                .and_then(|a| a.get("description").cloned())
                .unwrap_or(Value::Null);
            let url = format!("http://127.0.0.1:{port}/attachments/{id}/{}", file.filename);
            json!({"id": id.to_string(), "filename": file.filename, "description": description,
                   "size": file.data.len(), "url": url, "proxy_url": url, "content_type": null})
        })
        .collect();
    Some(Value::Array(attachments))
}

impl DoubleState {
    fn next_snowflake(&mut self) -> u64 {
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(DISCORD_EPOCH_MS);
        // Real-looking ids keep `created_at()` plausible; max() keeps them unique and increasing.
        let candidate = unix_ms.saturating_sub(DISCORD_EPOCH_MS) << 22;
        self.last_snowflake = candidate.max(self.last_snowflake + 1);
        self.last_snowflake
    }

    fn find_message(&self, id: u64) -> Option<&Value> {
        self.messages.iter().find(|m| id_of(&m["id"]) == id)
    }

    fn find_message_mut(&mut self, id: u64) -> Option<&mut Value> {
        self.messages.iter_mut().find(|m| id_of(&m["id"]) == id)
    }

    fn roles_of(&self, user: u64) -> Vec<String> {
        self.member_roles.get(&user).map(|r| r.iter().map(u64::to_string).collect()).unwrap_or_default()
    }

    fn member_json(&self, user: u64, permissions: Option<&str>) -> Value {
        let mut member = self.partial_member_json(user);
        member["user"] = user_json(user);
        if let Some(permissions) = permissions {
            member["permissions"] = json!(permissions);
        }
        member
    }

    /// A member without `user`, as in MESSAGE_CREATE and `resolved.members`.
    fn partial_member_json(&self, user: u64) -> Value {
        json!({
            "nick": null,
            "avatar": null,
            "banner": null,
            "roles": self.roles_of(user),
            "joined_at": JOINED_AT,
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "communication_disabled_until": null,
        })
    }

    fn is_gone(&self, id: u64) -> bool {
        self.deleted_channels.contains(&id)
    }

    fn channel_json(&self, id: u64) -> Option<Value> {
        if self.is_gone(id) {
            return None;
        }
        self.channels.get(&id).cloned().or_else(|| self.threads.iter().find(|t| id_of(&t["id"]) == id).cloned())
    }

    fn guild_json(&self) -> Value {
        let members: Vec<Value> = [BOT_USER_ID, ALICE, BOB, ADMIN].iter().map(|u| self.member_json(*u, None)).collect();
        let channels: Vec<Value> =
            self.channels.iter().filter(|(id, _)| !self.is_gone(**id)).map(|(_, c)| c.clone()).collect();
        let threads: Vec<Value> = self
            .threads
            .iter()
            .filter(|t| !self.is_gone(id_of(&t["id"])) && t["thread_metadata"]["archived"] != json!(true))
            .cloned()
            .collect();
        let mut guild = json!({
            "id": GUILD_ID.to_string(),
            "name": "Design Coach Test Guild",
            "icon": null,
            "icon_hash": null,
            "splash": null,
            "discovery_splash": null,
            "owner_id": ADMIN.to_string(),
            "afk_channel_id": null,
            "afk_timeout": 300,
            "widget_enabled": false,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": roles_json(),
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "application_id": null,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "rules_channel_id": null,
            "max_members": 500000,
            "vanity_url_code": null,
            "description": null,
            "banner": null,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": null,
            "nsfw_level": 0,
            "stickers": [],
            "premium_progress_bar_enabled": false,
            "safety_alerts_channel_id": null,
        });
        // Split in two: one json! this large exceeds the macro recursion limit.
        // GUILD_CREATE-only fields, all required by serenity's `Guild`.
        let create_fields = json!({
            "joined_at": JOINED_AT,
            "large": false,
            "unavailable": false,
            "member_count": members.len(),
            "voice_states": [],
            "members": members,
            "channels": channels,
            "threads": threads,
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        });
        merge(&mut guild, &create_fields);
        guild
    }

    fn partial_channel_json(&self, id: u64) -> Value {
        let channel = self.channel_json(id).unwrap_or_else(|| base_channel_json(id));
        let mut partial = json!({"id": channel["id"], "name": channel["name"], "type": channel["type"],
                                 "permissions": ALL_PERMISSIONS});
        if is_thread(&channel) {
            partial["parent_id"] = channel["parent_id"].clone();
            partial["thread_metadata"] = channel["thread_metadata"].clone();
        }
        partial
    }

    /// Registered command id for `name`, else a stable made-up one (from the name's bytes).
    fn command_id(&self, name: &str) -> u64 {
        self.guild_commands
            .iter()
            .chain(self.global_commands.iter())
            .find(|c| c["name"].as_str() == Some(name))
            .map(|c| id_of(&c["id"]))
            .unwrap_or_else(|| 900_000 + name.bytes().map(u64::from).sum::<u64>())
    }

    /// `data.resolved` for user, channel and role options, which poise reads to build arguments.
    fn resolve_options(&self, options: &Value) -> Value {
        let mut resolved = serde_json::Map::new();
        let mut add = |group: &str, id: String, value: Value| {
            let entry = resolved.entry(group.to_string()).or_insert_with(|| json!({}));
            entry[id.as_str()] = value;
        };
        let mut stack: Vec<&Value> = options.as_array().map(|a| a.iter().collect()).unwrap_or_default();
        while let Some(option) = stack.pop() {
            if let Some(inner) = option["options"].as_array() {
                stack.extend(inner.iter());
            }
            if option["focused"] == json!(true) {
                continue;
            }
            let id = id_of(&option["value"]);
            match option["type"].as_u64() {
                Some(6) => {
                    add("users", id.to_string(), user_json(id));
                    add("members", id.to_string(), self.partial_member_json(id));
                }
                Some(7) => add("channels", id.to_string(), self.partial_channel_json(id)),
                Some(8) => {
                    let role = roles_json().into_iter().find(|r| id_of(&r["id"]) == id);
                    add("roles", id.to_string(), role.unwrap_or_else(|| role_json(id, "role", "0", 2)));
                }
                _ => {}
            }
        }
        Value::Object(resolved)
    }

    fn new_interaction(&mut self, channel: u64, message_id: Option<u64>) -> (u64, String) {
        let id = self.next_snowflake();
        let token = format!("interaction-token-{id}");
        self.interactions.insert(
            token.clone(),
            InteractionInfo {
                id,
                channel_id: channel,
                message_id,
                acknowledged: false,
                original_id: None,
                followup_ids: Vec::new(),
            },
        );
        (id, token)
    }

    #[allow(clippy::too_many_arguments)]
    fn interaction_json(
        &self,
        kind: u8,
        id: u64,
        token: &str,
        user: u64,
        channel: u64,
        permissions: &str,
        data: Value,
    ) -> Value {
        json!({
            "id": id.to_string(),
            "application_id": APPLICATION_ID.to_string(),
            "type": kind,
            "data": data,
            "guild_id": GUILD_ID.to_string(),
            "channel": self.partial_channel_json(channel),
            "channel_id": channel.to_string(),
            "member": self.member_json(user, Some(permissions)),
            "token": token,
            "version": 1,
            "app_permissions": ALL_PERMISSIONS,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD_ID.to_string()},
            "context": 0,
            // Required by serenity 0.12.5's interaction structs (newer than most docs).
            "attachment_size_limit": 26_214_400,
        })
    }

    fn new_bot_message(&mut self, channel: u64, fields: &Value, webhook: bool) -> Value {
        let id = self.next_snowflake();
        let mut extra = fields.clone();
        if webhook {
            // Interaction responses are posted through the application's webhook.
            extra["webhook_id"] = json!(APPLICATION_ID.to_string());
            extra["application_id"] = json!(APPLICATION_ID.to_string());
        }
        let message = message_json(id, channel, &bot_user_json(), "", &extra);
        self.messages.push(message.clone());
        message
    }

    fn edit_message(&mut self, id: u64, fields: &Value) -> Option<Value> {
        let message = self.find_message_mut(id)?;
        if let (Some(target), Some(fields)) = (message.as_object_mut(), fields.as_object()) {
            for (key, value) in fields {
                target.insert(key.clone(), value.clone());
            }
            target.insert("edited_timestamp".into(), json!(now_timestamp()));
        }
        Some(message.clone())
    }

    fn new_thread(&mut self, parent: u64, id: u64, body: &Value) -> Value {
        let kind = body["type"].as_u64().unwrap_or(11);
        let thread = json!({
            "id": id.to_string(),
            "type": kind,
            "guild_id": GUILD_ID.to_string(),
            "parent_id": parent.to_string(),
            "owner_id": BOT_USER_ID.to_string(),
            "name": body["name"].as_str().unwrap_or("thread"),
            "last_message_id": null,
            "rate_limit_per_user": body["rate_limit_per_user"].as_u64().unwrap_or(0),
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": false,
                "auto_archive_duration": body["auto_archive_duration"].as_u64().unwrap_or(4320),
                "archive_timestamp": now_timestamp(),
                "locked": false,
                "invitable": body["invitable"].as_bool().unwrap_or(true),
                "create_timestamp": now_timestamp(),
            },
            "member": {"id": id.to_string(), "user_id": BOT_USER_ID.to_string(), "join_timestamp": now_timestamp(), "flags": 0},
        });
        self.threads.push(thread.clone());
        self.thread_members.insert(id, vec![BOT_USER_ID]);
        thread
    }

    fn edit_channel(&mut self, id: u64, body: &Value) -> Option<Value> {
        let channel = match self.channels.get_mut(&id) {
            Some(c) => c,
            None => self.threads.iter_mut().find(|t| id_of(&t["id"]) == id)?,
        };
        let thread = is_thread(channel);
        for (key, value) in body.as_object().into_iter().flatten() {
            let goes_to_metadata =
                matches!(key.as_str(), "archived" | "locked" | "auto_archive_duration" | "invitable");
            if thread && goes_to_metadata {
                channel["thread_metadata"][key.as_str()] = value.clone();
            } else {
                channel[key.as_str()] = value.clone();
            }
        }
        if thread && body.get("archived").is_some() {
            channel["thread_metadata"]["archive_timestamp"] = json!(now_timestamp());
        }
        Some(channel.clone())
    }

    fn take_lost_reply(&mut self, method: &str, path: &str) -> bool {
        let Some(index) = self.lost_replies.iter().position(|(m, prefix)| m == method && path.starts_with(prefix))
        else {
            return false;
        };
        self.lost_replies.remove(index);
        true
    }

    /// Discord's `enforce_nonce`: a bot message in `channel` that was sent with this nonce.
    fn message_with_nonce(&self, channel: u64, nonce: &Value) -> Option<Value> {
        self.messages.iter().find(|m| id_of(&m["channel_id"]) == channel && m.get("nonce") == Some(nonce)).cloned()
    }

    fn take_rate_limit(&mut self, method: &str, path: &str) -> Option<f64> {
        let index = self.rate_limits.iter().position(|r| r.method == method && path.starts_with(&r.path_prefix))?;
        Some(self.rate_limits.remove(index).retry_after)
    }
}

fn push_dispatch(session: &mut Session, resumable: &mut HashMap<String, u64>, event: &str, data: &Value) {
    session.seq += 1;
    if let Some(id) = &session.session_id {
        resumable.insert(id.clone(), session.seq);
    }
    let payload = json!({"op": 0, "s": session.seq, "t": event, "d": data});
    let _ = session.tx.send(WsOut::Text(payload.to_string()));
}

/// Serenity turns an event it cannot parse into `Event::Unknown` or a logged error, and the
/// handler never runs: catch that here with serenity's own error message.
fn check_event_parses(event: &str, data: &Value) {
    use serenity::model::event::{Event, GuildCreateEvent};
    fn check<T: serde::de::DeserializeOwned>(event: &str, data: &Value) {
        if let Err(e) = serde_json::from_value::<T>(data.clone()) {
            panic!("discord double: serenity cannot parse this {event}: {e}\n{data:#}");
        }
    }
    match event {
        "READY" => check::<serenity::model::gateway::Ready>(event, data),
        "GUILD_CREATE" => check::<GuildCreateEvent>(event, data),
        "MESSAGE_CREATE" => check::<serenity::model::channel::Message>(event, data),
        "INTERACTION_CREATE" => check::<serenity::model::application::Interaction>(event, data),
        "CHANNEL_DELETE" | "THREAD_CREATE" => check::<serenity::model::channel::GuildChannel>(event, data),
        _ => {}
    }
    match serde_json::from_value::<Event>(json!({"t": event, "d": data})) {
        Ok(Event::Unknown(_)) => panic!(
            "discord double: serenity does not parse {event} as a known event (unknown name or wrong shape); \
             use dispatch_raw for deliberately unknown events\n{data:#}"
        ),
        Ok(_) => {}
        Err(e) => panic!("discord double: serenity cannot parse {event}: {e}\n{data:#}"),
    }
}

// ----- gateway server -----

async fn ws_upgrade(State(double): State<DiscordDouble>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| run_session(double, socket))
}

async fn run_session(double: DiscordDouble, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn_id = {
        let mut state = double.state();
        state.connections += 1;
        let conn_id = state.connections;
        state.sessions.push(Session { conn_id, session_id: None, seq: 0, tx: tx.clone() });
        conn_id
    };
    double.notify();
    let hello = json!({"op": 10, "s": null, "t": null, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}});
    let _ = tx.send(WsOut::Text(hello.to_string()));
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(WsOut::Text(text)) => {
                    if socket.send(WsMessage::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(WsOut::Close(code, reason)) => {
                    let _ = socket.send(WsMessage::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => double.on_gateway_payload(conn_id, text.as_str()),
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    double.state().sessions.retain(|s| s.conn_id != conn_id);
    double.notify();
}

impl DiscordDouble {
    fn on_gateway_payload(&self, conn_id: usize, text: &str) {
        let Ok(payload) = serde_json::from_str::<Value>(text) else { return };
        let d = &payload["d"];
        let mut state = self.state();
        let guild = state.guild_json();
        let allow_resume = state.allow_resume;
        let DoubleState { sessions, resumable, identifies, ready_count, resume_count, .. } = &mut *state;
        let Some(session) = sessions.iter_mut().find(|s| s.conn_id == conn_id) else { return };
        match payload["op"].as_u64() {
            Some(1) => {
                let ack = json!({"op": 11, "s": null, "t": null, "d": null});
                let _ = session.tx.send(WsOut::Text(ack.to_string()));
            }
            Some(2) => {
                identifies.push(d.clone());
                let token = d["token"].as_str().unwrap_or_default();
                if token.trim_start_matches("Bot ") == REJECTED_TOKEN {
                    let _ = session.tx.send(WsOut::Close(4004, "Authentication failed."));
                    return;
                }
                let session_id = format!("double-session-{conn_id}");
                session.session_id = Some(session_id.clone());
                session.seq = 0;
                let ready = json!({
                    "v": 10,
                    "user": bot_user_json(),
                    "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
                    "session_id": session_id,
                    "resume_gateway_url": self.ws_url(),
                    "shard": d.get("shard").cloned().unwrap_or(json!([0, 1])),
                    "application": {"id": APPLICATION_ID.to_string(), "flags": 0},
                });
                check_event_parses("READY", &ready);
                check_event_parses("GUILD_CREATE", &guild);
                push_dispatch(session, resumable, "READY", &ready);
                push_dispatch(session, resumable, "GUILD_CREATE", &guild);
                *ready_count += 1;
            }
            Some(6) => {
                let session_id = d["session_id"].as_str().unwrap_or_default().to_string();
                match resumable.get(&session_id) {
                    Some(&seq) if allow_resume => {
                        session.session_id = Some(session_id);
                        session.seq = seq;
                        push_dispatch(session, resumable, "RESUMED", &json!({}));
                        *resume_count += 1;
                    }
                    _ => {
                        let invalid = json!({"op": 9, "s": null, "t": null, "d": false});
                        let _ = session.tx.send(WsOut::Text(invalid.to_string()));
                    }
                }
            }
            _ => {}
        }
        drop(state);
        self.notify();
    }
}

// ----- REST server -----

async fn rest_entry(
    State(double): State<DiscordDouble>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let full_path = uri.path();
    let path = full_path.strip_prefix(API_PREFIX).unwrap_or(full_path).to_string();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (json_body, files) = parse_body(content_type, &body);
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut recorded = Recorded {
        method: method.as_str().to_string(),
        path,
        query: uri.query().unwrap_or_default().to_string(),
        body: json_body,
        files,
        authorization,
        status: 0,
        at: Instant::now(),
    };
    let (mut reply, event) = double.handle_rest(&recorded);
    if reply.status.is_success() && double.state().take_lost_reply(&recorded.method, &recorded.path) {
        reply = Reply::error(StatusCode::BAD_GATEWAY, "Bad Gateway", 0);
    }
    recorded.status = reply.status.as_u16();
    double.state().requests.push(recorded);
    double.notify();
    if let Some((name, data)) = event {
        double.dispatch(name, data);
    }
    let mut response = match reply.body {
        Some(body) => (reply.status, [("content-type", "application/json")], body.to_string()).into_response(),
        None => reply.status.into_response(),
    };
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// A gateway event a REST call causes (e.g. THREAD_CREATE), sent after the reply is decided.
type SideEvent = Option<(&'static str, Value)>;

impl DiscordDouble {
    fn handle_rest(&self, req: &Recorded) -> (Reply, SideEvent) {
        let mut state = self.state();
        let method = req.method.as_str();
        let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();

        // The gateway url must always be served: on failure serenity falls back to the real
        // Discord gateway, which a test must never reach.
        let is_gateway = segments.first() == Some(&"gateway");
        let rejected = req.authorization.as_deref().is_some_and(|a| a.trim_start_matches("Bot ") == REJECTED_TOKEN);
        if rejected && !is_gateway {
            return (Reply::error(StatusCode::UNAUTHORIZED, "401: Unauthorized", 0), None);
        }
        if let Some(retry_after) = state.take_rate_limit(method, &req.path) {
            let mut reply = Reply::error(StatusCode::TOO_MANY_REQUESTS, "You are being rate limited.", 0);
            reply.body = Some(
                json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": false, "code": 0}),
            );
            // No `x-ratelimit-global` header at all: serenity treats its mere presence as global.
            reply.headers = vec![("retry-after", format!("{retry_after}")), ("x-ratelimit-scope", "user".to_string())];
            return (reply, None);
        }
        if let ["channels", id, ..] = segments.as_slice() {
            let id: u64 = id.parse().unwrap_or(0);
            if state.deleted_channels.contains(&id) {
                return (Reply::unknown_channel(), None);
            }
            if state.denied_channels.contains(&id) {
                return (Reply::error(StatusCode::FORBIDDEN, "Missing Permissions", 50013), None);
            }
        }

        let port = self.inner.port;
        let body = &req.body;
        let reply = match (method, segments.as_slice()) {
            ("GET", ["gateway"]) => Reply::json(json!({"url": self.ws_url()})),
            ("GET", ["gateway", "bot"]) => Reply::json(json!({
                "url": self.ws_url(),
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
            })),
            ("GET", ["users", "@me"]) => Reply::json(bot_user_json()),
            ("GET", ["users", id]) => Reply::json(user_json(num(id))),
            ("GET", ["oauth2", "applications", "@me"]) | ("GET", ["applications", "@me"]) => {
                Reply::json(application_json())
            }

            ("PUT", ["applications", _, "commands"]) => {
                let commands = register_commands(&mut state, body, None);
                state.global_commands = commands.clone();
                Reply::json(Value::Array(commands))
            }
            ("GET", ["applications", _, "commands"]) => Reply::json(Value::Array(state.global_commands.clone())),
            ("POST", ["applications", _, "commands"]) => {
                let command = upsert_command(&mut state, body, None);
                Reply::json(command)
            }
            ("PUT", ["applications", _, "guilds", guild, "commands"]) => {
                let commands = register_commands(&mut state, body, Some(num(guild)));
                state.guild_commands = commands.clone();
                Reply::json(Value::Array(commands))
            }
            ("GET", ["applications", _, "guilds", _, "commands"]) => {
                Reply::json(Value::Array(state.guild_commands.clone()))
            }
            ("POST", ["applications", _, "guilds", guild, "commands"]) => {
                let command = upsert_command(&mut state, body, Some(num(guild)));
                Reply::json(command)
            }

            ("GET", ["guilds", guild, ..]) if num(guild) != GUILD_ID => {
                Reply::error(StatusCode::NOT_FOUND, "Unknown Guild", 10004)
            }
            ("GET", ["guilds", _]) => Reply::json(state.guild_json()),
            ("GET", ["guilds", _, "channels"]) => Reply::json(state.guild_json()["channels"].clone()),
            ("GET", ["guilds", _, "roles"]) => Reply::json(Value::Array(roles_json())),
            ("GET", ["guilds", _, "members"]) => Reply::json(state.guild_json()["members"].clone()),
            ("GET", ["guilds", _, "members", user]) => Reply::json(state.member_json(num(user), None)),
            ("GET", ["guilds", _, "threads", "active"]) => {
                Reply::json(json!({"threads": state.guild_json()["threads"].clone(), "members": []}))
            }
            ("PUT", ["guilds", _, "members", user, "roles", role]) => {
                let roles = state.member_roles.entry(num(user)).or_default();
                if !roles.contains(&num(role)) {
                    roles.push(num(role));
                }
                Reply::no_content()
            }
            ("DELETE", ["guilds", _, "members", user, "roles", role]) => {
                state.member_roles.entry(num(user)).or_default().retain(|r| *r != num(role));
                Reply::no_content()
            }

            ("GET", ["channels", id]) => match state.channel_json(num(id)) {
                Some(channel) => Reply::json(channel),
                None => Reply::unknown_channel(),
            },
            ("PATCH", ["channels", id]) => match state.edit_channel(num(id), body) {
                Some(channel) => Reply::json(channel),
                None => Reply::unknown_channel(),
            },
            ("DELETE", ["channels", id]) => match state.channel_json(num(id)) {
                Some(channel) => {
                    state.deleted_channels.push(num(id));
                    Reply::json(channel)
                }
                None => Reply::unknown_channel(),
            },
            ("POST", ["channels", id, "messages"]) => {
                let channel = num(id);
                if state.channel_json(channel).is_none() {
                    Reply::unknown_channel()
                } else {
                    let nonce = body.get("nonce").filter(|n| !n.is_null());
                    let enforced = body["enforce_nonce"].as_bool() == Some(true);
                    match nonce.filter(|_| enforced).and_then(|n| state.message_with_nonce(channel, n)) {
                        // A repeat of a message Discord already created: it is returned, not posted again.
                        Some(existing) => Reply::json(existing),
                        None => {
                            let mut fields = message_fields_from_body(body);
                            if let Some(nonce) = nonce {
                                fields["nonce"] = nonce.clone();
                            }
                            if let Some(attachments) = attachments_json(&mut state, body, &req.files, port) {
                                fields["attachments"] = attachments;
                            }
                            Reply::json(state.new_bot_message(channel, &fields, false))
                        }
                    }
                }
            }
            ("GET", ["channels", id, "messages"]) => {
                // Discord lists newest first.
                let mut messages: Vec<Value> =
                    state.messages.iter().filter(|m| id_of(&m["channel_id"]) == num(id)).cloned().collect();
                messages.reverse();
                Reply::json(Value::Array(messages))
            }
            ("GET", ["channels", _, "messages", mid]) => match state.find_message(num(mid)) {
                Some(message) => Reply::json(message.clone()),
                None => Reply::unknown_message(),
            },
            ("PATCH", ["channels", _, "messages", mid]) => {
                let mut fields = message_fields_from_body(body);
                if let Some(attachments) = attachments_json(&mut state, body, &req.files, port) {
                    fields["attachments"] = attachments;
                }
                match state.edit_message(num(mid), &fields) {
                    Some(message) => Reply::json(message),
                    None => Reply::unknown_message(),
                }
            }
            ("DELETE", ["channels", _, "messages", mid]) => {
                let before = state.messages.len();
                state.messages.retain(|m| id_of(&m["id"]) != num(mid));
                if state.messages.len() < before { Reply::no_content() } else { Reply::unknown_message() }
            }
            ("POST", ["channels", id, "threads"]) => {
                let thread_id = state.next_snowflake();
                let thread = state.new_thread(num(id), thread_id, body);
                return (Reply::json(thread.clone()), Some(("THREAD_CREATE", with_newly_created(thread))));
            }
            ("POST", ["channels", id, "messages", mid, "threads"]) => {
                if state.find_message(num(mid)).is_none() {
                    Reply::unknown_message()
                } else {
                    // A thread started from a message takes the message's id, as on Discord.
                    let mut thread_body = body.clone();
                    thread_body["type"] = json!(11);
                    let thread = state.new_thread(num(id), num(mid), &thread_body);
                    return (Reply::json(thread.clone()), Some(("THREAD_CREATE", with_newly_created(thread))));
                }
            }
            ("PUT", ["channels", id, "thread-members", user]) => {
                let user = if *user == "@me" { BOT_USER_ID } else { num(user) };
                let members = state.thread_members.entry(num(id)).or_default();
                if !members.contains(&user) {
                    members.push(user);
                }
                Reply::no_content()
            }
            ("DELETE", ["channels", id, "thread-members", user]) => {
                let user = if *user == "@me" { BOT_USER_ID } else { num(user) };
                state.thread_members.entry(num(id)).or_default().retain(|u| *u != user);
                Reply::no_content()
            }
            ("GET", ["channels", id, "thread-members"]) => {
                let members: Vec<Value> = state
                    .thread_members
                    .get(&num(id))
                    .into_iter()
                    .flatten()
                    .map(|u| json!({"id": id, "user_id": u.to_string(), "join_timestamp": JOINED_AT, "flags": 0}))
                    .collect();
                Reply::json(Value::Array(members))
            }
            ("POST", ["channels", _, "typing"])
            | ("PUT", ["channels", _, "pins", _])
            | ("DELETE", ["channels", _, "pins", _])
            | ("PUT", ["channels", _, "messages", _, "reactions", ..])
            | ("DELETE", ["channels", _, "messages", _, "reactions", ..]) => Reply::no_content(),

            ("POST", ["interactions", id, token, "callback"]) => {
                interaction_callback(&mut state, num(id), token, req, port)
            }
            ("POST", ["webhooks", _, token]) => match state.interactions.get(*token).map(|i| i.channel_id) {
                Some(channel) => {
                    let mut fields = message_fields_from_body(body);
                    if let Some(attachments) = attachments_json(&mut state, body, &req.files, port) {
                        fields["attachments"] = attachments;
                    }
                    let message = state.new_bot_message(channel, &fields, true);
                    if let Some(info) = state.interactions.get_mut(*token) {
                        info.followup_ids.push(id_of(&message["id"]));
                    }
                    Reply::json(message)
                }
                None => unknown_webhook(),
            },
            (_, ["webhooks", _, token, "messages", which]) => {
                webhook_message(&mut state, method, token, which, req, port)
            }

            _ => Reply::not_found(),
        };
        (reply, None)
    }
}

fn num(segment: &str) -> u64 {
    segment.parse().unwrap_or(0)
}

fn with_newly_created(mut thread: Value) -> Value {
    thread["newly_created"] = json!(true);
    thread
}

fn unknown_webhook() -> Reply {
    Reply::error(StatusCode::NOT_FOUND, "Unknown Webhook", 10015)
}

fn application_json() -> Value {
    json!({
        "id": APPLICATION_ID.to_string(),
        "name": "design-coach",
        "icon": null,
        "description": "System design interview coach",
        "rpc_origins": [],
        "bot_public": false,
        "bot_require_code_grant": false,
        "owner": user_json(ADMIN),
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "team": null,
        "flags": 0,
        "bot": bot_user_json(),
    })
}

/// Fills in what Discord adds to a registered command; a name registered before keeps its id.
fn command_json(state: &mut DoubleState, body: &Value, guild: Option<u64>) -> Value {
    let name = body["name"].as_str().unwrap_or_default().to_string();
    let existing = if guild.is_some() { &state.guild_commands } else { &state.global_commands };
    let id = match existing.iter().find(|c| c["name"].as_str() == Some(name.as_str())) {
        Some(c) => id_of(&c["id"]),
        None => state.next_snowflake(),
    };
    let mut command = body.clone();
    command["id"] = json!(id.to_string());
    command["application_id"] = json!(APPLICATION_ID.to_string());
    command["version"] = json!(state.next_snowflake().to_string());
    command["guild_id"] = guild.map_or(Value::Null, |g| json!(g.to_string()));
    for (key, default) in [
        ("type", json!(1)),
        ("description", json!("")),
        ("options", json!([])),
        ("default_member_permissions", Value::Null),
        ("nsfw", json!(false)),
    ] {
        if command.get(key).is_none_or(Value::is_null) {
            command[key] = default;
        }
    }
    command
}

fn register_commands(state: &mut DoubleState, body: &Value, guild: Option<u64>) -> Vec<Value> {
    let bodies = body.as_array().cloned().unwrap_or_default();
    bodies.iter().map(|b| command_json(state, b, guild)).collect()
}

fn upsert_command(state: &mut DoubleState, body: &Value, guild: Option<u64>) -> Value {
    let command = command_json(state, body, guild);
    let list = if guild.is_some() { &mut state.guild_commands } else { &mut state.global_commands };
    list.retain(|c| c["name"] != command["name"]);
    list.push(command.clone());
    command
}

/// Interaction callback types: 4 message, 5 deferred message, 6 deferred update, 7 update
/// message, 8 autocomplete result, 9 modal.
fn interaction_callback(state: &mut DoubleState, id: u64, token: &str, req: &Recorded, port: u16) -> Reply {
    let Some(info) = state.interactions.get(token).filter(|i| i.id == id) else {
        return Reply::error(StatusCode::NOT_FOUND, "Unknown interaction", 10062);
    };
    if info.acknowledged {
        return Reply::error(StatusCode::BAD_REQUEST, "Interaction has already been acknowledged.", 40060);
    }
    let (channel, component_message) = (info.channel_id, info.message_id);
    let data = &req.body["data"];
    let original = match req.body["type"].as_u64() {
        Some(4) => {
            let mut fields = message_fields_from_body(data);
            if let Some(attachments) = attachments_json(state, data, &req.files, port) {
                fields["attachments"] = attachments;
            }
            Some(id_of(&state.new_bot_message(channel, &fields, true)["id"]))
        }
        Some(5) => {
            // 128 = LOADING ("bot is thinking"), kept with an ephemeral flag if one was asked for.
            let flags = data["flags"].as_u64().unwrap_or(0) | 128;
            Some(id_of(&state.new_bot_message(channel, &json!({"flags": flags}), true)["id"]))
        }
        Some(7) => {
            if let Some(message) = component_message {
                state.edit_message(message, &message_fields_from_body(data));
            }
            None
        }
        _ => None,
    };
    if let Some(info) = state.interactions.get_mut(token) {
        info.acknowledged = true;
        info.original_id = original.or(info.original_id);
    }
    Reply::no_content()
}

fn webhook_message(
    state: &mut DoubleState,
    method: &str,
    token: &str,
    which: &str,
    req: &Recorded,
    port: u16,
) -> Reply {
    let Some(info) = state.interactions.get(token) else { return unknown_webhook() };
    // @original of a component interaction that was answered with a deferred update is the
    // message the component sits on.
    let target = if which == "@original" { info.original_id.or(info.message_id) } else { which.parse().ok() };
    let Some(target) = target else { return Reply::unknown_message() };
    match method {
        "GET" => state.find_message(target).cloned().map_or_else(Reply::unknown_message, Reply::json),
        "PATCH" => {
            let mut fields = message_fields_from_body(&req.body);
            if let Some(attachments) = attachments_json(state, &req.body, &req.files, port) {
                fields["attachments"] = attachments;
            }
            // Editing a deferred response replaces its "thinking" state.
            if let Some(flags) = state.find_message(target).and_then(|m| m["flags"].as_u64())
                && fields.get("flags").is_none()
            {
                fields["flags"] = json!(flags & !128);
            }
            state.edit_message(target, &fields).map_or_else(Reply::unknown_message, Reply::json)
        }
        "DELETE" => {
            let before = state.messages.len();
            state.messages.retain(|m| id_of(&m["id"]) != target);
            if state.messages.len() < before { Reply::no_content() } else { Reply::unknown_message() }
        }
        _ => Reply::not_found(),
    }
}

// ----- bodies -----

/// The JSON of a request body: plain JSON, or the `payload_json` part of a multipart body
/// (whose other parts are returned as files).
fn parse_body(content_type: &str, body: &[u8]) -> (Value, Vec<RecordedFile>) {
    if body.is_empty() {
        return (Value::Null, Vec::new());
    }
    let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
        .map(|b| b.trim_matches('"').to_string())
    else {
        return (serde_json::from_slice(body).unwrap_or(Value::Null), Vec::new());
    };
    let mut json = Value::Null;
    let mut files = Vec::new();
    for part in multipart_parts(body, &boundary) {
        if part.name == "payload_json" {
            json = serde_json::from_slice(&part.data).unwrap_or(Value::Null);
        } else {
            files.push(RecordedFile { field: part.name, filename: part.filename.unwrap_or_default(), data: part.data });
        }
    }
    (json, files)
}

struct Part {
    name: String,
    filename: Option<String>,
    data: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A minimal multipart/form-data reader: enough for reqwest's encoding of serenity's uploads.
fn multipart_parts(body: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = match find(body, &delimiter) {
        Some(start) => &body[start + delimiter.len()..],
        None => return parts,
    };
    while !rest.starts_with(b"--") {
        let Some(end) = find(rest, &delimiter) else { break };
        let section = rest[..end].strip_prefix(b"\r\n").unwrap_or(&rest[..end]);
        let section = section.strip_suffix(b"\r\n").unwrap_or(section);
        if let Some(split) = find(section, b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&section[..split]).to_string();
            let quoted = |key: &str| {
                let start = headers.find(&format!("{key}=\""))? + key.len() + 2;
                let len = headers[start..].find('"')?;
                Some(headers[start..start + len].to_string())
            };
            parts.push(Part {
                name: quoted("name").unwrap_or_default(),
                filename: quoted("filename"),
                data: section[split + 4..].to_vec(),
            });
        }
        rest = &rest[end + delimiter.len()..];
    }
    parts
}
