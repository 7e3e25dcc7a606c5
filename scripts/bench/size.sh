#!/usr/bin/env bash
# How intake, claim and case-page latency and the server's memory change with the number of cases,
# on SQLite and PostgreSQL.
#   scripts/bench/size.sh [SECONDS] [SIZES...]     (default sizes: 10000 100000 1000000 10000000)
# One database per engine grows through the sizes (examples/grow.rs clones real intake). At each
# size a fresh server is started and measured: intake open loop at 100 requests/s, claims by 16
# reviewers, case pages by 16 clients over the whole id range, then its resident memory (now and
# at its peak).
source "$(dirname "$0")/lib.sh"
SECS="${1:-10}"
shift || true
SIZES=("${@:-10000 100000 1000000 10000000}")
read -r -a SIZES <<<"${SIZES[*]}"
build

for engine in ${ENGINES:-sqlite postgres}; do
  db=$(fresh_database $engine)
  "$BIN" --database-url "$db" migrate >/dev/null
  tok=$(token "$db" bench-intake integration)
  reviewers "$db" 16
  lead=$(token "$db" bench-lead lead)
  for size in "${SIZES[@]}"; do
    # Fresh templates for the clones: the claims at the size before may have taken every waiting
    # case there was.
    start_server "$db"
    loadgen intake --url "$URL" --token "$tok" --seconds 2 --clients 32 --run "g$size" >/dev/null
    stop_server
    "$EX/grow" "$db" "$size" general 2>"$WORK/grow.err" || { cat "$WORK/grow.err" >&2; exit 1; }
    start_server "$db"
    intake=$(loadgen intake --url "$URL" --token "$tok" --seconds "$SECS" --rate 100 --clients 256 --run "s$size")
    claims=$(loadgen claim --url "$URL" --tokens-file "$WORK/reviewers" --seconds "$SECS" --clients 16 --queue general)
    pages=$(loadgen case --url "$URL" --token "$lead" --seconds "$SECS" --clients 16 --max-case-id "$size")
    echo "$engine $size cases: intake p50/p99 $(field p50_ms "$intake")/$(field p99_ms "$intake") ms ($(field failed "$intake") failed);" \
      "claims $(field per_second "$claims")/s p50/p99 $(field p50_ms "$claims")/$(field p99_ms "$claims") ms ($(field empty "$claims") found the queue empty);" \
      "case pages $(field per_second "$pages")/s p50/p99 $(field p50_ms "$pages")/$(field p99_ms "$pages") ms; $(memory)"
    if [ $engine = sqlite ]; then echo "$engine   database file: $(du -sh "$db" | cut -f1)"; else
      echo "$engine   database: $(psql "$db" -Atc "SELECT pg_size_pretty(pg_database_size(current_database()))")"; fi
    stop_server
  done
  if [ $engine = sqlite ]; then rm -f "$db"*; fi
done
