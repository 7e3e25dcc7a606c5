//! The desk: what every operation needs (database, configuration, clock), shared by the HTTP
//! server, the CLI and the background workers.

use std::sync::Arc;

use crate::access::token_cache::TokenCache;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::intake::GroupCommit;
use crate::matching::Banks;
use crate::review::ClaimCommit;
use crate::store::Db;

#[derive(Clone)]
pub struct Desk {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    /// Intake's committers, shared by every clone of the desk.
    pub intake: GroupCommit,
    /// Claims' committers, likewise.
    pub claims: ClaimCommit,
    /// The banks of known media in memory, shared likewise.
    pub banks: Arc<Banks>,
    /// Recent API token lookups, shared likewise.
    pub tokens: Arc<TokenCache>,
}

impl Desk {
    pub fn new(db: Db, config: Config) -> Self {
        Self {
            db,
            config: Arc::new(config),
            clock: Arc::new(SystemClock),
            intake: GroupCommit::default(),
            claims: ClaimCommit::default(),
            banks: Arc::default(),
            tokens: Arc::default(),
        }
    }

    /// The same desk without any group committers of its own, for the committers themselves: a
    /// committer holding a sender would keep itself (and the others) alive for ever.
    pub fn for_committers(&self) -> Self {
        Self {
            intake: GroupCommit::default(),
            claims: ClaimCommit::default(),
            ..self.clone()
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The time, to the millisecond: the precision both engines store, so a case rebuilt from its
    /// event log is identical to the case as it was saved.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        crate::clock::from_millis(crate::clock::to_millis(self.clock.now()))
    }
}
