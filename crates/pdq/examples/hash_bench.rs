//! Hashing throughput per core: one thread per core, each hashing the whole set over and over.
//!
//!     hash_bench [--seconds S] [--threads N] [--cases buffer,file,...] PATH...
//!
//! PATH is an image file or a folder of them (searched recursively). The cases:
//! - `buffer`: 8-bit RGB already decoded in memory → hash (`hash_rgb`);
//! - `file`: path → hash (`hash_image_file`: read, decode, orient, convert, hash);
//! - `buffer-reused`, `file-reused`: the same through one `Hasher` per thread, which keeps its
//!   buffers from one image to the next.
//!
//! Prints one tab-separated line per case: implementation, case, threads, images hashed, ms per
//! image and images per second per core. A thread's rate is its images over its own CPU time (so a
//! busy machine slows it less than wall time would); the rates of the threads are averaged.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pdq::Hasher;

struct Args {
    seconds: f64,
    threads: usize,
    cases: Vec<String>,
    paths: Vec<PathBuf>,
}

const CASES: [&str; 4] = ["buffer", "file", "buffer-reused", "file-reused"];

fn parse_args() -> Args {
    let mut args = Args {
        seconds: 5.0,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cases: CASES.map(String::from).to_vec(),
        paths: Vec::new(),
    };
    let usage = "usage: hash_bench [--seconds S] [--threads N] [--cases A,B] PATH...";
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => args.seconds = it.next().and_then(|s| s.parse().ok()).expect(usage),
            "--threads" => args.threads = it.next().and_then(|s| s.parse().ok()).expect(usage),
            "--cases" => {
                args.cases = it
                    .next()
                    .expect(usage)
                    .split(',')
                    .map(String::from)
                    .collect()
            }
            _ => args.paths.push(PathBuf::from(arg)),
        }
    }
    assert!(!args.paths.is_empty() && args.threads > 0, "{usage}");
    for case in &args.cases {
        assert!(
            CASES.contains(&case.as_str()),
            "unknown case {case:?}; the cases are {CASES:?}"
        );
    }
    args
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for entry in entries {
            collect(&entry, out);
        }
    } else {
        out.push(path.to_path_buf());
    }
}

/// CPU time of the calling thread so far (Linux: the first field of its schedstat, in ns); wall
/// time where that cannot be read.
fn thread_cpu_time(wall: Instant) -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or_else(|| wall.elapsed(), Duration::from_nanos)
}

/// Runs `work(i)` for images `i = 0, 1, …` (wrapping) on each of `threads` threads for about
/// `seconds` (and at least one pass over the `n` images); returns the images done and the mean
/// of the threads' images per CPU second.
fn measure(threads: usize, seconds: f64, n: usize, work: &(dyn Fn(usize) + Sync)) -> (usize, f64) {
    let budget = Duration::from_secs_f64(seconds);
    let rates: Vec<(usize, f64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    // Warm up: one pass, untimed.
                    for i in 0..n {
                        work(i);
                    }
                    let wall = Instant::now();
                    let cpu = thread_cpu_time(wall);
                    let mut done = 0;
                    while done < n || wall.elapsed() < budget {
                        work((done + t) % n);
                        done += 1;
                    }
                    let spent = thread_cpu_time(wall) - cpu;
                    (done, done as f64 / spent.as_secs_f64())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let done = rates.iter().map(|r| r.0).sum();
    let mean = rates.iter().map(|r| r.1).sum::<f64>() / threads as f64;
    (done, mean)
}

thread_local! {
    static HASHER: RefCell<Hasher> = RefCell::new(Hasher::new());
}

fn main() {
    let args = parse_args();
    let mut files = Vec::new();
    for path in &args.paths {
        collect(path, &mut files);
    }
    let decoded: Vec<(u32, u32, Vec<u8>)> = files
        .iter()
        .map(|f| {
            let image = image::open(f)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
                .to_rgb8();
            (image.width(), image.height(), image.into_raw())
        })
        .collect();
    let megapixels: f64 = decoded
        .iter()
        .map(|(w, h, _)| f64::from(*w) * f64::from(*h) / 1e6)
        .sum();
    eprintln!(
        "{} images, {:.2} megapixels on average, {} threads, {} s a case",
        files.len(),
        megapixels / files.len() as f64,
        args.threads,
        args.seconds
    );

    let buffer = |i: usize| {
        let (w, h, rgb) = &decoded[i];
        std::hint::black_box(pdq::hash_rgb(*w, *h, rgb).unwrap());
    };
    let file = |i: usize| {
        std::hint::black_box(pdq::hash_image_file(&files[i]).unwrap());
    };
    let buffer_reused = |i: usize| {
        let (w, h, rgb) = &decoded[i];
        HASHER
            .with_borrow_mut(|hasher| std::hint::black_box(hasher.hash_rgb(*w, *h, rgb).unwrap()));
    };
    let file_reused = |i: usize| {
        HASHER.with_borrow_mut(|hasher| {
            std::hint::black_box(hasher.hash_image_file(&files[i]).unwrap())
        });
    };
    for case in &args.cases {
        let work: &(dyn Fn(usize) + Sync) = match case.as_str() {
            "buffer" => &buffer,
            "file" => &file,
            "buffer-reused" => &buffer_reused,
            _ => &file_reused,
        };
        let (done, per_core) = measure(args.threads, args.seconds, files.len(), work);
        println!(
            "pdq (Rust)\t{case}\t{}\t{done}\t{:.3}\t{per_core:.1}",
            args.threads,
            1000.0 / per_core
        );
    }
}
