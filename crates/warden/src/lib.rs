//! Warden: the escalations desk of a Trust & Safety team.
//!
//! The crate is laid out along the life of a case: `intake` takes reports in, `triage` decides
//! priority, deadlines and queue, `review` is the work on a case up to its decision. `domain` holds
//! the pure types and rules every stage shares; `store` persists the event log and its projections
//! on SQLite or PostgreSQL; `web` is the HTTP edge.

pub mod access;
pub mod alerts;
pub mod analytics;
pub mod appeals;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod demo_media;
pub mod desk;
pub mod domain;
pub mod enforcement;
pub mod error;
pub mod group_commit;
pub mod intake;
pub mod matching;
pub mod policies;
pub mod replies;
pub mod review;
pub mod store;
pub mod triage;
pub mod web;

pub use error::{Error, FieldError};
