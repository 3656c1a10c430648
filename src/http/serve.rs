//! The HTTP server: accepts TCP connections and serves the router on each
//! with HTTP/1.1, bounding how long a client may keep a connection without
//! finishing a request, and shuts down gracefully.
//!
//! Two bounds, so that silent or trickling clients cannot hold sockets (and
//! file descriptors) forever:
//! - the header-read timeout (hyper's): a request's line and headers must be
//!   complete this long after the server starts waiting for them, whether
//!   they trickle in or never come;
//! - the idle timeout: while the server is waiting for the client (between
//!   requests, for a request's body, or for it to read a response), a
//!   connection on which no byte moves for this long is closed. A request
//!   being handled is never cut by it.
//!
//! Requests may be handled on another runtime than the one that accepts
//! and reads connections (`handlers`): the hub reads its connections on an
//! intake runtime of their own, so that a flood of new connections (a
//! reconnect storm) never queues ahead of the work that holds database
//! connections; WebSocket upgrades stay on the intake runtime, as does a
//! session until its hello is admitted (`crate::gateway`).
//!
//! A connection upgraded to a WebSocket leaves this module's care at the
//! upgrade: the gateway's heartbeat watches it from then on. Accept errors
//! (a full file-descriptor table included) never end the accept loop.

use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::header::UPGRADE;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::{AbortOnDropHandle, TaskTracker};
use tower::ServiceExt;

/// How long a connection may go without finishing a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

/// Descriptors kept back from client sockets for the process itself: the
/// runtime, logs, the listener, Redis, and new database connections (a
/// SQLite connection opens its file, journal and shared memory).
fn reserved_descriptors(db_connections: u32) -> u64 {
    64 + 4 * u64::from(db_connections)
}

/// How many client sockets (HTTP connections and the WebSockets upgraded
/// from them) may be open at once: the open-file limit less the reserve.
/// At the limit the hub stops accepting, so new clients wait in the
/// listen backlog while timeouts free sockets, and the database can still
/// open files; without it the sockets took every descriptor and requests
/// that reached the hub failed for want of a database connection.
pub fn socket_budget(db_connections: u32) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let open_files = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur
    } else {
        libc::RLIM_INFINITY
    };
    if open_files == libc::RLIM_INFINITY {
        return Semaphore::MAX_PERMITS;
    }
    let budget = open_files.saturating_sub(reserved_descriptors(db_connections));
    usize::try_from(budget)
        .unwrap_or(Semaphore::MAX_PERMITS)
        .clamp(1, Semaphore::MAX_PERMITS)
}

/// Serves `router` on `listener`, with at most `max_sockets` client
/// sockets open, until `shutdown` completes; then stops accepting, lets
/// requests in flight finish and closes idle connections. Requests other
/// than WebSocket upgrades are handled on `handlers` when given (a request
/// whose connection is dropped is aborted there as it would be here).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: ConnectionTimeouts,
    max_sockets: usize,
    handlers: Option<Handle>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let stop = CancellationToken::new();
    let connections = TaskTracker::new();
    let sockets = Arc::new(Semaphore::new(max_sockets));
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener, &sockets) => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((tcp, peer, socket)) => {
                connections.spawn(serve_connection(
                    tcp,
                    peer,
                    socket,
                    router.clone(),
                    timeouts,
                    handlers.clone(),
                    stop.clone(),
                ));
            }
            Err(e) => accept_failed(e).await,
        }
    }
    drop(listener);
    stop.cancel();
    connections.close();
    connections.wait().await;
}

/// The runtime a hub reads its connections on: accepts, HTTP parsing,
/// WebSocket upgrades and hellos, with half the cores' worth of threads
/// (at least one). Requests are handled, and admitted sessions run, on the
/// runtime the hub was started on. Stopped (its tasks dropped) when
/// dropped.
pub struct Intake(Option<tokio::runtime::Runtime>);

impl Intake {
    pub fn start() -> io::Result<Intake> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores.div_ceil(2))
            .thread_name("restohub-intake")
            .enable_all()
            .build()?;
        Ok(Intake(Some(runtime)))
    }

    /// Serves as [`serve`] does, `listener`'s connections read on the
    /// intake runtime and requests handled on the caller's.
    pub async fn serve(
        &self,
        listener: TcpListener,
        router: Router,
        timeouts: ConnectionTimeouts,
        max_sockets: usize,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let Some(runtime) = &self.0 else {
            unreachable!("an intake has its runtime until dropped")
        };
        let handlers = Handle::current();
        // Registered again with the intake's reactor: its readiness is
        // then seen by the threads that accept.
        let listener = listener.into_std()?;
        let serving = runtime.spawn(async move {
            let listener = TcpListener::from_std(listener)?;
            serve(
                listener,
                router,
                timeouts,
                max_sockets,
                Some(handlers),
                shutdown,
            )
            .await;
            Ok(())
        });
        AbortOnDropHandle::new(serving)
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)))
    }
}

impl Drop for Intake {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The next connection, once a socket may be opened.
async fn accept(
    listener: &TcpListener,
    sockets: &Arc<Semaphore>,
) -> io::Result<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let socket = sockets
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| io::Error::other("the socket budget is closed"))?;
    let (tcp, peer) = listener.accept().await?;
    Ok((tcp, peer, socket))
}

/// A failed accept ends nothing. A connection that died in the backlog is
/// skipped; out of file descriptors or memory, the loop pauses briefly (the
/// idle and header timeouts are freeing descriptors meanwhile) instead of
/// spinning on the same error.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %e, "cannot accept a connection; retrying shortly");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    socket: OwnedSemaphorePermit,
    router: Router,
    timeouts: ConnectionTimeouts,
    handlers: Option<Handle>,
    stop: CancellationToken,
) {
    // Small frames (acks, events) go out at once: without TCP_NODELAY a
    // frame written behind another waits for the peer's delayed ACK (40 ms
    // on Linux).
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        io: tcp,
        activity: activity.clone(),
        _socket: socket,
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let request = activity.begin_request();
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(ConnectInfo(peer));
            let body = Body::new(ClientPaced {
                inner: body,
                activity: activity.clone(),
            });
            let upgrade = parts.headers.contains_key(UPGRADE);
            let reply = router.clone().oneshot(Request::from_parts(parts, body));
            let handlers = handlers.clone().filter(|_| !upgrade);
            async move {
                let res = match handlers {
                    Some(handlers) => AbortOnDropHandle::new(handlers.spawn(reply))
                        .await
                        .unwrap_or_else(|e| Ok(handler_failed(e))),
                    None => reply.await,
                };
                drop(request);
                res
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let mut conn = pin!(builder.serve_connection(io, service).with_upgrades());
    let mut draining = false;
    loop {
        // Asleep until the connection could first have been idle too long.
        let check = if activity.waiting_on_client() {
            activity.last_moved() + timeouts.idle
        } else {
            Instant::now() + timeouts.idle
        };
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = stop.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(check) => {
                if activity.waiting_on_client()
                    && activity.last_moved().elapsed() >= timeouts.idle
                {
                    tracing::debug!(%peer, "closing an idle connection");
                    return;
                }
            }
        }
    }
}

/// A request whose handler panicked (or whose runtime is shutting down):
/// a 500 with the stable error body, the connection kept.
fn handler_failed(e: tokio::task::JoinError) -> axum::response::Response {
    use axum::response::IntoResponse;
    let cause = anyhow::anyhow!("a request's handler failed: {e}");
    crate::error::ApiError::Internal(cause).into_response()
}

/// What one connection is doing, shared by its socket, its requests and
/// its watchdog.
struct Activity {
    born: Instant,
    /// Milliseconds after `born` when a byte last moved or a request ended.
    last_ms: AtomicU64,
    /// Requests being handled (at most one on HTTP/1.1).
    handling: AtomicUsize,
    /// The request being handled is waiting for more of its body.
    awaiting_body: AtomicBool,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            born: Instant::now(),
            last_ms: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
            awaiting_body: AtomicBool::new(false),
        }
    }

    fn moved(&self) {
        let ms = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last_moved(&self) -> Instant {
        self.born + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// True unless the hub itself is working on a request.
    fn waiting_on_client(&self) -> bool {
        self.handling.load(Ordering::Relaxed) == 0 || self.awaiting_body.load(Ordering::Relaxed)
    }

    fn begin_request(self: &Arc<Self>) -> Handling {
        self.handling.fetch_add(1, Ordering::Relaxed);
        Handling(self.clone())
    }
}

/// A request being handled; the idle clock restarts when it ends.
struct Handling(Arc<Activity>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
        self.0.moved();
    }
}

/// The socket, noting each time bytes move in either direction. It holds
/// its place in the socket budget for as long as it is open, past an
/// upgrade to a WebSocket too.
struct Watched {
    io: TcpStream,
    activity: Arc<Activity>,
    _socket: OwnedSemaphorePermit,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.moved();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.moved();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.moved();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A request body that marks the connection as waiting on the client while
/// the handler waits for more of it, so a body that stops arriving falls
/// under the idle timeout.
struct ClientPaced {
    inner: Incoming,
    activity: Arc<Activity>,
}

impl http_body::Body for ClientPaced {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        self.activity
            .awaiting_body
            .store(poll.is_pending(), Ordering::Relaxed);
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ClientPaced {
    fn drop(&mut self) {
        self.activity.awaiting_body.store(false, Ordering::Relaxed);
    }
}
