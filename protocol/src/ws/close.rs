//! WebSocket close codes the hub uses, and what a client should do.

/// Server restarting, or a replay it could not finish: reconnect (to any
/// instance) with `since`.
pub const SERVICE_RESTART: u16 = 1012;
/// The instance is busy with other handshakes (a reconnect storm): try
/// again after the `retry_after_ms=<ms>` the close reason gives, with
/// jitter, to this or any instance.
pub const TRY_AGAIN_LATER: u16 = 1013;
/// A frame over the size limit. Do not resend it.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// The first frame was not a valid `hello`, or the client broke the protocol.
pub const PROTOCOL_VIOLATION: u16 = 4000;
/// Bad, expired or revoked token, or its account/table no longer exists.
/// Get a new token before reconnecting.
pub const UNAUTHORIZED: u16 = 4001;
/// The session was ended while open: logout, a role or password change, a
/// removed account, or (guests) the table's visit is over. Refresh (staff)
/// or log in / scan the table's code again before reconnecting.
pub const SESSION_REVOKED: u16 = 4002;
/// The access token expired while the socket was open and no `auth.refresh`
/// replaced it. Refresh it, then reconnect with `since`.
pub const TOKEN_EXPIRED: u16 = 4004;
/// The token is valid but not for what was asked (e.g. another restaurant).
pub const FORBIDDEN: u16 = 4003;
/// No `hello` within the hello timeout (5 s by default).
pub const HELLO_TIMEOUT: u16 = 4008;
/// Too many commands (the client kept sending while rate limited), or too
/// many resumes at once for its account or address: back off, reconnect.
pub const RATE_LIMITED: u16 = 4029;
/// The client did not read fast enough; reconnect with `since` to resume.
pub const SLOW_CONSUMER: u16 = 4030;
/// Too many connections for this account (or this instance).
pub const TOO_MANY_CONNECTIONS: u16 = 4031;
/// The peer stopped answering heartbeats.
pub const HEARTBEAT_TIMEOUT: u16 = 4032;

/// Every code with its name, for documentation and tests.
pub const ALL: [(u16, &str); 13] = [
    (SERVICE_RESTART, "SERVICE_RESTART"),
    (TRY_AGAIN_LATER, "TRY_AGAIN_LATER"),
    (MESSAGE_TOO_BIG, "MESSAGE_TOO_BIG"),
    (PROTOCOL_VIOLATION, "PROTOCOL_VIOLATION"),
    (UNAUTHORIZED, "UNAUTHORIZED"),
    (SESSION_REVOKED, "SESSION_REVOKED"),
    (FORBIDDEN, "FORBIDDEN"),
    (TOKEN_EXPIRED, "TOKEN_EXPIRED"),
    (HELLO_TIMEOUT, "HELLO_TIMEOUT"),
    (RATE_LIMITED, "RATE_LIMITED"),
    (SLOW_CONSUMER, "SLOW_CONSUMER"),
    (TOO_MANY_CONNECTIONS, "TOO_MANY_CONNECTIONS"),
    (HEARTBEAT_TIMEOUT, "HEARTBEAT_TIMEOUT"),
];
