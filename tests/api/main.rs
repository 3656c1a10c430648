//! Black-box tests: a real hub on a real socket, over real HTTP, on SQLite
//! and on PostgreSQL. One test binary so it links once.

mod event_schema;
mod support;
mod ws_client;

mod audit;
mod auth;
mod balancer;
mod backup;
mod browser;
mod check_config;
mod checks;
mod cli;
mod connections;
mod corrupt;
mod courses;
mod dashboard;
mod db_outage;
mod floor;
pub mod health;
mod kitchen;
mod lockout;
mod metrics;
mod mfa;
mod modifiers;
mod money;
mod orders;
mod parity;
mod pg_backup;
mod placement;
mod readiness;
mod resources;
mod resume;
mod revocation;
mod roles;
mod scale;
mod screens;
mod storage;
mod tenancy;
mod timers;
mod tls;
mod validation;
mod write_limits;
mod ws_delivery;
mod ws_protection;
mod ws_rooms;
mod ws_session;
