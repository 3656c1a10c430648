//! One WebSocket connection, from `hello` to close: authenticate, join the
//! role's rooms, then serve commands, the outbound queue and heartbeats in
//! one task until the client leaves or is told to.

use std::task::{Context, Poll, Waker};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use restohub_protocol::ws::{close, ClientMessage, Hello, Member, Room, ServerMessage, Welcome};
use restohub_protocol::ErrorCode;
use tokio::time::Instant;

use super::connection::Connection;
use super::reply::error_frame;
use super::resume::{replay, Replay};
use super::{ConnectionSlot, Gateway, UserConnection};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::instruments::Metrics;
use crate::node::{Frames, SessionHandle};
use crate::state::AppState;

type Ws = WebSocket;

/// Why a connection is refused before its session starts.
struct Refusal(u16, &'static str);

/// The session's tasks: its intake (hello, token, a resume's pace) on the
/// runtime that accepted the connection (the hub's intake runtime, see
/// `crate::http::serve`), then its handshake's turn and its loop on the
/// hub's main runtime ([`Gateway::spawn_admitted`]). Each task's future
/// holds a box (and the second one the slot): an async fn keeps its
/// arguments for as long as it runs, so the socket (about 370 bytes) is
/// moved into the intake's box, from there into the handshake's, and from
/// there into the loop's, never kept by a task itself.
pub fn run(
    gateway: Gateway,
    state: AppState,
    socket: WebSocket,
    header_token: Option<String>,
    client: Option<std::net::IpAddr>,
    slot: ConnectionSlot,
) -> impl std::future::Future<Output = ()> + Send {
    let intake = Box::pin(intake(gateway.clone(), state, socket, header_token, client));
    async move {
        let Some(admitted) = intake.await else {
            return;
        };
        // Boxed out here: a box made inside the task's block would keep
        // the admitted connection's room in the task for its whole life.
        let greeting = Box::pin(greet(admitted));
        gateway.spawn_admitted(async move {
            let _slot = slot;
            // A statement of its own: the handshake's box is dropped here,
            // not kept to the end of an `if let` around the loop.
            let live = greeting.await;
            if let Some(live) = live {
                live.await;
            }
        });
    }
}

/// The handshake (its state is freed before the session settles into its
/// loop, so an idle session holds only the loop's), then the loop, boxed:
/// one allocation holds the session from there on.
async fn greet(
    admitted: Admitted,
) -> Option<std::pin::Pin<Box<impl std::future::Future<Output = ()> + Send>>> {
    let Admitted {
        gateway,
        state,
        mut ws,
        ask,
    } = admitted;
    let ready = handshake(&gateway, state, &mut ws, ask).await?;
    Some(Box::pin(live(ready, ws)))
}

/// A greeted session's loop, then its leaving and the closing handshake.
///
/// A plain fn returning a block, not an async fn: an async fn's state holds
/// its arguments twice (as passed, and as the locals its body binds), and
/// the connection and socket are about 700 bytes. `ready` is used in place,
/// never taken apart, for the same reason.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would hold its arguments twice"
)]
fn live(mut ready: Ready, mut ws: Ws) -> impl std::future::Future<Output = ()> + Send {
    async move {
        let conn = &mut ready.conn;
        let session = conn.session.clone();
        let code = if ready.greeted {
            conn.serve(&mut ws).await
        } else {
            0
        };
        // Out of every room before the closing handshake, so presence and
        // delivery forget the session at once.
        let node = &conn.node;
        for room in std::mem::take(&mut conn.watching) {
            node.unwatch(room, &session);
        }
        for room in std::mem::take(&mut conn.rooms) {
            node.leave(room, &session);
        }
        node.screen_gone(session.key);
        node.unregister(&session);
        // The account's connection counts no more once the session is gone,
        // not after the closing handshake.
        drop(ready.counted);
        Box::pin(close_with(&mut ws, code, close_reason(code))).await;
    }
}

/// A session that passed its handshake.
struct Ready {
    conn: Connection,
    /// The account's (or guest session's) connection, counted until dropped.
    counted: UserConnection,
    /// The welcome (and any replay) went out.
    greeted: bool,
}

/// Closes a connection refused before its session starts.
async fn refuse<T>(ws: &mut Ws, code: u16, why: &str) -> Option<T> {
    close_with(ws, code, why).await;
    None
}

/// Frames a client may send before its welcome (it did not wait) that are
/// kept and handled after it; past that the socket is not read until then.
const EARLY_FRAMES: usize = 4;

/// A connection whose hello came with a genuine token (and, for a resume,
/// whose account's and address's pace let it start): it waits for a turn.
struct Admitted {
    gateway: Gateway,
    state: AppState,
    ws: Ws,
    ask: Ask,
}

/// What an admitted connection asked for, and how long it may wait.
struct Ask {
    hello: Hello,
    caller: Caller,
    /// Frames the client sent meanwhile ([`EARLY_FRAMES`]).
    early: Vec<Message>,
    /// The end of its wait for a turn ([`super::admission::WAIT_BUDGET`]).
    deadline: Instant,
    /// The end of a resume's wait for its replay slot.
    resume_deadline: Instant,
}

/// hello → token → a resume's pace, or a close code. Nothing here reads
/// the database or waits for anything but the client and the clock.
async fn intake(
    gateway: Gateway,
    state: AppState,
    mut ws: Ws,
    header_token: Option<String>,
    client: Option<std::net::IpAddr>,
) -> Option<Admitted> {
    let hello =
        match tokio::time::timeout(gateway.settings.hello_timeout, read_hello(&mut ws)).await {
            Err(_) => return refuse(&mut ws, close::HELLO_TIMEOUT, "no hello in time").await,
            Ok(Err(Some(Refusal(code, why)))) => return refuse(&mut ws, code, why).await,
            Ok(Err(None)) => return None,
            Ok(Ok(hello)) => hello,
        };
    let arrived = Instant::now();
    if gateway.is_shutting_down() {
        return refuse(&mut ws, close::SERVICE_RESTART, "server restarting").await;
    }
    let caller = match identify(&state, &hello, header_token) {
        Ok(caller) => caller,
        Err(Refusal(code, why)) => return refuse(&mut ws, code, why).await,
    };
    // Commands act from the address the upgrade came from (the audit trail).
    let caller = caller.calling_from(client);
    let mut early = Vec::new();
    // A resume starts at its account's and address's pace (waiting holds
    // nothing), then waits for a turn.
    let deadline = arrived + super::admission::WAIT_BUDGET;
    let resume_deadline = Instant::now() + super::replays::WAIT;
    if hello.since.is_some() {
        let start = gateway
            .replays
            .start(&caller.subject, client, resume_deadline);
        match unless_gone(&mut ws, &mut early, start).await {
            Err(code) => return closed_early(&mut ws, code, &state.node.metrics).await,
            Ok(Ok(())) => {}
            Ok(Err(later)) => {
                return refuse(&mut ws, close::RATE_LIMITED, &later.reason()).await;
            }
        }
    }
    Some(Admitted {
        gateway,
        state,
        ws,
        ask: Ask {
            hello,
            caller,
            early,
            deadline,
            resume_deadline,
        },
    })
}

/// A turn (admission) → account, rooms → welcome (and replay), or a close
/// code. A client that closes its socket while waiting for a resume slot or
/// a turn is dropped there, before any database read.
async fn handshake(gateway: &Gateway, state: AppState, ws: &mut Ws, ask: Ask) -> Option<Ready> {
    let Ask {
        hello,
        caller,
        mut early,
        deadline,
        resume_deadline,
    } = ask;
    let client = caller.client;
    let user_key = caller.subject.clone();
    let metrics = state.node.metrics.clone();
    let replays = &gateway.replays;
    let mut turn = match take_turn(gateway, ws, &mut early, deadline, &metrics).await {
        Ok(turn) => turn,
        Err(refused) => return refused,
    };
    // Then it holds one of its account's and address's replay slots until
    // its replay is sent (taken before the session queues live events).
    // Taken at once in the turn; if the account's slots are busy, the turn
    // goes back while it waits for one, so that no turn waits on one
    // account.
    let replaying = match hello.since {
        Some(_) => match replays.try_take(&user_key, client) {
            Some(slot) => Some(slot),
            None => {
                drop(turn);
                let slot = replays.slot(&user_key, client, resume_deadline);
                let slot = match unless_gone(ws, &mut early, slot).await {
                    Err(code) => return closed_early(ws, code, &metrics).await,
                    Ok(Some(slot)) => slot,
                    Ok(None) => {
                        let later = super::admission::Busy(super::replays::SLOTS_BUSY_RETRY);
                        return refuse(ws, close::RATE_LIMITED, &later.reason()).await;
                    }
                };
                turn = match take_turn(gateway, ws, &mut early, deadline, &metrics).await {
                    Ok(turn) => turn,
                    Err(refused) => return refused,
                };
                Some(slot)
            }
        },
        None => None,
    };
    let member = match member(&state, &caller).await {
        Ok(member) => member,
        Err(Refusal(code, why)) => return refuse(ws, code, why).await,
    };
    let node = state.node.clone();
    if node.open_channel(caller.restaurant_id).await.is_err() {
        return refuse(ws, close::SERVICE_RESTART, "database unavailable; retry").await;
    }
    let mut joined = crate::app::rooms::automatic(&caller);
    for name in &hello.rooms {
        match crate::app::rooms::permitted(&state, &caller, name).await {
            Ok(room) if !joined.contains(&room) => joined.push(room),
            Ok(_) => {}
            Err(e) => {
                let code = match e.code() {
                    restohub_protocol::ErrorCode::Forbidden => close::FORBIDDEN,
                    _ => close::PROTOCOL_VIOLATION,
                };
                return refuse(ws, code, "a room in hello cannot be joined").await;
            }
        }
    }
    // Counted last, so no refusal above waits on its closing handshake while
    // holding one of the account's connections.
    let Some(counted) = gateway.add_user_connection(&user_key) else {
        return refuse(
            ws,
            close::TOO_MANY_CONNECTIONS,
            "too many connections for this account",
        )
        .await;
    };
    let session = node.register(caller.restaurant_id, member, hello.since);
    let seq = node.join_all(&session, &joined, hello.since);
    let replay = match replay(&state, &caller, &joined, hello.since, seq).await {
        Ok(replay) => replay,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the event log for a resume");
            Replay::Resync
        }
    };
    // The reads are done: the turn goes to the next handshake while this
    // one writes (a slow client must not hold it).
    drop(turn);
    if hello.since.is_some() {
        node.metrics.resumed(matches!(replay, Replay::Resync));
    }
    let welcome = ServerMessage::Welcome(Welcome {
        session_id: session.member.session_id.clone(),
        restaurant_id: caller.restaurant_id,
        role: caller.role,
        user_id: caller.user_id,
        table_id: caller.table_id,
        rooms: joined.iter().map(ToString::to_string).collect(),
        seq,
        heartbeat_interval_ms: gateway.settings.heartbeat_interval.as_millis() as u64,
        resync_required: matches!(replay, Replay::Resync),
    });
    let settings = &gateway.settings;
    let quota = Quota::per_second(settings.commands_per_second).allow_burst(settings.command_burst);
    let mut conn = Connection {
        gateway: gateway.clone(),
        node,
        state,
        session: session.clone(),
        caller,
        rooms: joined.into_iter().collect(),
        watching: Default::default(),
        limiter: RateLimiter::direct_with_clock(quota, gateway.clock.clone()),
        limited_in_a_row: 0,
    };
    let mut greeted = ws.send(text(&welcome)).await.is_ok();
    if let (true, Replay::Events(resume)) = (greeted, replay) {
        let deadline = settings.heartbeat_timeout();
        greeted = resume.send(&conn.state, ws, deadline).await.is_ok();
    }
    drop(replaying);
    // Queued: the first snapshot follows the welcome and any replay.
    for room in &conn.rooms {
        if let Room::Dashboard(r) = *room {
            conn.send_first_dashboard(r).await;
        }
    }
    // What the client sent before its welcome, in order; replies queue
    // behind the welcome and the replay. (A close among them ends it.)
    for message in early {
        if greeted && conn.receive(message).await.is_some() {
            greeted = false;
        }
    }
    Some(Ready {
        conn,
        counted,
        greeted,
    })
}

/// A turn (admission) by `deadline`, watching the socket meanwhile; else
/// the handshake ends here (`Err`, what `handshake` returns): refused with
/// `TRY_AGAIN_LATER`, or its client gone.
async fn take_turn(
    gateway: &Gateway,
    ws: &mut Ws,
    early: &mut Vec<Message>,
    deadline: Instant,
    metrics: &Metrics,
) -> Result<super::admission::Turn, Option<Ready>> {
    let wait = deadline.saturating_duration_since(Instant::now());
    match unless_gone(ws, early, gateway.admission.turn(wait)).await {
        Err(code) => Err(closed_early(ws, code, metrics).await),
        Ok(Err(busy)) => {
            metrics.handshake_shed("busy");
            let why = busy.reason();
            Err(refuse(ws, close::TRY_AGAIN_LATER, &why).await)
        }
        Ok(Ok(turn)) => Ok(turn),
    }
}

/// Runs `work` while watching the socket, so a client that gives up (closes
/// or drops its socket) stops costing anything at once. Frames it sends
/// meanwhile are kept in `early` (up to [`EARLY_FRAMES`]). `Err(code)`: the
/// peer is gone (0) or sent a frame over the limit.
async fn unless_gone<T>(
    ws: &mut Ws,
    early: &mut Vec<Message>,
    work: impl std::future::Future<Output = T>,
) -> Result<T, u16> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            incoming = ws.next(), if early.len() < EARLY_FRAMES => match incoming {
                None | Some(Ok(Message::Close(_))) => return Err(0),
                Some(Err(e)) => return Err(read_error_code(&e)),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(message)) => early.push(message),
            },
            done = &mut work => return Ok(done),
        }
    }
}

/// The peer left (code 0) or broke the frame limit while its handshake
/// waited; counted as work the hub did not do.
async fn closed_early<T>(ws: &mut Ws, code: u16, metrics: &Metrics) -> Option<T> {
    if code == 0 {
        metrics.handshake_shed("gone");
        return None;
    }
    refuse(ws, code, "frame too big").await
}

impl Connection {
    /// The main loop; returns the close code to send (0: none, peer gone).
    ///
    /// Queued frames go out before anything else is looked at, all that
    /// wait in one write. With a coalescing window, a write that comes
    /// sooner than the window after the last one waits for it, so frames
    /// arriving in between leave together; the first frame after a quiet
    /// spell goes at once.
    async fn serve(&mut self, ws: &mut Ws) -> u16 {
        let gateway = self.gateway.clone();
        let settings = &gateway.settings;
        let session = self.session.clone();
        let mut last_heard = Instant::now();
        let shutdown = self.gateway.shutdown.clone();
        let shutdown = shutdown.cancelled();
        tokio::pin!(shutdown);
        let mut revocations = self.state.revoked.subscribe();
        // A revocation taken in after the hello's check but before this
        // subscription (while the welcome and a first dashboard were being
        // made) would wake nobody: the first turn looks once anyway.
        revocations.mark_changed();
        // One timer for the next heartbeat and the token's expiry, whichever
        // comes first: every idle session holds its timers.
        let mut expires_at = self.caller.expires_at;
        let mut expiry = self.deadline(expires_at);
        let mut next_beat = Instant::now() + settings.heartbeat_interval;
        let timer = tokio::time::sleep_until(next_beat.min(expiry));
        tokio::pin!(timer);
        // When the next write may go (coalescing), and while frames wait
        // for it, the timer that ends the wait (made only then: an idle
        // session holds none).
        let mut next_write = Instant::now();
        let mut hold: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            if session.kill_code() != 0 {
                return session.kill_code();
            }
            let holding = hold.is_some();
            if !holding && session.has_frames() {
                let now = Instant::now();
                if now < next_write {
                    hold = Some(Box::pin(tokio::time::sleep_until(next_write)));
                    continue;
                } else {
                    // Most writes end at once (the socket takes the
                    // frames): tried first without a box or a wait. A no-op
                    // waker does for the try, as a write the socket does not
                    // take at once is polled again straight away, with the
                    // task's waker, by `finish_write`.
                    let metrics = &self.node.metrics;
                    let first = {
                        let frames = session.take();
                        let batch = Batch::of(&frames);
                        let mut frames = frames.into_iter();
                        let mut cx = Context::from_waker(Waker::noop());
                        match write_frames(ws, &mut frames, &mut cx) {
                            Poll::Ready(result) => Ok(batch.ended(result, metrics)),
                            // Boxed (as is a received frame's handling): what
                            // a write or a command holds while it waits is
                            // not every idle session's to carry.
                            Poll::Pending => {
                                Err(Box::pin(finish_write(ws, &session, frames, batch, metrics)))
                            }
                        }
                    };
                    let sent = match first {
                        Ok(sent) => sent,
                        Err(write) => tokio::select! {
                            r = write => r,
                            _ = &mut shutdown => return close::SERVICE_RESTART,
                        },
                    };
                    match sent {
                        Written::Done => next_write = Instant::now() + settings.coalesce,
                        Written::Killed(code) => return code,
                        Written::Gone => return 0,
                    }
                    continue;
                }
            }
            if self.caller.expires_at != expires_at {
                // `auth.refresh` gave the socket a new token.
                expires_at = self.caller.expires_at;
                expiry = self.deadline(expires_at);
                timer.as_mut().reset(next_beat.min(expiry));
            }
            tokio::select! {
                biased;
                // A new frame or the kick: the top of the loop looks.
                _ = session.rung(), if !holding => {}
                _ = async { if let Some(h) = hold.as_mut() { h.await } }, if holding => hold = None,
                _ = &mut shutdown => return close::SERVICE_RESTART,
                Ok(()) = revocations.changed() => {
                    if !self.state.revoked.admits(&self.caller) {
                        // What the change that ended the session announced
                        // (the order closed, the table cleared) is already
                        // queued: it goes out first, briefly.
                        let flush = async {
                            for frame in session.take() {
                                ws.feed(Message::Text(frame)).await?;
                            }
                            ws.flush().await
                        };
                        // Boxed: a rare path, kept out of every session's state.
                        let wait = std::time::Duration::from_secs(1);
                        let _ = Box::pin(tokio::time::timeout(wait, flush)).await;
                        return close::SESSION_REVOKED;
                    }
                }
                // Before reading: a client that never stops sending must
                // still see its token expire.
                _ = &mut timer => {
                    let now = Instant::now();
                    if now >= expiry {
                        return close::TOKEN_EXPIRED;
                    }
                    if now >= next_beat {
                        if last_heard.elapsed() > settings.heartbeat_timeout() {
                            return close::HEARTBEAT_TIMEOUT;
                        }
                        if ws.send(Message::Ping(Default::default())).await.is_err() {
                            return 0;
                        }
                        // A beat missed (a busy instance) is not made up.
                        next_beat = (next_beat + settings.heartbeat_interval)
                            .max(now + settings.heartbeat_interval / 2);
                    }
                    timer.as_mut().reset(next_beat.min(expiry));
                }
                incoming = ws.next() => {
                    let message = match incoming {
                        None => return 0,
                        Some(Err(e)) => return read_error_code(&e),
                        Some(Ok(message)) => message,
                    };
                    last_heard = Instant::now();
                    if let Some(code) = Box::pin(self.receive(message)).await {
                        return code;
                    }
                }
            }
        }
    }

    /// When the session's token, expiring at `expires_at` (ms, the hub's
    /// clock), runs out.
    fn deadline(&self, expires_at: i64) -> Instant {
        const YEAR_MS: i64 = 365 * 86_400_000;
        let left = expires_at
            .saturating_sub(self.state.clock.now_ms())
            .clamp(0, YEAR_MS);
        Instant::now() + std::time::Duration::from_millis(left as u64)
    }

    /// Handles one inbound frame; `Some(code)` ends the session.
    async fn receive(&mut self, message: Message) -> Option<u16> {
        let reply = match message {
            Message::Text(body) => {
                if let Some(refused) = self.rate_limited() {
                    refused
                } else {
                    // A command's future (a placement, a snapshot) is large:
                    // the loop boxes this one, so an idle session does not
                    // carry its space.
                    super::commands::run(self, body.as_str()).await
                }
            }
            Message::Binary(_) => match self.rate_limited() {
                Some(refused) => refused,
                None => error_frame(
                    None,
                    crate::error::ApiError::new(
                        restohub_protocol::ErrorCode::UnsupportedMediaType,
                        "binary frames are not supported; send JSON text frames",
                    ),
                ),
            },
            Message::Close(_) => return Some(0),
            Message::Ping(_) | Message::Pong(_) => return None,
        };
        if self.limited_in_a_row > self.gateway.settings.command_burst.get() * 4 {
            return Some(close::RATE_LIMITED);
        }
        self.session.push(Utf8Bytes::from(reply), &self.node.stats);
        None
    }

    /// An error frame when over the command rate, else `None`.
    fn rate_limited(&mut self) -> Option<String> {
        if self.limiter.check().is_ok() {
            self.limited_in_a_row = 0;
            return None;
        }
        self.limited_in_a_row += 1;
        Some(error_frame(
            None,
            crate::error::ApiError::new(
                restohub_protocol::ErrorCode::RateLimited,
                "too many commands; slow down",
            ),
        ))
    }
}

/// Waits for the first text frame and parses it as `hello`.
/// `Err(None)`: the peer went away.
async fn read_hello(ws: &mut Ws) -> Result<Hello, Option<Refusal>> {
    loop {
        match ws.next().await {
            None | Some(Ok(Message::Close(_))) => return Err(None),
            Some(Err(e)) => {
                let code = read_error_code(&e);
                return Err((code != 0).then_some(Refusal(code, "frame too big")));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                return Err(Some(Refusal(
                    close::PROTOCOL_VIOLATION,
                    "the first frame must be a hello",
                )))
            }
            Some(Ok(Message::Text(body))) => {
                return match serde_json::from_str::<ClientMessage>(body.as_str()) {
                    Ok(ClientMessage::Hello(hello)) => Ok(hello),
                    _ => Err(Some(Refusal(
                        close::PROTOCOL_VIOLATION,
                        "the first frame must be a hello",
                    ))),
                };
            }
        }
    }
}

/// Checks the token (from hello or the upgrade header) without the
/// database: signature, expiry, revocation, MFA, restaurant.
fn identify(
    state: &AppState,
    hello: &Hello,
    header_token: Option<String>,
) -> Result<Caller, Refusal> {
    let token = hello.token.clone().or(header_token).ok_or(Refusal(
        close::UNAUTHORIZED,
        "no token in hello or Authorization header",
    ))?;
    let caller = crate::app::revocations::caller(state, &token).map_err(|_| {
        Refusal(
            close::UNAUTHORIZED,
            "invalid, expired or revoked token; refresh or log in",
        )
    })?;
    if caller.mfa_setup {
        return Err(Refusal(close::FORBIDDEN, "enrol in MFA first"));
    }
    if hello
        .restaurant_id
        .is_some_and(|r| r != caller.restaurant_id)
    {
        return Err(Refusal(
            close::FORBIDDEN,
            "the token is for another restaurant",
        ));
    }
    Ok(caller)
}

/// Checks that the caller's account or table still exists; who it is, as
/// others will see them. (Connections are counted under `caller.subject`:
/// the account, or the guest session.)
async fn member(state: &AppState, caller: &Caller) -> Result<Member, Refusal> {
    let name = match crate::app::sessions::connecting(state, caller).await {
        Ok(name) => name,
        Err(e) if matches!(e, ApiError::Internal(_)) || e.code() == ErrorCode::Unavailable => {
            return Err(Refusal(
                close::SERVICE_RESTART,
                "database unavailable; retry",
            ))
        }
        Err(ApiError::Client {
            code: ErrorCode::NotFound,
            ..
        }) => return Err(Refusal(close::UNAUTHORIZED, "the table no longer exists")),
        Err(_) => return Err(Refusal(close::UNAUTHORIZED, "the account no longer exists")),
    };
    Ok(Member {
        session_id: String::new(),
        role: caller.role,
        user_id: caller.user_id,
        name,
        table_id: caller.table_id,
    })
}

/// The close code for a failed read, from the error's type: a frame over
/// the size limit (a capacity error) is `MESSAGE_TOO_BIG`; anything else
/// means the peer is gone (0: no close frame).
fn read_error_code(e: &axum::Error) -> u16 {
    let cause = std::error::Error::source(e).and_then(|c| c.downcast_ref::<tungstenite::Error>());
    match cause {
        Some(tungstenite::Error::Capacity(_)) => close::MESSAGE_TOO_BIG,
        _ => 0,
    }
}

fn close_reason(code: u16) -> &'static str {
    close::ALL
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("closing", |(_, name)| name)
}

fn text(message: &ServerMessage) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(message).unwrap_or_default(),
    ))
}

/// How a write of the queued frames ended.
enum Written {
    Done,
    /// The session was kicked (a slow consumer) while the write waited on
    /// the client: end with this code.
    Killed(u16),
    /// The client is gone.
    Gone,
}

/// Feeds `frames` to the socket, oldest first, then flushes them with one
/// write: a session that falls behind (a burst, a busy instance, a
/// coalescing window) catches up in one write instead of one per frame.
/// `Pending` when the socket takes no more for now; what it has not taken
/// stays in `frames` (fed frames wait in the socket's buffer) and the next
/// call goes on from there.
fn write_frames(
    ws: &mut Ws,
    frames: &mut Unsent,
    cx: &mut Context<'_>,
) -> Poll<Result<(), axum::Error>> {
    while !frames.as_slice().is_empty() {
        std::task::ready!(ws.poll_ready_unpin(cx))?;
        if let Some(frame) = frames.next() {
            ws.start_send_unpin(Message::Text(frame))?;
        }
    }
    ws.poll_flush_unpin(cx)
}

/// Frames of a write not yet fed to the socket, oldest first.
type Unsent = <Frames as IntoIterator>::IntoIter;

/// A write's frames, as the metrics count them.
#[derive(Clone, Copy)]
struct Batch {
    frames: u64,
    bytes: u64,
}

impl Batch {
    fn of(frames: &Frames) -> Batch {
        Batch {
            frames: frames.len() as u64,
            bytes: frames.iter().map(|f| f.len() as u64).sum(),
        }
    }

    /// Counted once written: a batch the client never took is not "sent".
    fn ended(self, result: Result<(), axum::Error>, metrics: &Metrics) -> Written {
        match result {
            Ok(()) => {
                metrics.frames_sent(self.frames, self.bytes);
                Written::Done
            }
            Err(_) => Written::Gone,
        }
    }
}

/// Ends a write the socket did not take at once ([`write_frames`]). A
/// client that stops reading blocks it; the kick that a full queue then
/// causes still ends it.
async fn finish_write(
    ws: &mut Ws,
    session: &SessionHandle,
    mut frames: Unsent,
    batch: Batch,
    metrics: &Metrics,
) -> Written {
    let write = std::future::poll_fn(|cx| write_frames(ws, &mut frames, cx));
    tokio::pin!(write);
    let result = loop {
        tokio::select! {
            biased;
            written = &mut write => break written,
            // Rung by frames queued meanwhile (they wait for the next write)
            // or by the kick.
            _ = session.rung() => {
                if session.kill_code() != 0 {
                    return Written::Killed(session.kill_code());
                }
            }
        }
    };
    batch.ended(result, metrics)
}

/// The closing handshake: send a close frame (code 0: just answer the
/// peer's), then read and discard until the peer's close or a deadline.
/// Dropping the socket with unread input would reset the connection and
/// could destroy the close frame before the client reads it.
async fn close_with(ws: &mut Ws, code: u16, reason: &str) {
    let deadline = std::time::Duration::from_secs(2);
    let _ = tokio::time::timeout(deadline, async {
        if code != 0 {
            let frame = Message::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from(reason),
            }));
            if ws.send(frame).await.is_err() {
                return;
            }
        }
        let _ = ws.flush().await;
        while let Some(Ok(message)) = ws.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
