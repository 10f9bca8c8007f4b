//! Gateway events the commands do not cover: messages in practice and daily threads, and
//! button presses. Buttons are handled here rather than by collectors so that they keep
//! working after a restart: their ids carry everything needed.

use super::render::{self, PracticeAction};
use super::{BotError, Data, display_name, ephemeral, no_pings, post};
use crate::coach::{Advance, CoachError, Learner};
use crate::content::QuizItem;
use crate::store::Platform;
use poise::serenity_prelude as serenity;
use serenity::{
    ChannelId, ComponentInteraction, CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage,
    FullEvent, Http, Interaction, Message,
};
use std::sync::Arc;

pub async fn handle(framework: poise::FrameworkContext<'_, Data, BotError>, event: &FullEvent) -> Result<(), BotError> {
    let data = framework.user_data;
    let http = &framework.serenity_context.http;
    match event {
        FullEvent::Message { new_message } if !new_message.author.bot => {
            let _handling = data.message_order.begin(new_message.channel_id, new_message.id);
            if let Err(error) = on_message(http, data, new_message).await {
                tracing::error!(%error, channel = %new_message.channel_id, "handling a message failed");
            }
        }
        FullEvent::InteractionCreate { interaction: Interaction::Component(press) } => {
            if let Err(error) = on_button(http, data, press).await {
                tracing::warn!(%error, custom_id = press.data.custom_id, "a button press failed");
                let _ = press.create_response(http, ephemeral(error.for_member())).await;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A member's message: part of a practice answer in their own thread ("done" submits it), or
/// an answer under the question of the day.
async fn on_message(http: &Http, data: &Data, message: &Message) -> Result<(), BotError> {
    let place = message.channel_id.to_string();
    if let Some((session, owner)) = data.store.session_in_place(&place).await? {
        // Only the owner's words count toward their answer; others may discuss freely.
        if owner != message.author.id.to_string() {
            return Ok(());
        }
        if message.content.trim().eq_ignore_ascii_case("done") {
            data.message_order.after_earlier(message.channel_id, message.id).await;
            let learner = data.learner(&message.author, place, message.guild_id).await?;
            let reply = submit(data, &learner, session.id).await;
            post(http, message.channel_id, reply.message(), "post feedback").await?;
            return Ok(());
        }
        match data.coach.answer(&data.store, session.id, &message.content).await {
            Ok(_) => {}
            Err(error @ (CoachError::AnswerTooLong { .. } | CoachError::SessionEnded)) => {
                super::post_text(http, message.channel_id, &error.to_string(), "refuse an answer").await?;
            }
            Err(error) => return Err(error.into()),
        }
        return Ok(());
    }
    if let Some(daily) = data.store.daily_post_in_thread(&place).await? {
        let learner = data.learner(&message.author, place, message.guild_id).await?;
        let reply =
            match data.coach.answer_daily(&data.store, data.clock.as_ref(), &learner, &daily, &message.content).await {
                Ok(feedback) => {
                    let question = data.coach.grader().question(&daily.question_id).map_err(CoachError::from)?;
                    let card = render::daily_feedback_card(
                        question,
                        &display_name(&message.author),
                        &feedback.grade,
                        feedback.streak.current,
                    );
                    CreateMessage::new().embed(card.embed()).reference_message(message)
                }
                Err(error @ (CoachError::EmptyAnswer | CoachError::AnswerTooLong { .. })) => {
                    CreateMessage::new().content(error.to_string()).reference_message(message)
                }
                Err(error) => return Err(error.into()),
            };
        post(http, message.channel_id, reply, "post daily feedback").await?;
    }
    Ok(())
}

/// Grades the step; the feedback, or what stops it, as a message for the thread.
async fn submit(data: &Data, learner: &Learner, session: i64) -> Reply {
    let feedback = match data.coach.submit(&data.store, data.clock.as_ref(), learner, session).await {
        Ok(feedback) => feedback,
        Err(error) => return Reply::text(BotError::from(error).for_member()),
    };
    match data.coach.session(&data.store, session).await {
        Ok(Some(view)) => {
            Reply::card(&render::feedback_card(&view, &feedback)).with_buttons(render::feedback_buttons(session))
        }
        _ => Reply::text(format!("Scored {}/100.", feedback.grade.score)),
    }
}

/// After Next or Skip: the next step's prompt, or the final report.
fn advanced(advance: Advance<'_>) -> Reply {
    match advance {
        Advance::Step(view) => Reply::card(&render::step_card(&view)).with_buttons(render::step_buttons(view.id())),
        Advance::Finished(report) => Reply::card(&render::report_card(&report)),
    }
}

/// A reply that goes either into the thread or back to a button press.
#[derive(Default)]
struct Reply {
    content: Option<String>,
    embeds: Vec<serenity::CreateEmbed>,
    components: Vec<serenity::CreateActionRow>,
}

impl Reply {
    fn text(content: impl Into<String>) -> Reply {
        Reply { content: Some(content.into()), ..Reply::default() }
    }

    fn card(card: &render::Card) -> Reply {
        Reply { embeds: vec![card.embed()], ..Reply::default() }
    }

    fn with_buttons(mut self, components: Vec<serenity::CreateActionRow>) -> Reply {
        self.components = components;
        self
    }

    fn message(self) -> CreateMessage {
        let mut message = CreateMessage::new().embeds(self.embeds).components(self.components);
        if let Some(content) = self.content {
            message = message.content(render::clip(&content, render::MESSAGE_LIMIT));
        }
        message
    }

    fn response(self) -> CreateInteractionResponse {
        let mut reply = CreateInteractionResponseMessage::new()
            .embeds(self.embeds)
            .components(self.components)
            .allowed_mentions(no_pings());
        if let Some(content) = self.content {
            reply = reply.content(render::clip(&content, render::MESSAGE_LIMIT));
        }
        CreateInteractionResponse::Message(reply)
    }
}

async fn on_button(http: &Http, data: &Data, press: &ComponentInteraction) -> Result<(), BotError> {
    let id = press.data.custom_id.as_str();
    if let Some((action, session)) = PracticeAction::parse(id) {
        return on_practice_button(http, data, press, action, session).await;
    }
    if let Some((quiz, choice)) = SoloQuiz::parse(id) {
        return on_solo_quiz(http, data, press, quiz, choice).await;
    }
    if let Some(rest) = id.strip_prefix("gq:") {
        return on_group_answer(http, data, press, rest).await;
    }
    if let Some(owner) = id.strip_prefix("fm:") {
        return on_forget(http, data, press, owner).await;
    }
    Ok(())
}

async fn on_practice_button(
    http: &Http,
    data: &Data,
    press: &ComponentInteraction,
    action: PracticeAction,
    session: i64,
) -> Result<(), BotError> {
    let owner = data.store.session_owner(session).await?;
    if owner.as_deref() != Some(press.user.id.to_string().as_str()) {
        let note = "This is someone else's practice session; start your own with /practice.";
        press.create_response(http, ephemeral(note)).await?;
        return Ok(());
    }
    let learner = data.learner(&press.user, press.channel_id.to_string(), press.guild_id).await?;
    let (store, clock) = (&data.store, data.clock.as_ref());
    let reply = match action {
        PracticeAction::Submit => submit(data, &learner, session).await,
        PracticeAction::Revise => {
            let view = data.coach.session(store, session).await?.ok_or(CoachError::NoActiveSession)?;
            Reply::text(format!(
                "Write your revised answer to **{}** in this thread, then press Submit step (or send `done`). The best attempt counts.",
                view.step.title
            ))
            .with_buttons(render::step_buttons(session))
        }
        PracticeAction::Hint => {
            let hint = data.coach.hint(store, session).await?;
            Reply::card(&render::hint_card(hint.as_ref()))
        }
        PracticeAction::Next => match data.coach.next(store, clock, &learner, session).await {
            Ok(advance) => advanced(advance),
            Err(error @ CoachError::NotSubmitted) => Reply::text(error.to_string()),
            Err(error) => return Err(error.into()),
        },
        PracticeAction::Skip => advanced(data.coach.skip(store, clock, &learner, session).await?),
        PracticeAction::End => {
            let report = data.coach.report(store, session).await?;
            if report.steps.iter().any(|step| step.score.is_some()) {
                data.coach.finish(store, clock, &learner, session).await?;
            } else {
                data.coach.abandon(store, clock, session).await?;
            }
            Reply::card(&render::report_card(&report))
        }
    };
    press.create_response(http, reply.response()).await?;
    Ok(())
}

// --- quizzes ---------------------------------------------------------------------------------

/// A one-learner quiz whose whole state is in its buttons: `qz:<seed>:<topic>:<pos>:<count>:
/// <correct>:<choice>`. The seed gives back the same items after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoloQuiz {
    pub seed: u32,
    pub topic: Option<String>,
    pub position: usize,
    pub count: usize,
    pub correct: usize,
}

impl SoloQuiz {
    pub fn custom_id(&self, choice: usize) -> String {
        format!(
            "qz:{}:{}:{}:{}:{}:{choice}",
            self.seed,
            self.topic.as_deref().unwrap_or("-"),
            self.position,
            self.count,
            self.correct
        )
    }

    pub fn parse(id: &str) -> Option<(SoloQuiz, usize)> {
        let parts: Vec<&str> = id.strip_prefix("qz:")?.split(':').collect();
        let [seed, topic, position, count, correct, choice] = parts.as_slice() else { return None };
        Some((
            SoloQuiz {
                seed: seed.parse().ok()?,
                topic: (*topic != "-").then(|| topic.to_string()),
                position: position.parse().ok()?,
                count: count.parse().ok()?,
                correct: correct.parse().ok()?,
            },
            choice.parse().ok()?,
        ))
    }
}

async fn on_solo_quiz(
    http: &Http,
    data: &Data,
    press: &ComponentInteraction,
    quiz: SoloQuiz,
    choice: usize,
) -> Result<(), BotError> {
    let items = data.coach.quiz_round(quiz.topic.as_deref(), quiz.count, quiz.seed as u64)?;
    let Some(item) = items.get(quiz.position).copied() else {
        press.create_response(http, ephemeral("This quiz has ended; start another with /quiz.")).await?;
        return Ok(());
    };
    let learner = data.learner(&press.user, press.channel_id.to_string(), press.guild_id).await?;
    let feedback = data.coach.answer_quiz(&data.store, data.clock.as_ref(), &learner, item, choice).await?;
    let next = SoloQuiz { position: quiz.position + 1, correct: quiz.correct + usize::from(feedback.correct), ..quiz };
    let mut embeds = vec![render::quiz_answer_card(item, choice, feedback.correct).embed()];
    let mut reply = CreateInteractionResponseMessage::new().allowed_mentions(no_pings());
    match items.get(next.position) {
        Some(following) => {
            embeds.push(render::quiz_card(following, next.position, items.len()).embed());
            reply = reply.components(render::letter_buttons(following.options.len(), |c| next.custom_id(c)));
        }
        None => {
            reply = reply
                .content(format!(
                    "Quiz done: **{}/{}** right. Streak: {} day{}.",
                    next.correct,
                    items.len(),
                    feedback.streak.current,
                    super::plural(feedback.streak.current)
                ))
                .components(Vec::new());
        }
    }
    press.create_response(http, CreateInteractionResponse::UpdateMessage(reply.embeds(embeds))).await?;
    Ok(())
}

/// Runs a group round: each question open for the window, then the answer and who got it,
/// then a round leaderboard.
pub async fn run_group_round(http: Arc<Http>, data: Data, channel: ChannelId, round: String, item_ids: Vec<String>) {
    data.group_rounds.lock().unwrap_or_else(|p| p.into_inner()).insert(
        round.clone(),
        super::GroupRound { answers: vec![Default::default(); item_ids.len()], items: item_ids.clone(), open: 0 },
    );
    let content = data.coach.grader().content();
    let items: Vec<&QuizItem> =
        item_ids.iter().filter_map(|id| content.quiz.iter().find(|item| item.id == *id)).collect();
    let mut scores: std::collections::BTreeMap<String, (String, usize)> = Default::default();
    for (position, item) in items.iter().enumerate() {
        if let Some(state) = data.group_rounds.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&round) {
            state.open = position;
        }
        let buttons = render::letter_buttons(item.options.len(), |choice| format!("gq:{round}:{position}:{choice}"));
        let question =
            CreateMessage::new().embed(render::quiz_card(item, position, items.len()).embed()).components(buttons);
        if post(&http, channel, question, "post a group quiz question").await.is_err() {
            break;
        }
        tokio::time::sleep(data.settings.group_quiz_window).await;
        let answers = data
            .group_rounds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&round)
            .and_then(|state| state.answers.get(position).cloned())
            .unwrap_or_default();
        let mut right: Vec<String> = Vec::new();
        for (member, (name, choice)) in &answers {
            let entry = scores.entry(member.clone()).or_insert((name.clone(), 0));
            if *choice == item.answer {
                entry.1 += 1;
                right.push(name.clone());
            }
        }
        right.sort();
        let who = if right.is_empty() { "nobody".to_string() } else { right.join(", ") };
        let card = render::Card::new(
            format!("Answer: {}", item.answer_letter()),
            format!("{}\n\nRight: {who} ({} answered)", item.explanation, answers.len()),
            serenity::Colour(0x22c55e),
        );
        if post(&http, channel, CreateMessage::new().embed(card.embed()), "post a group quiz answer").await.is_err() {
            break;
        }
    }
    data.group_rounds.lock().unwrap_or_else(|p| p.into_inner()).remove(&round);
    let mut ranking: Vec<(String, usize)> = scores.into_values().collect();
    ranking.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let lines: Vec<String> = ranking
        .iter()
        .enumerate()
        .map(|(i, (name, right))| format!("**{}.** {name}: {right}/{}", i + 1, items.len()))
        .collect();
    let card = render::Card::new(
        "Round over",
        if lines.is_empty() { "Nobody answered this round." } else { "" },
        serenity::Colour(0x3b82f6),
    )
    .field("Round leaderboard", &lines);
    let _ = post(&http, channel, CreateMessage::new().embed(card.embed()), "post a group quiz leaderboard").await;
}

async fn on_group_answer(http: &Http, data: &Data, press: &ComponentInteraction, rest: &str) -> Result<(), BotError> {
    let parts: Vec<&str> = rest.split(':').collect();
    let [round, position, choice] = parts.as_slice() else { return Ok(()) };
    let (Ok(position), Ok(choice)) = (position.parse::<usize>(), choice.parse::<usize>()) else { return Ok(()) };
    let member = press.user.id.to_string();
    let recorded = {
        let mut rounds = data.group_rounds.lock().unwrap_or_else(|p| p.into_inner());
        match rounds.get_mut(*round) {
            Some(state) if state.open == position => match state.answers.get_mut(position) {
                Some(answers) if !answers.contains_key(&member) => {
                    answers.insert(member, (display_name(&press.user), choice));
                    Some(true)
                }
                _ => Some(false),
            },
            _ => None,
        }
    };
    let note = match recorded {
        None => "This question is closed.".to_string(),
        Some(false) => "You already answered this one.".to_string(),
        Some(true) => {
            let content = data.coach.grader().content();
            let item_id = data.group_round_item(round, position);
            if let Some(item) = item_id.and_then(|id| content.quiz.iter().find(|item| item.id == id)) {
                let learner = data.learner(&press.user, press.channel_id.to_string(), press.guild_id).await?;
                data.coach.answer_quiz(&data.store, data.clock.as_ref(), &learner, item, choice).await?;
            }
            format!(
                "Answer {} recorded; the result comes when the time is up.",
                QuizItem::LETTERS.get(choice).copied().unwrap_or('?')
            )
        }
    };
    press.create_response(http, ephemeral(note)).await?;
    Ok(())
}

async fn on_forget(http: &Http, data: &Data, press: &ComponentInteraction, owner: &str) -> Result<(), BotError> {
    if owner != press.user.id.to_string() {
        press.create_response(http, ephemeral("Only the member who asked can confirm this.")).await?;
        return Ok(());
    }
    if let Some(user) = data.store.find_user(Platform::Discord, owner).await? {
        data.store.forget_user(Platform::Discord, owner).await?;
        data.coach.forget(user.id);
    }
    let done = CreateInteractionResponseMessage::new()
        .content("Done: everything the coach stored about you is deleted.")
        .components(Vec::new());
    press.create_response(http, CreateInteractionResponse::UpdateMessage(done)).await?;
    Ok(())
}
