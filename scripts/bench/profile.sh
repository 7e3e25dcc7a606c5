#!/usr/bin/env bash
# Flame graphs of the server under load, to see where a request's time goes before figures are
# written down.
#   scripts/bench/profile.sh [SECONDS]   → docs/flamegraphs/{intake,claims}-{sqlite,postgres}.svg
#                                          and target/flamegraphs/*.folded
# perf samples the server (software clock, DWARF call stacks from the release build's line tables)
# while the load generator runs 32 closed-loop clients of intake, then of claims on the cases that
# intake opened. inferno turns the samples into SVGs; it is installed with cargo when missing.
source "$(dirname "$0")/lib.sh"
SECS="${1:-10}"
build
command -v inferno-flamegraph >/dev/null || cargo install -q --locked inferno --version 0.12.8
OUT=docs/flamegraphs
# The collapsed stacks, for reading the profile as text (heaviest frames: scripts/bench/hot.py).
FOLDED=target/flamegraphs
mkdir -p "$OUT" "$FOLDED"

# profile NAME LOADGEN-ARGS…: samples the running server while loadgen runs.
profile() {
  local name=$1; shift
  perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$SERVER" -o "$WORK/perf.data" \
    -- sleep "$SECS" 2>/dev/null &
  local perf=$!
  local line; line=$(loadgen "$@" --seconds "$SECS")
  wait $perf || true
  perf script -i "$WORK/perf.data" 2>/dev/null | inferno-collapse-perf >"$FOLDED/$name.folded"
  # Frames under half a pixel wide are left out, to keep the pictures small enough to keep.
  inferno-flamegraph --minwidth 0.5 --title "warden: $name ($line)" <"$FOLDED/$name.folded" >"$OUT/$name.svg"
  echo "$name: $line → $OUT/$name.svg"
}

for engine in ${ENGINES:-sqlite postgres}; do
  db=$(fresh_database $engine)
  "$BIN" --database-url "$db" migrate >/dev/null
  tok=$(token "$db" bench-intake integration)
  reviewers "$db" 32
  start_server "$db"
  loadgen intake --url "$URL" --token "$tok" --seconds 3 --clients 32 --run w >/dev/null
  profile "intake-$engine" intake --url "$URL" --token "$tok" --clients 32 --run p
  profile "claims-$engine" claim --url "$URL" --tokens-file "$WORK/reviewers" --clients 32 --queue general
  stop_server
done
