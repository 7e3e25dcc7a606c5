#!/usr/bin/env bash
# PDQ hashing per core: this crate (crates/pdq) against Meta's C++ reference through its Python
# bindings (pdqhash 0.2.8, the package the reference hashes were computed with), one thread or
# process per core, release build. Two cases: a decoded RGB buffer to a hash, and a file to a hash
# (for Python: Pillow open + convert("RGB") + np.asarray + pdqhash.compute).
#   scripts/bench/pdq_hash.sh [SECONDS] [PATH...]
# SECONDS per case and side (default 5). PATH: image files or folders; by default two sets from
# the PDQ reference data ($WARDEN_PDQ_REFERENCE, or crates/pdq/tests/data/pdq): all 40 images (JPEG, PNG,
# WebP, 0.001 to 1.6 megapixels), then its fifteen 1.6-megapixel photos as JPEG (eight baseline
# 4:2:0, seven progressive 4:4:4).
# THREADS (default: all cores). Rates are images per CPU second of each thread or process (all
# threads of a process counted), averaged over them, so other load on the machine skews them less.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SECS="${1:-5}"
shift || true
THREADS="${THREADS:-$(nproc)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
IMAGES="${WARDEN_PDQ_REFERENCE:-crates/pdq/tests/data/pdq}/images"

# Shared with the other PDQ scripts: whichever runs first creates it with this same line.
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/warden-pdq-bench-py"
if ! "$VENV/bin/python" -c 'import pdqhash, PIL, numpy' >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q faiss-cpu==1.15.1 numpy pillow==13.0.0 pdqhash==0.2.8
fi

cargo build -q --release -p pdq --example hash_bench
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# bench TITLE PATH... → both sides on the set, then a table with the ratios.
bench() {
  local title=$1
  shift
  echo "== $title"
  "$CARGO_TARGET_DIR/release/examples/hash_bench" --seconds "$SECS" --threads "$THREADS" \
    --cases buffer,file,buffer-reused,file-reused "$@" >"$WORK/rust.tsv"
  "$VENV/bin/python" scripts/pdq/bench_reference.py --seconds "$SECS" --processes "$THREADS" \
    "$@" >"$WORK/python.tsv"
  awk -F'\t' '
    FNR == NR { ref[$2] = $6; refname = $1; next }
    { impl[++n] = $1; c[n] = $2; ms[n] = $5; rate[n] = $6 }
    END {
      printf "%-32s %-14s %9s %14s %11s\n", "implementation", "case", "ms/image", "images/s/core", "vs pdqhash"
      split("buffer file", order, " ")
      for (k = 1; k <= 2; k++) printf "%-32s %-14s %9.2f %14.1f %11s\n", refname, order[k], 1000 / ref[order[k]], ref[order[k]], "1.00x"
      for (i = 1; i <= n; i++) {
        base = c[i]; sub(/-reused$/, "", base)
        printf "%-32s %-14s %9.2f %14.1f %10.2fx\n", impl[i], c[i], ms[i], rate[i], rate[i] / ref[base]
      }
    }' "$WORK/python.tsv" "$WORK/rust.tsv"
  echo
}

echo "$THREADS threads or processes, $SECS s a case; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
if [ $# -gt 0 ]; then
  bench "the given images" "$@"
else
  bench "PDQ reference images (40)" "$IMAGES"
  jpegs=()
  for name in aaa-orig blur-a-little blur-a-lot high-contrast high-saturation sharpen-a-little sharpen-a-lot; do
    jpegs+=("$IMAGES/bridge-mods/$name.jpg")
  done
  bench "1.6-megapixel JPEGs (15)" "${jpegs[@]}" "$IMAGES/reg-test-input/dih"
fi
