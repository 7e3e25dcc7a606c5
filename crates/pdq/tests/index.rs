//! The index against brute force: every search must return exactly the live hashes within the
//! distance, whatever the strategy, kernel, segment layout or history of changes.

use std::collections::HashSet;

use pdq::{Hash256, HashIndex, IndexError, Kernel, Match, Strategy};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

const DISTANCES: [u32; 8] = [0, 8, 16, 31, 32, 47, 64, 100];

fn random_hash(rng: &mut SmallRng) -> Hash256 {
    Hash256::from_words([rng.random(), rng.random(), rng.random(), rng.random()])
}

/// `hash` with `k` distinct bits flipped, at random.
fn flipped(rng: &mut SmallRng, hash: &Hash256, k: usize) -> Hash256 {
    let mut bits: Vec<usize> = (0..256).collect();
    let mut out = *hash;
    for i in 0..k {
        let j = rng.random_range(i..256);
        bits.swap(i, j);
        out.set_bit(bits[i], !out.bit(bits[i]));
    }
    assert_eq!(out.distance(hash), k as u32);
    out
}

/// `hash` with `per_slice[i]` bits flipped in slice `i` (the bits at the top of each slice).
fn flipped_per_slice(hash: &Hash256, per_slice: [u32; 16]) -> Hash256 {
    let mut out = *hash;
    for (slice, &k) in per_slice.iter().enumerate() {
        for bit in 0..k {
            out.words[slice / 4] ^= 1 << (48 - 16 * (slice % 4) + bit as usize);
        }
        assert_eq!((out.slice16(slice) ^ hash.slice16(slice)).count_ones(), k);
    }
    out
}

/// The reference: every live hash within `max_distance`, by distance then position.
fn brute_force(
    index: &HashIndex,
    hashes: &[Hash256],
    query: &Hash256,
    max_distance: u32,
) -> Vec<Match> {
    let mut out: Vec<Match> = (0u32..)
        .zip(hashes)
        .filter(|&(position, _)| index.is_live(position))
        .map(|(position, hash)| Match {
            position,
            distance: hash.distance(query),
        })
        .filter(|m| m.distance <= max_distance.min(256))
        .collect();
    out.sort_by_key(|m| (m.distance, m.position));
    out
}

/// Checks every strategy against brute force for each query and distance; returns how many
/// matches were seen, so that callers can check the test had something to find.
fn check_all(
    index: &HashIndex,
    hashes: &[Hash256],
    queries: &[Hash256],
    distances: &[u32],
) -> usize {
    let mut seen = 0;
    for query in queries {
        // One brute-force pass per query, filtered for each distance.
        let everything = brute_force(index, hashes, query, 256);
        for &d in distances {
            let expected: Vec<Match> = everything
                .iter()
                .copied()
                .filter(|m| m.distance <= d)
                .collect();
            for strategy in [Strategy::Auto, Strategy::MultiIndex, Strategy::Scan] {
                let got = index.search_with(query, d, strategy);
                assert_eq!(got, expected, "query {query} d {d} {strategy:?} {index:?}");
            }
            seen += expected.len();
        }
    }
    seen
}

/// A bank of random hashes with near-duplicates of some queries planted at distances 0 to 40,
/// shuffled so that they land anywhere.
fn bank(rng: &mut SmallRng, random: usize, queries: usize) -> (Vec<Hash256>, Vec<Hash256>) {
    let queries: Vec<Hash256> = (0..queries).map(|_| random_hash(rng)).collect();
    let mut hashes: Vec<Hash256> = (0..random).map(|_| random_hash(rng)).collect();
    for query in &queries {
        for k in 0..=40 {
            hashes.push(flipped(rng, query, k));
        }
    }
    for i in (1..hashes.len()).rev() {
        hashes.swap(i, rng.random_range(0..=i));
    }
    (hashes, queries)
}

#[test]
fn a_large_bank_matches_brute_force_at_every_distance() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_0001);
    let (hashes, planted) = bank(&mut rng, 200_000, 24);
    let index: HashIndex = hashes.iter().copied().collect();
    assert_eq!(index.len(), hashes.len());
    assert_eq!(index.segment_count(), 1);
    assert_eq!(index.unindexed_len(), 0);
    let mut queries = planted.clone();
    queries.extend((0..4).map(|_| random_hash(&mut rng)));
    // Stored hashes themselves, and a hash planted at exactly 31 and 32.
    queries.extend([hashes[7], hashes[123_456]]);
    let seen = check_all(&index, &hashes, &queries, &DISTANCES);
    // Each planted query has k + 1 planted hashes within k for k up to 40.
    assert!(seen >= planted.len() * (1 + 9 + 17 + 32 + 33 + 41 + 41 + 41));
    // Beyond 100 every strategy must still agree, including the clamp past 256.
    for query in &queries[..2] {
        for d in [128, 255, 256, 257, u32::MAX] {
            let expected = brute_force(&index, &hashes, query, d);
            assert_eq!(index.search(query, d), expected);
            assert_eq!(index.search_with(query, d, Strategy::Scan), expected);
        }
    }
    assert_eq!(index.search(&queries[0], 256).len(), hashes.len());
}

#[test]
fn hashes_that_only_one_slice_can_find_are_found() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_0002);
    let mut hashes: Vec<Hash256> = (0..20_000).map(|_| random_hash(&mut rng)).collect();
    let query = random_hash(&mut rng);
    // Distance 31: slice `s` differs in one bit, every other slice in two.
    for s in 0..16 {
        let mut per_slice = [2; 16];
        per_slice[s] = 1;
        hashes.push(flipped_per_slice(&query, per_slice));
    }
    // Distance 32 with every slice at two bits: only slice 0, probed at radius 2, finds it.
    hashes.push(flipped_per_slice(&query, [2; 16]));
    // Distance 33, every slice at two or more: beyond 32.
    let mut per_slice = [2; 16];
    per_slice[9] = 3;
    hashes.push(flipped_per_slice(&query, per_slice));
    // Distance 16, one bit in every slice: only radius 1 everywhere (d >= 31) or 0 misses it.
    hashes.push(flipped_per_slice(&query, [1; 16]));
    let index: HashIndex = hashes.iter().copied().collect();
    let found = |d| index.search_with(&query, d, Strategy::MultiIndex).len();
    assert_eq!(found(31), 17);
    assert_eq!(found(32), 18);
    assert_eq!(found(33), 19);
    assert_eq!(found(16), 1);
    assert_eq!(found(15), 0);
    check_all(
        &index,
        &hashes,
        &[query],
        &[15, 16, 30, 31, 32, 33, 34, 47, 48],
    );
}

#[test]
fn an_empty_index_finds_nothing() {
    let index = HashIndex::new();
    assert!(index.is_empty());
    assert_eq!(index.len(), 0);
    assert_eq!(index.live_len(), 0);
    let query = Hash256::default();
    for d in [0, 31, 256, 1000] {
        assert!(index.search(&query, d).is_empty());
        assert!(
            index
                .search_with(&query, d, Strategy::MultiIndex)
                .is_empty()
        );
    }
    assert!(
        index
            .search_batch(&[query, query], 31)
            .iter()
            .all(Vec::is_empty)
    );
    assert!(index.search_batch(&[], 31).is_empty());
    assert_eq!(index.get(0), None);
    assert!(!index.is_live(0));
    let mut index = index;
    assert_eq!(index.remove(0), Err(IndexError::NoSuchPosition(0)));
    assert_eq!(
        index.set_enabled(0, false),
        Err(IndexError::NoSuchPosition(0))
    );
    index.compact();
    assert!(index.search(&query, 256).is_empty());
}

#[test]
fn distance_zero_finds_exact_copies_and_256_finds_everything() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_0003);
    let mut index = HashIndex::new();
    let a = random_hash(&mut rng);
    let all_ones = Hash256::from_words([u64::MAX; 4]);
    index.insert_many((0..30_000).map(|_| random_hash(&mut rng)));
    let first = index.insert(a);
    let zero = index.insert(Hash256::default());
    let second = index.insert(a);
    let ones = index.insert(all_ones);
    let near = index.insert(flipped(&mut rng, &a, 1));
    for strategy in [Strategy::Auto, Strategy::MultiIndex, Strategy::Scan] {
        assert_eq!(
            index.search_with(&a, 0, strategy),
            [
                Match {
                    position: first,
                    distance: 0
                },
                Match {
                    position: second,
                    distance: 0
                }
            ]
        );
        assert_eq!(
            index.search_with(&a, 1, strategy).last(),
            Some(&Match {
                position: near,
                distance: 1
            })
        );
        let far = index.search_with(&Hash256::default(), 256, strategy);
        assert_eq!(far.len(), index.len());
        assert_eq!(
            far[0],
            Match {
                position: zero,
                distance: 0
            }
        );
        assert_eq!(
            far.last(),
            Some(&Match {
                position: ones,
                distance: 256
            })
        );
        assert_eq!(
            index.search_with(&Hash256::default(), 255, strategy).len(),
            index.len() - 1
        );
    }
}

#[test]
fn inserts_before_and_after_merges_are_found() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_0004);
    let queries: Vec<Hash256> = (0..6).map(|_| random_hash(&mut rng)).collect();
    let mut hashes = Vec::new();
    let mut index = HashIndex::new();
    let mut layouts = Vec::new();
    let mut checks = 0;
    // One at a time, with planted near-duplicates spread through the stream.
    let total = pdq::index::SEAL_AT * 9 + 777;
    for i in 0..total {
        let hash = if i % 97 == 0 {
            let query = &queries[i % queries.len()];
            let k = rng.random_range(0..=40);
            flipped(&mut rng, query, k)
        } else {
            random_hash(&mut rng)
        };
        assert_eq!(index.insert(hash), i as u32);
        hashes.push(hash);
        let layout = (index.segment_count(), index.unindexed_len());
        if layouts.last().map(|&(count, _)| count) != Some(layout.0) || i % 20_011 == 0 {
            layouts.push(layout);
        }
        // Just before and just after each seal, and now and then in between.
        if i % pdq::index::SEAL_AT == pdq::index::SEAL_AT - 2
            || i % pdq::index::SEAL_AT == 0
            || i % 5_003 == 0
        {
            checks += 1;
            check_all(&index, &hashes, &queries[..2], &[0, 16, 31, 32, 47]);
        }
    }
    assert!(checks > 20);
    // The tail was sealed, segments merged (two equal segments never stay side by side).
    assert!(index.segment_count() >= 1);
    assert!(index.unindexed_len() > 0 && index.unindexed_len() < pdq::index::SEAL_AT);
    assert!(layouts.iter().any(|&(count, _)| count >= 2), "{layouts:?}");
    let seen = check_all(&index, &hashes, &queries, &DISTANCES);
    assert!(seen > 0);

    // A bulk insert on top, then single ones again.
    let more: Vec<Hash256> = (0..50_000)
        .map(|i| {
            if i % 50 == 0 {
                flipped(&mut rng, &queries[0], i % 41)
            } else {
                random_hash(&mut rng)
            }
        })
        .collect();
    let positions = index.insert_many(more.iter().copied());
    assert_eq!(positions, total as u32..(total + more.len()) as u32);
    hashes.extend(&more);
    for _ in 0..100 {
        let hash = flipped(&mut rng, &queries[1], 20);
        index.insert(hash);
        hashes.push(hash);
    }
    check_all(&index, &hashes, &queries, &DISTANCES);
    index.compact();
    assert_eq!((index.segment_count(), index.unindexed_len()), (1, 0));
    check_all(&index, &hashes, &queries, &DISTANCES);
}

#[test]
fn merges_keep_segments_falling_by_the_ratio() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_0005);
    let seal = pdq::index::SEAL_AT;
    let mut index = HashIndex::new();
    index.insert_many((0..10 * seal).map(|_| random_hash(&mut rng)));
    assert_eq!((index.segment_count(), index.unindexed_len()), (1, 0));
    // One sealed tail beside the bulk segment stays apart: 4 × 1 < 10.
    for _ in 0..seal {
        index.insert(random_hash(&mut rng));
    }
    assert_eq!((index.segment_count(), index.unindexed_len()), (2, 0));
    // Two more: [10, 1, 1] merges to [10, 2], then [10, 2, 1] to [10, 3], and 3 is more than a
    // quarter of 10: [13].
    for _ in 0..2 * seal {
        index.insert(random_hash(&mut rng));
    }
    assert_eq!(index.segment_count(), 1);
    // Under the threshold the tail stays unindexed.
    for _ in 0..seal - 1 {
        index.insert(random_hash(&mut rng));
    }
    assert_eq!(
        (index.segment_count(), index.unindexed_len()),
        (1, seal - 1)
    );
}

#[test]
fn removed_and_disabled_hashes_stop_matching_at_once() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_0006);
    let (mut hashes, queries) = bank(&mut rng, 40_000, 6);
    let mut index: HashIndex = hashes.iter().copied().collect();
    // Some in the tail too.
    for query in &queries {
        for k in [0, 5, 31] {
            let hash = flipped(&mut rng, query, k);
            index.insert(hash);
            hashes.push(hash);
        }
    }
    assert!(index.unindexed_len() > 0);
    let near: Vec<u32> = index
        .search(&queries[0], 31)
        .iter()
        .map(|m| m.position)
        .collect();
    assert!(near.len() >= 32 + 3);
    let (removed, disabled): (Vec<u32>, Vec<u32>) = near.iter().partition(|&&p| p % 2 == 0);
    for &p in &removed {
        assert_eq!(index.remove(p), Ok(true));
        assert_eq!(index.remove(p), Ok(false));
        assert_eq!(index.get(p), None);
        assert!(!index.is_live(p));
    }
    for &p in &disabled {
        assert_eq!(index.set_enabled(p, false), Ok(true));
        assert_eq!(index.set_enabled(p, false), Ok(false));
        assert_eq!(index.get(p), Some(hashes[p as usize]));
    }
    assert_eq!(index.live_len(), hashes.len() - near.len());
    assert!(
        index
            .search(&queries[0], 31)
            .iter()
            .all(|m| !near.contains(&m.position))
    );
    check_all(&index, &hashes, &queries, &DISTANCES);

    // Removing a disabled hash is final; enabling it fails.
    assert_eq!(index.remove(disabled[0]), Ok(true));
    assert_eq!(
        index.set_enabled(disabled[0], true),
        Err(IndexError::Removed(disabled[0]))
    );
    assert_eq!(index.live_len(), hashes.len() - near.len());

    // Merging drops removed hashes from the tables but keeps disabled ones, which come back.
    index.compact();
    check_all(&index, &hashes, &queries, &DISTANCES);
    for &p in &disabled[1..] {
        assert_eq!(index.set_enabled(p, true), Ok(false));
    }
    let back: HashSet<u32> = index
        .search(&queries[0], 31)
        .iter()
        .map(|m| m.position)
        .collect();
    assert!(disabled[1..].iter().all(|p| back.contains(p)));
    assert!(
        removed
            .iter()
            .chain(&disabled[..1])
            .all(|p| !back.contains(p))
    );
    assert_eq!(index.live_len(), hashes.len() - removed.len() - 1);
    check_all(&index, &hashes, &queries, &DISTANCES);
    assert_eq!(
        index.remove(hashes.len() as u32),
        Err(IndexError::NoSuchPosition(hashes.len() as u32))
    );
}

#[test]
fn every_kernel_gives_the_same_matches() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_0007);
    // Lengths that are not multiples of the kernels' chunks, in segments and in the tail.
    let (hashes, queries) = bank(&mut rng, 25_003, 4);
    let mut index: HashIndex = hashes.iter().copied().collect();
    let mut hashes = hashes;
    for i in 0..1_005 {
        let hash = if i % 10 == 0 {
            flipped(&mut rng, &queries[i % 4], i % 33)
        } else {
            random_hash(&mut rng)
        };
        index.insert(hash);
        hashes.push(hash);
    }
    index.remove(3).unwrap();
    assert!(Kernel::Portable.is_supported());
    assert!(Kernel::detect().is_supported());
    let mut tested = 0;
    for kernel in Kernel::ALL {
        match index.set_kernel(kernel) {
            Ok(()) => {
                assert_eq!(index.kernel(), kernel);
                check_all(&index, &hashes, &queries, &[0, 7, 31, 32, 64, 200, 256]);
                tested += 1;
            }
            Err(error) => {
                assert!(!kernel.is_supported());
                assert_eq!(error, IndexError::UnsupportedKernel(kernel));
            }
        }
    }
    assert!(tested >= 1);
}

#[test]
fn batches_return_what_single_searches_do() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_0008);
    let (hashes, mut queries) = bank(&mut rng, 30_000, 10);
    let index: HashIndex = hashes.iter().copied().collect();
    queries.push(random_hash(&mut rng));
    for d in [0, 31, 64] {
        let batch = index.search_batch(&queries, d);
        assert_eq!(batch.len(), queries.len());
        for (query, got) in queries.iter().zip(&batch) {
            assert_eq!(got, &index.search(query, d));
        }
    }
}

#[test]
fn memory_is_about_96_bytes_a_hash() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_0009);
    let n = 100_000;
    let index: HashIndex = (0..n).map(|_| random_hash(&mut rng)).collect();
    let tables = 16 * 65_537 * 4;
    let heap = index.heap_bytes();
    assert!(heap >= 96 * n + tables, "{heap}");
    assert!(heap <= 96 * n + tables + 64 * 1024, "{heap}");
}

#[test]
fn the_index_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<HashIndex>();
    let mut rng = SmallRng::seed_from_u64(0x5eed_000a);
    let (hashes, queries) = bank(&mut rng, 20_000, 4);
    let index: HashIndex = hashes.iter().copied().collect();
    let expected: Vec<Vec<Match>> = queries.iter().map(|q| index.search(q, 31)).collect();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for (query, want) in queries.iter().zip(&expected) {
                    assert_eq!(&index.search(query, 31), want);
                }
            });
        }
    });
}
