#!/usr/bin/env bash
# The exact PDQ index (crates/pdq, HashIndex) against FAISS's IndexBinaryMultiHash configured as
# Meta's Hasher-Matcher-Actioner does, on the same banks of random hashes with planted matches,
# one thread each: build time, lookups per second at distance <= 31, recall against brute force,
# memory.
#   scripts/bench/pdq_index.sh [SIZES...]        (default sizes: 1000000 10000000)
# QUERIES (default 1000) queries per size, half with a hash planted within 31; FAISS searches the
# first FAISS_QUERIES of them (default: all below 10 million hashes, 200 from 10 million on,
# where it manages a few dozen a second). RECALL_SAMPLE (default 200) queries are checked against
# brute force on both sides. HUGEPAGES=1 runs both sides with glibc's allocator asking for
# transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1), for machines where they are
# only given on request. The FAISS run at 10 million takes about a minute and 3 GB.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SIZES=("${@:-1000000 10000000}")
read -r -a SIZES <<<"${SIZES[*]}"
QUERIES="${QUERIES:-1000}"
RECALL_SAMPLE="${RECALL_SAMPLE:-200}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
if [ "${HUGEPAGES:-0}" = 1 ]; then export GLIBC_TUNABLES=glibc.malloc.hugetlb=1; fi

# Shared with the other PDQ scripts: whichever runs first creates it with this same line.
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/warden-pdq-bench-py"
if ! "$VENV/bin/python" -c 'import faiss, numpy' >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q faiss-cpu==1.15.1 numpy pillow==13.0.0 pdqhash==0.2.8
fi

cargo build -q --release -p pdq --example index_bench
BENCH="$CARGO_TARGET_DIR/release/examples/index_bench"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# field NAME LINES → the value of NAME= in the lines.
field() { grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2; }

for size in "${SIZES[@]}"; do
  if [ -n "${FAISS_QUERIES:-}" ]; then fq=$FAISS_QUERIES; elif [ "$size" -ge 10000000 ]; then fq=200; else fq=$QUERIES; fi
  rust=$("$BENCH" --size "$size" --queries "$QUERIES" --recall-sample "$RECALL_SAMPLE" --out "$WORK")
  echo "$rust"
  # The bank was just written: flush it now rather than during FAISS's timings.
  sync
  faiss=$("$VENV/bin/python" scripts/bench/pdq_faiss.py "$WORK" --queries "$fq")
  echo "$faiss"
  awk -v size="$size" -v r="$(field lookups_per_s "$rust")" -v f="$(field lookups_per_s "$faiss")" \
    -v rm="$(field rss_delta_mb "$rust")" -v fm="$(field rss_delta_mb "$faiss")" \
    -v rb="$(field build_s "$rust")" -v fb="$(field build_s "$faiss")" \
    -v rc="$(field lookups_per_cpu_s "$rust")" -v fc="$(field lookups_per_cpu_s "$faiss")" \
    'BEGIN { printf "ratio size=%d lookups=%.1fx lookups_per_cpu=%.1fx memory=%.2fx build=%.1fx (lookups: HashIndex over FAISS; memory and build time: FAISS over HashIndex)\n", size, r / f, rc / fc, fm / rm, fb / rb }'
  rm -f "$WORK"/*
done
