//! The banks' hashes in memory: one exact index over every entry of every bank, so a lookup is
//! one search whatever the number of banks. The database stays the record; each server's index
//! follows it, at once for its own changes and by polling for other servers'.

use std::collections::HashMap;
use std::sync::RwLock;

use pdq::{Hash256, HashIndex};

use super::MAX_THRESHOLD;
use crate::domain::enforcement::ActionKind;

/// What matching needs of a bank: for the lookup, and for the action a match takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankRule {
    pub name: String,
    pub threshold: u32,
    pub enabled: bool,
    pub auto_action: Option<ActionKind>,
    /// The policy id the bank's media was confirmed under.
    pub policy: String,
}

/// An entry as the index follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryState {
    pub id: i64,
    pub bank_id: i64,
    pub hash: Hash256,
    /// Enabled and not removed: the entry matches.
    pub live: bool,
    pub changed_at: i64,
}

/// A bank entry within its bank's threshold of a looked-up hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub bank_id: i64,
    pub bank: String,
    pub entry_id: i64,
    pub distance: u32,
}

/// The index's position of each entry, by entry id. Ids are dense (the database numbers them one
/// after another), so a vector of four bytes an id costs less than a map; an id far beyond the
/// others (a sequence moved on by hand) goes to a map instead of growing the vector to it.
#[derive(Default)]
struct Positions {
    dense: Vec<u32>,
    sparse: HashMap<i64, u32>,
}

impl Positions {
    const NONE: u32 = u32::MAX;
    /// How far past the vector's end an id may be and still extend it.
    const GAP: usize = 1 << 20;

    fn get(&self, entry_id: i64) -> Option<u32> {
        let dense = usize::try_from(entry_id)
            .ok()
            .and_then(|at| self.dense.get(at).copied())
            .filter(|&p| p != Self::NONE);
        dense.or_else(|| self.sparse.get(&entry_id).copied())
    }

    fn insert(&mut self, entry_id: i64, position: u32) {
        match usize::try_from(entry_id) {
            Ok(at) if at < self.dense.len() + Self::GAP => {
                if at >= self.dense.len() {
                    self.dense.resize(at + 1, Self::NONE);
                }
                self.dense[at] = position;
            }
            _ => {
                self.sparse.insert(entry_id, position);
            }
        }
    }
}

/// Every bank's entries in one index. Beside the hashes it keeps 16 bytes an entry: its id and
/// bank by position, and its position by id.
#[derive(Default)]
pub struct BankIndex {
    hashes: HashIndex,
    /// By position: the entry's id, and its bank.
    entry_ids: Vec<i64>,
    bank_ids: Vec<u32>,
    positions: Positions,
    banks: HashMap<i64, BankRule>,
    /// The latest change applied: (changed_at, entry id).
    synced_to: (i64, i64),
}

impl BankIndex {
    pub fn set_banks(&mut self, banks: HashMap<i64, BankRule>) {
        self.banks = banks;
    }

    /// Applies entry changes, new entries and changed ones alike; applying one twice is harmless.
    pub fn apply(&mut self, changes: &[EntryState]) {
        for e in changes {
            match self.positions.get(e.id) {
                Some(position) => {
                    // Positions come from this index, so they are always in range.
                    let _ = self.hashes.set_enabled(position, e.live);
                }
                // Bank ids are the database's, small numbers; one beyond u32 is not a bank.
                None => {
                    let Ok(bank_id) = u32::try_from(e.bank_id) else {
                        continue;
                    };
                    let position = self.hashes.insert(e.hash);
                    self.entry_ids.push(e.id);
                    self.bank_ids.push(bank_id);
                    self.positions.insert(e.id, position);
                    if !e.live {
                        let _ = self.hashes.set_enabled(position, false);
                    }
                }
            }
            self.synced_to = self.synced_to.max((e.changed_at, e.id));
        }
    }

    pub fn bank(&self, id: i64) -> Option<&BankRule> {
        self.banks.get(&id)
    }

    pub fn synced_to(&self) -> (i64, i64) {
        self.synced_to
    }

    /// Entries known to the index, live or not.
    pub fn len(&self) -> usize {
        self.entry_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entry_ids.is_empty()
    }

    /// Every live entry of an enabled bank within that bank's threshold, nearest first.
    pub fn lookup(&self, hash: &Hash256) -> Vec<Hit> {
        let widest = self
            .banks
            .values()
            .filter(|b| b.enabled)
            .map(|b| b.threshold)
            .max();
        let Some(widest) = widest else {
            return Vec::new();
        };
        self.hashes
            .search(hash, widest.min(MAX_THRESHOLD))
            .into_iter()
            .filter_map(|m| {
                let at = m.position as usize;
                let (entry_id, bank_id) = (*self.entry_ids.get(at)?, i64::from(self.bank_ids[at]));
                let bank = self.banks.get(&bank_id)?;
                (bank.enabled && m.distance <= bank.threshold).then(|| Hit {
                    bank_id,
                    bank: bank.name.clone(),
                    entry_id,
                    distance: m.distance,
                })
            })
            .collect()
    }
}

/// The desk's banks in memory, shared by every request and worker of one server.
#[derive(Default)]
pub struct Banks {
    index: RwLock<BankIndex>,
    /// Wakes the media checker when intake queued media.
    pub queued: tokio::sync::Notify,
}

impl Banks {
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, BankIndex> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, BankIndex> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(first_word: u64) -> Hash256 {
        Hash256::from_words([first_word, 0x1234_5678_9abc_def0, 7, 9])
    }

    fn entry(id: i64, bank_id: i64, h: Hash256, live: bool) -> EntryState {
        EntryState {
            id,
            bank_id,
            hash: h,
            live,
            changed_at: id,
        }
    }

    fn rule(name: &str, threshold: u32) -> BankRule {
        BankRule {
            name: name.into(),
            threshold,
            enabled: true,
            auto_action: None,
            policy: "community.dangerous_organisations".into(),
        }
    }

    #[test]
    fn each_bank_matches_within_its_own_threshold() {
        let mut index = BankIndex::default();
        index.set_banks([(1, rule("strict", 4)), (2, rule("loose", 31))].into());
        // Ten bits away from the query.
        let near = hash(0b11_1111_1111);
        index.apply(&[entry(10, 1, near, true), entry(11, 2, near, true)]);
        let hits = index.lookup(&hash(0));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].bank, "loose");
        assert_eq!(hits[0].entry_id, 11);
        assert_eq!(hits[0].distance, 10);
    }

    #[test]
    fn entries_are_found_by_id_whether_their_ids_are_dense_or_far_apart() {
        let mut index = BankIndex::default();
        index.set_banks([(1, rule("bank", 31))].into());
        let far = 1 << 40;
        index.apply(&[entry(3, 1, hash(1), true), entry(far, 1, hash(2), true)]);
        assert_eq!(index.lookup(&hash(1))[0].entry_id, 3);
        assert_eq!(index.lookup(&hash(2))[0].entry_id, far);
        index.apply(&[entry(far, 1, hash(2), false)]);
        assert_eq!(index.len(), 2);
        assert!(index.lookup(&hash(2)).iter().all(|h| h.entry_id != far));
    }

    #[test]
    fn disabled_entries_and_banks_stop_matching_at_once() {
        let mut index = BankIndex::default();
        index.set_banks([(1, rule("bank", 31))].into());
        index.apply(&[entry(10, 1, hash(1), true)]);
        assert_eq!(index.lookup(&hash(0)).len(), 1);
        index.apply(&[entry(10, 1, hash(1), false)]);
        assert!(index.lookup(&hash(0)).is_empty());
        index.apply(&[entry(10, 1, hash(1), true)]);
        assert_eq!(index.lookup(&hash(0)).len(), 1);
        assert_eq!(index.len(), 1, "a changed entry is not a second entry");
        index.set_banks(
            [(
                1,
                BankRule {
                    enabled: false,
                    ..rule("bank", 31)
                },
            )]
            .into(),
        );
        assert!(index.lookup(&hash(0)).is_empty());
        assert_eq!(index.synced_to(), (10, 10));
    }
}
