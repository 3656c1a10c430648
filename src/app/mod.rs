//! The application layer: the one place where each use case is decided.
//!
//! Every use case, whichever edge asks for it (REST in `http/`, WebSocket
//! commands in `gateway/`), runs the same function here, in the same
//! rhythm: who may do it ([`access`], one table of roles × operations),
//! validation, the decision, one transaction in storage with the events it
//! appends, and their publication. The edges only parse, call and reply, so
//! they cannot disagree.
//!
//! This layer never imports `http` or `gateway`; storage below it runs
//! queries and decides nothing.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod checks;
pub mod courses;
pub mod credentials;
pub mod dashboard;
pub mod expo;
pub mod floor;
pub mod kitchen;
pub mod menu;
pub mod mfa;
pub mod modifiers;
pub mod orders;
pub mod revocations;
pub mod rooms;
pub mod screens;
pub mod sessions;
pub mod staff;
pub mod stations;
pub mod timers;

pub use access::Operation;
