//! Black-box tests: a real hub on a real socket, over real HTTP, on SQLite
//! and on PostgreSQL. One test binary so it links once.

mod event_schema;
mod support;
mod ws_client;

mod audit;
mod auth;
mod browser;
mod checks;
mod cli;
mod cluster;
mod connections;
mod corrupt;
mod courses;
mod dashboard;
mod db_outage;
mod floor;
pub mod health;
mod kitchen;
mod lockout;
mod mfa;
mod modifiers;
mod money;
mod orders;
mod parity;
mod placement;
mod resources;
mod resume;
mod revocation;
mod roles;
mod scale;
mod screens;
mod storage;
mod tenancy;
mod timers;
mod validation;
mod write_limits;
mod ws_delivery;
mod ws_protection;
mod ws_rooms;
mod ws_session;
