//! The restohub wire contract.
//!
//! Every message a client and the hub exchange is defined here, together with
//! every event kind with its data ([`events`]) and the stable error codes
//! shared by the REST API and the WebSocket gateway. Clients in other
//! languages are written from this crate's types, the JSON Schema generated
//! from them, and `PROTOCOL.md`.
//!
//! This crate holds data shapes only: no I/O, no server logic.

pub mod api;
pub mod asyncapi;
pub mod error;
pub mod events;
pub mod openapi;
pub mod page;
pub mod role;
pub mod schema;
pub mod time;
pub mod ws;

pub use error::{ErrorBody, ErrorCode, ErrorEnvelope};
pub use events::EventData;
pub use page::Page;
pub use role::Role;
pub use time::Timestamp;
