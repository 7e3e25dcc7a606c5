//! Measures `HashIndex` on a bank of random hashes with planted near-duplicates, one thread:
//! build time, lookups per second, recall against brute force, memory. Writes the bank and the
//! queries for `scripts/bench/pdq_faiss.py`, so both sides search the same data.
//!
//!   cargo run --release -p pdq --example index_bench -- [--size N] [--queries Q]
//!       [--recall-sample K] [--max-distance D] [--seed S] [--out DIR] [--inserts M] [--sweep]
//!       [--passes P]
//!
//! Queries alternate: even ones have a hash planted in the bank at a random distance from 0 to
//! D, odd ones are random. With `--out`, DIR gets `bank.u8` and `queries.u8` (32 bytes a hash, in
//! the order of the hex form) and `truth.txt` (for each of the first K queries, its index and the
//! positions within D by brute force). Results are printed as `key=value` lines. Lookup rates are
//! the best of P passes over the queries (default 3, more until a second has passed), as other work
//! on the machine only slows a pass; `lookups_per_cpu_s` divides by this thread's processor time.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use pdq::{Hash256, HashIndex, Kernel, Strategy};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

struct Args {
    size: usize,
    queries: usize,
    recall_sample: usize,
    max_distance: u32,
    seed: u64,
    out: Option<PathBuf>,
    inserts: usize,
    sweep: bool,
    passes: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        size: 1_000_000,
        queries: 1000,
        recall_sample: 200,
        max_distance: 31,
        seed: 20240501,
        out: None,
        inserts: 0,
        sweep: false,
        passes: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--size" => args.size = value().parse().expect("--size N"),
            "--queries" => args.queries = value().parse().expect("--queries Q"),
            "--recall-sample" => args.recall_sample = value().parse().expect("--recall-sample K"),
            "--max-distance" => args.max_distance = value().parse().expect("--max-distance D"),
            "--seed" => args.seed = value().parse().expect("--seed S"),
            "--out" => args.out = Some(PathBuf::from(value())),
            "--inserts" => args.inserts = value().parse().expect("--inserts M"),
            "--sweep" => args.sweep = true,
            "--passes" => args.passes = value().parse().expect("--passes P"),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn random_hash(rng: &mut SmallRng) -> Hash256 {
    Hash256::from_words([rng.random(), rng.random(), rng.random(), rng.random()])
}

fn flipped(rng: &mut SmallRng, hash: &Hash256, k: u32) -> Hash256 {
    let mut out = *hash;
    while out.distance(hash) < k {
        let bit = rng.random_range(0..256);
        out.set_bit(bit, !hash.bit(bit));
    }
    out
}

/// Resident and peak resident memory of this process, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn write_hashes(path: &Path, hashes: &[Hash256]) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for hash in hashes {
        for word in hash.words {
            out.write_all(&word.to_be_bytes())?;
        }
    }
    out.flush()
}

/// Brute force, independent of the index: every position within `max_distance` of each query.
fn brute_force(bank: &[Hash256], queries: &[Hash256], max_distance: u32) -> Vec<Vec<u32>> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: popcnt was just detected.
        return unsafe { brute_force_popcnt(bank, queries, max_distance) };
    }
    brute_force_portable(bank, queries, max_distance)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn brute_force_popcnt(bank: &[Hash256], queries: &[Hash256], max_distance: u32) -> Vec<Vec<u32>> {
    brute_force_portable(bank, queries, max_distance)
}

#[inline(always)]
fn brute_force_portable(bank: &[Hash256], queries: &[Hash256], max_distance: u32) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); queries.len()];
    // Bank outside, queries inside: the bank is read once.
    for (position, hash) in (0u32..).zip(bank) {
        for (query, found) in queries.iter().zip(&mut out) {
            if hash.distance(query) <= max_distance {
                found.push(position);
            }
        }
    }
    out
}

/// The processor time this thread has used, in seconds (user and system, in clock ticks of 10 ms):
/// unlike the wall clock, it does not count time other processes had the core.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces), from field 3 on.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

struct Rate {
    /// Per second of wall clock, the best of the passes.
    wall: f64,
    /// Per second of this thread's processor time, over all passes.
    cpu: f64,
    found: usize,
}

/// Lookups per second over the queries, the best of `passes` runs (the machine may be shared).
fn lookups_per_second(
    index: &HashIndex,
    queries: &[Hash256],
    d: u32,
    strategy: Strategy,
    passes: usize,
) -> Rate {
    let mut best = f64::INFINITY;
    let mut found = 0;
    let (cpu, all) = (cpu_seconds(), Instant::now());
    let mut done = 0;
    // At least a second in all, so that the processor time (in 10 ms ticks) is precise.
    while done < passes.max(1) || (all.elapsed().as_secs_f64() < 1.0 && done < 100) {
        let started = Instant::now();
        found = queries
            .iter()
            .map(|query| index.search_with(query, d, strategy).len())
            .sum();
        best = best.min(started.elapsed().as_secs_f64());
        done += 1;
    }
    let cpu = cpu_seconds() - cpu;
    Rate {
        wall: queries.len() as f64 / best,
        cpu: (queries.len() * done) as f64 / cpu,
        found,
    }
}

fn main() -> std::io::Result<()> {
    let args = parse_args();
    let mut rng = SmallRng::seed_from_u64(args.seed);
    let d = args.max_distance;

    let queries: Vec<Hash256> = (0..args.queries).map(|_| random_hash(&mut rng)).collect();
    let mut bank: Vec<Hash256> = (0..args.size).map(|_| random_hash(&mut rng)).collect();
    let mut planted = HashMap::new();
    for (i, query) in queries.iter().enumerate().step_by(2) {
        let mut position = rng.random_range(0..args.size);
        while planted.contains_key(&position) {
            position = rng.random_range(0..args.size);
        }
        planted.insert(position, i);
        let k = rng.random_range(0..=d);
        bank[position] = flipped(&mut rng, query, k);
    }

    let (rss_before, _) = memory();
    let started = Instant::now();
    let mut index = HashIndex::new();
    index.insert_many(bank.iter().copied());
    let build = started.elapsed().as_secs_f64();
    let (rss_after, peak) = memory();
    println!(
        "rust size={} kernel={:?} build_s={build:.3} heap_mb={:.1} rss_delta_mb={:.1} peak_rss_mb={:.1} bytes_per_hash={:.1}",
        args.size,
        index.kernel(),
        index.heap_bytes() as f64 / 1e6,
        rss_after.saturating_sub(rss_before) as f64 / 1e6,
        peak as f64 / 1e6,
        index.heap_bytes() as f64 / args.size as f64,
    );

    // Warm the tables once, then time every query.
    lookups_per_second(
        &index,
        &queries[..queries.len().min(20)],
        d,
        Strategy::Auto,
        1,
    );
    let Rate {
        wall: rate,
        cpu: cpu_rate,
        found,
    } = lookups_per_second(&index, &queries, d, Strategy::Auto, args.passes);
    let mut batch_best = f64::INFINITY;
    for _ in 0..args.passes.max(1) {
        let started = Instant::now();
        let batch: usize = index.search_batch(&queries, d).iter().map(Vec::len).sum();
        batch_best = batch_best.min(started.elapsed().as_secs_f64());
        assert_eq!(batch, found);
    }
    let batch_rate = queries.len() as f64 / batch_best;
    println!(
        "rust size={} d={d} queries={} lookups_per_s={rate:.0} lookups_per_cpu_s={cpu_rate:.0} batch_lookups_per_s={batch_rate:.0} matches={found} planted={}",
        args.size,
        queries.len(),
        planted.len()
    );

    // Recall on a sample, against brute force over the bank.
    let sample = &queries[..args.recall_sample.min(queries.len())];
    let started = Instant::now();
    let truth = brute_force(&bank, sample, d);
    let brute_rate = sample.len() as f64 / started.elapsed().as_secs_f64();
    let mut exact = 0;
    let (mut expected, mut returned) = (0, 0);
    for (query, want) in sample.iter().zip(&truth) {
        let mut got: Vec<u32> = index.search(query, d).iter().map(|m| m.position).collect();
        got.sort_unstable();
        expected += want.len();
        returned += got.iter().filter(|p| want.binary_search(p).is_ok()).count();
        exact += usize::from(&got == want);
    }
    println!(
        "rust size={} recall_sample={} recall={:.4} exact_queries={exact} brute_force_lookups_per_s={brute_rate:.1}",
        args.size,
        sample.len(),
        if expected == 0 {
            1.0
        } else {
            returned as f64 / expected as f64
        },
    );
    // Written after the timed parts: the kernel writing 320 MB back to disk would share the cores.
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
        write_hashes(&dir.join("bank.u8"), &bank)?;
        write_hashes(&dir.join("queries.u8"), &queries)?;
        let mut out = BufWriter::new(File::create(dir.join("truth.txt"))?);
        for (i, want) in truth.iter().enumerate() {
            write!(out, "{i}")?;
            for position in want {
                write!(out, " {position}")?;
            }
            writeln!(out)?;
        }
        out.flush()?;
    }
    drop(bank);

    if args.sweep {
        // Look-up against scan around the crossover, to set the cost model.
        let few = &queries[..queries.len().min(40)];
        for d in [16, 31, 32, 40, 47, 48, 52, 56, 60, 63, 64] {
            let mih = lookups_per_second(&index, few, d, Strategy::MultiIndex, args.passes).wall;
            let scan = lookups_per_second(&index, few, d, Strategy::Scan, args.passes).wall;
            let auto = lookups_per_second(&index, few, d, Strategy::Auto, args.passes).wall;
            println!(
                "sweep size={} d={d} multi_index_per_s={mih:.1} scan_per_s={scan:.1} auto_per_s={auto:.1}",
                args.size
            );
        }
        // The scan kernels on hashes in cache: an index whose hashes are all in the tail.
        let small: HashIndex = (0..pdq::index::SEAL_AT - 1)
            .map(|_| random_hash(&mut rng))
            .collect();
        for kernel in Kernel::ALL.into_iter().filter(|k| k.is_supported()) {
            let mut small = small.clone();
            small.set_kernel(kernel).expect("supported");
            let rate = lookups_per_second(&small, &queries, 31, Strategy::Scan, args.passes).wall;
            println!(
                "kernel in_cache_hashes={} kernel={kernel:?} scan_hashes_per_s={:.0}",
                small.len(),
                rate * small.len() as f64
            );
        }
        for kernel in Kernel::ALL.into_iter().filter(|k| k.is_supported()) {
            let mut index = index.clone();
            index.set_kernel(kernel).expect("supported");
            let mih = lookups_per_second(&index, few, 31, Strategy::MultiIndex, args.passes).wall;
            let scan = lookups_per_second(&index, few, 31, Strategy::Scan, args.passes).wall;
            println!(
                "kernel size={} kernel={kernel:?} d=31 multi_index_per_s={mih:.1} scan_per_s={scan:.1}",
                args.size
            );
        }
    }

    if args.inserts > 0 {
        // Single inserts on top of the bulk-built index: seals and merges included.
        let started = Instant::now();
        for _ in 0..args.inserts {
            index.insert(random_hash(&mut rng));
        }
        let rate = args.inserts as f64 / started.elapsed().as_secs_f64();
        let search_rate = lookups_per_second(&index, &queries, d, Strategy::Auto, args.passes).wall;
        println!(
            "rust size={} inserts={} inserts_per_s={rate:.0} then_lookups_per_s={search_rate:.0} layout={index:?} heap_mb={:.1}",
            args.size,
            args.inserts,
            index.heap_bytes() as f64 / 1e6
        );
    }
    Ok(())
}
