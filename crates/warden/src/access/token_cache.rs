//! Who recently used which API token, so that a client's every request does not read the
//! database to learn who is calling. An entry lives a few seconds: a token revoked or a user
//! disabled outside this process (by another server, or in the database itself) is refused
//! within that time, and anything in this process that changes who a token stands for calls
//! [`TokenCache::forget_all`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Actor;

/// How long a token's caller is taken on trust before the database is asked again.
pub const TOKEN_TRUST: Duration = Duration::from_secs(5);
/// The most tokens remembered; past it, the lapsed entries go, and if none had, all of them.
const MAX_TOKENS: usize = 4096;

#[derive(Default)]
pub struct TokenCache {
    /// By the token's hash (never the token itself): who it stands for, and since when.
    entries: Mutex<HashMap<String, (Actor, Instant)>>,
}

impl TokenCache {
    /// The caller behind a token hash, if it was looked up within [`TOKEN_TRUST`] of `now`.
    pub fn get(&self, token_hash: &str, now: Instant) -> Option<Actor> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(token_hash)
            .filter(|(_, at)| now.saturating_duration_since(*at) < TOKEN_TRUST)
            .map(|(actor, _)| actor.clone())
    }

    /// Remembers who a token stood for when the database was asked at `at`.
    pub fn put(&self, token_hash: String, actor: Actor, at: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_TOKENS && !entries.contains_key(&token_hash) {
            entries.retain(|_, (_, seen)| at.saturating_duration_since(*seen) < TOKEN_TRUST);
            if entries.len() >= MAX_TOKENS {
                entries.clear();
            }
        }
        entries.insert(token_hash, (actor, at));
    }

    /// Forgets every token, for changes to tokens or users made in this process.
    pub fn forget_all(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    fn actor(id: i64) -> Actor {
        Actor {
            user_id: id,
            username: format!("user-{id}"),
            role: Role::Specialist,
            teams: vec![],
        }
    }

    #[test]
    fn a_token_is_trusted_for_a_few_seconds_then_looked_up_again() {
        let cache = TokenCache::default();
        let t0 = Instant::now();
        assert!(cache.get("h", t0).is_none());
        cache.put("h".into(), actor(1), t0);
        assert_eq!(
            cache.get("h", t0 + Duration::from_secs(1)).unwrap().user_id,
            1
        );
        assert!(cache.get("h", t0 + TOKEN_TRUST).is_none());
        assert!(cache.get("other", t0).is_none());
    }

    #[test]
    fn forgetting_makes_every_token_be_looked_up_again() {
        let cache = TokenCache::default();
        let t0 = Instant::now();
        cache.put("h".into(), actor(1), t0);
        cache.forget_all();
        assert!(cache.get("h", t0).is_none());
    }

    #[test]
    fn a_full_cache_drops_the_lapsed_entries_first() {
        let cache = TokenCache::default();
        let t0 = Instant::now();
        let later = t0 + TOKEN_TRUST;
        cache.put("fresh".into(), actor(0), later);
        for i in 1..MAX_TOKENS {
            cache.put(format!("old-{i}"), actor(i as i64), t0);
        }
        cache.put("new".into(), actor(9), later);
        assert!(cache.get("fresh", later).is_some());
        assert!(cache.get("new", later).is_some());
        assert_eq!(cache.entries.lock().unwrap().len(), 2);
    }
}
