//! HTTP-level tests against a real server on a free loopback port. The same suite runs on SQLite
//! (default, a fresh file per test) and on PostgreSQL when WARDEN_TEST_POSTGRES_URL is set (a fresh
//! database per test).

mod harness;
mod receiver;

mod access;
mod access_matrix;
mod alerts;
mod analytics;
mod cli;
mod concurrency;
mod console;
mod delivery;
mod demo;
mod enforcement;
mod faults;
mod intake;
mod kpis;
mod limits;
mod matching;
mod outbox_faults;
mod review;
mod search;
