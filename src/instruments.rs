//! What one hub measures for Prometheus: the handles every layer counts
//! with, and the exposition `/metrics` renders.
//!
//! Each hub owns its own recorder (metrics-exporter-prometheus's, built
//! without installing it as the process's global recorder): tests run many
//! hubs in one process, and a global recorder would add every hub's figures
//! together. Handles are made once, here, and held by whoever counts; a
//! count on the hot path is one atomic add on a handle already in hand,
//! with no name lookup and no string formatted. Figures the hub already
//! keeps elsewhere (the node's session stats, the pools, the broker's
//! counters) are copied in when Prometheus scrapes, not counted twice.
//!
//! Labels are bounded sets (roles, event kinds, error codes, route
//! templates, status classes): never a restaurant, user or order id.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};
use restohub_protocol::events::EventData;
use restohub_protocol::{ErrorCode, Role};

use crate::clock::SharedClock;

const META: Metadata<'static> = Metadata::new("restohub", Level::INFO, None);

/// Commit → delivery: a frame queued within a few milliseconds is the
/// normal case on one instance; through Redis tens of milliseconds; the log
/// poller's catch-ups arrive after its interval (a second by default).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Roles in a fixed order, for per-role handles indexed without a lookup.
const ROLES: [Role; 6] = [
    Role::Owner,
    Role::Manager,
    Role::Waiter,
    Role::Chef,
    Role::Cashier,
    Role::Guest,
];

/// A database transaction measured on its own (see [`DbMeters`]).
#[derive(Debug, Clone, Copy)]
pub enum Transaction {
    PlaceOrder,
    ChangeOrder,
    ChangeCheck,
}

impl Transaction {
    fn label(self) -> &'static str {
        match self {
            Transaction::PlaceOrder => "place_order",
            Transaction::ChangeOrder => "change_order",
            Transaction::ChangeCheck => "change_check",
        }
    }
}

/// The transaction timers storage holds; inert until a hub gives it real
/// ones (a store opened by a command or a test measures nothing).
#[derive(Clone)]
pub struct DbMeters {
    place_order: Histogram,
    change_order: Histogram,
    change_check: Histogram,
}

impl Default for DbMeters {
    fn default() -> DbMeters {
        DbMeters {
            place_order: Histogram::noop(),
            change_order: Histogram::noop(),
            change_check: Histogram::noop(),
        }
    }
}

impl DbMeters {
    /// Records how long a transaction took, from `started` to now.
    pub fn took(&self, tx: Transaction, started: Instant) {
        let histogram = match tx {
            Transaction::PlaceOrder => &self.place_order,
            Transaction::ChangeOrder => &self.change_order,
            Transaction::ChangeCheck => &self.change_check,
        };
        histogram.record(started.elapsed());
    }
}

/// Figures read from elsewhere when Prometheus scrapes.
pub struct Scraped {
    pub ws_connections: usize,
    pub slow_consumers: u64,
    pub events_queued: u64,
    pub max_queue_depth: usize,
    pub dashboards_sent: u64,
    pub redis_publish_failures: u64,
    pub redis_resubscribes: u64,
    /// (pool, open connections, idle ones, most it may open)
    pub pools: Vec<(&'static str, u32, usize, u32)>,
    /// (dependency, up); a disabled one is left out.
    pub dependencies: Vec<(&'static str, bool)>,
}

pub struct Metrics {
    recorder: PrometheusRecorder,
    clock: SharedClock,
    started: Instant,
    sessions: [Gauge; ROLES.len()],
    frames_sent: Counter,
    writes: Counter,
    bytes_sent: Counter,
    resumes_replayed: Counter,
    resumes_resynced: Counter,
    handshakes_busy: Counter,
    handshakes_gone: Counter,
    delivery_latency: Histogram,
    catch_up_events: Counter,
    /// One per event kind of the protocol, made up front.
    committed: HashMap<&'static str, Counter>,
    db: DbMeters,
    // Copied in at scrape time.
    ws_connections: Gauge,
    slow_consumers: Counter,
    events_queued: Counter,
    max_queue_depth: Gauge,
    dashboards_sent: Counter,
    redis_publish_failures: Counter,
    redis_resubscribes: Counter,
    uptime: Gauge,
}

impl Metrics {
    /// A fresh set of figures for one hub; `clock` is the hub's (event
    /// times are on it).
    pub fn new(clock: SharedClock) -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .unwrap_or_else(|_| unreachable!("the bucket list is not empty"))
            .build_recorder();
        describe(&recorder);
        let counter =
            |name: &'static str| recorder.register_counter(&Key::from_static_name(name), &META);
        let gauge =
            |name: &'static str| recorder.register_gauge(&Key::from_static_name(name), &META);
        let labelled = |name: &'static str, key: &'static str, value: &'static str| {
            Key::from_parts(name, vec![Label::new(key, value)])
        };
        let sessions = ROLES.map(|role| {
            recorder.register_gauge(
                &labelled("restohub_ws_sessions", "role", role.as_str()),
                &META,
            )
        });
        let resumes = |outcome| {
            recorder.register_counter(
                &labelled("restohub_ws_resumes_total", "outcome", outcome),
                &META,
            )
        };
        let shed = |reason| {
            recorder.register_counter(
                &labelled("restohub_ws_handshakes_shed_total", "reason", reason),
                &META,
            )
        };
        let transaction = |tx: Transaction| {
            recorder.register_histogram(
                &labelled("restohub_db_transaction_seconds", "op", tx.label()),
                &META,
            )
        };
        let committed = EventData::KINDS
            .iter()
            .map(|&kind| {
                let key = labelled("restohub_events_committed_total", "kind", kind);
                (kind, recorder.register_counter(&key, &META))
            })
            .collect();
        let build = Key::from_parts(
            "restohub_build_info",
            vec![Label::new("version", env!("CARGO_PKG_VERSION"))],
        );
        recorder.register_gauge(&build, &META).set(1.0);
        let start_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        gauge("restohub_start_time_seconds").set(start_time.as_secs_f64());
        Metrics {
            sessions,
            frames_sent: counter("restohub_ws_frames_sent_total"),
            writes: counter("restohub_ws_writes_total"),
            bytes_sent: counter("restohub_ws_bytes_sent_total"),
            resumes_replayed: resumes("replayed"),
            resumes_resynced: resumes("resync"),
            handshakes_busy: shed("busy"),
            handshakes_gone: shed("gone"),
            delivery_latency: recorder.register_histogram(
                &Key::from_static_name("restohub_delivery_latency_seconds"),
                &META,
            ),
            catch_up_events: counter("restohub_log_catchup_events_total"),
            committed,
            db: DbMeters {
                place_order: transaction(Transaction::PlaceOrder),
                change_order: transaction(Transaction::ChangeOrder),
                change_check: transaction(Transaction::ChangeCheck),
            },
            ws_connections: gauge("restohub_ws_connections"),
            slow_consumers: counter("restohub_ws_slow_consumers_total"),
            events_queued: counter("restohub_ws_events_queued_total"),
            max_queue_depth: gauge("restohub_ws_max_queue_depth"),
            dashboards_sent: counter("restohub_dashboard_snapshots_total"),
            redis_publish_failures: counter("restohub_redis_publish_failures_total"),
            redis_resubscribes: counter("restohub_redis_resubscribes_total"),
            uptime: gauge("restohub_uptime_seconds"),
            started: Instant::now(),
            clock,
            recorder,
        }
    }

    /// The transaction timers, for the store.
    pub fn db_meters(&self) -> DbMeters {
        self.db.clone()
    }

    pub fn session_opened(&self, role: Role) {
        self.sessions[role_index(role)].increment(1.0);
    }

    pub fn session_closed(&self, role: Role) {
        self.sessions[role_index(role)].decrement(1.0);
    }

    /// Frames written to a client's socket in one write, and their bytes.
    pub fn frames_sent(&self, frames: u64, bytes: u64) {
        self.writes.increment(1);
        self.frames_sent.increment(frames);
        self.bytes_sent.increment(bytes);
    }

    /// A hello with `since`: replayed from the log, or told to resync.
    pub fn resumed(&self, resync: bool) {
        if resync {
            self.resumes_resynced.increment(1);
        } else {
            self.resumes_replayed.increment(1);
        }
    }

    /// A handshake not served: refused as the instance was busy
    /// (`"busy"`), or its client left while it waited (`"gone"`).
    pub fn handshake_shed(&self, reason: &str) {
        match reason {
            "busy" => self.handshakes_busy.increment(1),
            _ => self.handshakes_gone.increment(1),
        }
    }

    /// An event committed at `at` (the hub's clock, ms) was queued to this
    /// instance's sessions now.
    pub fn delivered(&self, at: i64) {
        let ms = self.clock.now_ms().saturating_sub(at).max(0);
        self.delivery_latency
            .record(Duration::from_millis(u64::try_from(ms).unwrap_or(0)));
    }

    /// Events the log poller found that neither this instance's commits nor
    /// the broker had brought.
    pub fn caught_up(&self, events: u64) {
        self.catch_up_events.increment(events);
    }

    /// An event this instance committed, counted by kind.
    pub fn committed(&self, kind: &str) {
        if let Some(counter) = self.committed.get(kind) {
            counter.increment(1);
        }
    }

    /// An order placed (not a retry's duplicate), by source.
    pub fn order_placed(&self, source: &'static str) {
        let key = Key::from_parts(
            "restohub_orders_placed_total",
            vec![Label::new("source", source)],
        );
        self.recorder.register_counter(&key, &META).increment(1);
    }

    /// An order refused, by error code. Not the hot path: the handle is
    /// looked up per refusal.
    pub fn order_refused(&self, code: ErrorCode) {
        let key = Key::from_parts(
            "restohub_orders_refused_total",
            vec![Label::new("code", code.as_str())],
        );
        self.recorder.register_counter(&key, &META).increment(1);
    }

    /// One HTTP request answered: its method, route template (never the
    /// path itself: ids would make every order its own series) and status.
    pub fn http_request(&self, method: &axum::http::Method, route: &str, status: u16) {
        let method = match *method {
            axum::http::Method::GET => "GET",
            axum::http::Method::POST => "POST",
            axum::http::Method::PUT => "PUT",
            axum::http::Method::PATCH => "PATCH",
            axum::http::Method::DELETE => "DELETE",
            axum::http::Method::HEAD => "HEAD",
            axum::http::Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        let status = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        let key = Key::from_parts(
            "restohub_http_requests_total",
            vec![
                Label::new("method", method),
                Label::new("route", route.to_owned()),
                Label::new("status", status),
            ],
        );
        self.recorder.register_counter(&key, &META).increment(1);
    }

    /// Folds recorded latencies into their buckets; without it they pile up
    /// between scrapes (or forever, with no Prometheus scraping).
    pub fn upkeep(&self) {
        self.recorder.handle().run_upkeep();
    }

    /// The exposition, in the Prometheus text format, after copying in
    /// what was read from elsewhere.
    pub fn render(&self, scraped: &Scraped) -> String {
        self.ws_connections.set(scraped.ws_connections as f64);
        self.slow_consumers.absolute(scraped.slow_consumers);
        self.events_queued.absolute(scraped.events_queued);
        self.max_queue_depth.set(scraped.max_queue_depth as f64);
        self.dashboards_sent.absolute(scraped.dashboards_sent);
        self.redis_publish_failures
            .absolute(scraped.redis_publish_failures);
        self.redis_resubscribes.absolute(scraped.redis_resubscribes);
        self.uptime.set(self.started.elapsed().as_secs_f64());
        for &(pool, open, idle, max) in &scraped.pools {
            let gauge = |name: &'static str, extra: Option<(&'static str, &'static str)>| {
                let mut labels = vec![Label::new("pool", pool)];
                labels.extend(extra.map(|(k, v)| Label::new(k, v)));
                self.recorder
                    .register_gauge(&Key::from_parts(name, labels), &META)
            };
            let busy = (open as usize).saturating_sub(idle);
            gauge("restohub_db_pool_connections", Some(("state", "idle"))).set(idle as f64);
            gauge("restohub_db_pool_connections", Some(("state", "busy"))).set(busy as f64);
            gauge("restohub_db_pool_max_connections", None).set(f64::from(max));
        }
        for &(dependency, up) in &scraped.dependencies {
            let key = Key::from_parts(
                "restohub_dependency_up",
                vec![Label::new("dependency", dependency)],
            );
            let value = if up { 1.0 } else { 0.0 };
            self.recorder.register_gauge(&key, &META).set(value);
        }
        self.recorder.handle().render()
    }
}

fn role_index(role: Role) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap_or(0)
}

/// Every metric the hub exposes, with its help text (docs/OPERATIONS.md
/// says more, and what to do when its alert fires).
pub const DESCRIPTIONS: &[(&str, &str)] = &[
    ("restohub_build_info", "The running version (always 1)."),
    ("restohub_start_time_seconds", "When this hub started, Unix time."),
    ("restohub_uptime_seconds", "Seconds since this hub started."),
    ("restohub_ws_connections", "Open WebSocket connections, including those still in their handshake."),
    ("restohub_ws_sessions", "Authenticated WebSocket sessions, by role."),
    ("restohub_ws_frames_sent_total", "WebSocket frames written to clients from their sessions' queues."),
    ("restohub_ws_bytes_sent_total", "Bytes of those frames (the payloads)."),
    ("restohub_ws_writes_total", "Writes of queued frames to clients' sockets (frames per write = frames / writes)."),
    ("restohub_ws_events_queued_total", "Event frames queued to sessions (one per recipient)."),
    ("restohub_ws_slow_consumers_total", "Sessions cut off because their outbound queue was full."),
    ("restohub_ws_max_queue_depth", "The most frames ever waiting in one session's queue."),
    ("restohub_ws_resumes_total", "Hellos with since: replayed from the log, or told to resync."),
    ("restohub_ws_handshakes_shed_total", "Handshakes not served: refused with TRY_AGAIN_LATER (busy), or their client left while they waited (gone)."),
    ("restohub_dashboard_snapshots_total", "Dashboard snapshots sent (once per session)."),
    ("restohub_delivery_latency_seconds", "From an event's commit time to its frames being queued to this instance's sessions."),
    ("restohub_log_catchup_events_total", "Events the log poller found that no commit here nor the broker had delivered."),
    ("restohub_events_committed_total", "Events committed by this instance, by kind."),
    ("restohub_orders_placed_total", "Orders placed (retries' duplicates not counted), by source."),
    ("restohub_orders_refused_total", "Order placements refused, by error code."),
    ("restohub_db_transaction_seconds", "Duration of the main write transactions, by operation."),
    ("restohub_db_pool_connections", "Database pool connections, by pool and state (idle or busy)."),
    ("restohub_db_pool_max_connections", "The most connections each pool may open."),
    ("restohub_dependency_up", "Whether a dependency answered at the last scrape (1) or not (0)."),
    ("restohub_redis_publish_failures_total", "Batches of events that could not be published to Redis (other instances read them from the log)."),
    ("restohub_redis_resubscribes_total", "Times the Redis subscription was lost and made again."),
    ("restohub_http_requests_total", "HTTP requests answered, by method, route template and status class."),
];

fn describe(recorder: &PrometheusRecorder) {
    for &(name, help) in DESCRIPTIONS {
        let unit = name.ends_with("_seconds").then_some(Unit::Seconds);
        let (name, help) = (metrics::KeyName::from(name), help.into());
        if name.as_str().ends_with("_total") {
            recorder.describe_counter(name, unit, help);
        } else if name.as_str().ends_with("_seconds")
            && !name.as_str().ends_with("start_time_seconds")
            && !name.as_str().ends_with("uptime_seconds")
        {
            recorder.describe_histogram(name, unit, help);
        } else {
            recorder.describe_gauge(name, unit, help);
        }
    }
}
