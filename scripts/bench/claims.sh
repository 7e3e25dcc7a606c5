#!/usr/bin/env bash
# Claims against their ceiling with 16, 64 and 256 reviewers over a million waiting cases, while
# intake runs at 500 reports/s, on SQLite and PostgreSQL.
#   scripts/bench/claims.sh [SECONDS] [CASES]
# The ceiling is the bare claim statement and its update in one transaction: pgbench with
# scripts/bench/claim.pgbench on PostgreSQL (best of 16 and 64 clients), examples/claim_sql.rs in a
# tight loop on SQLite (one writer), on the same database in the same run.
source "$(dirname "$0")/lib.sh"
SECS="${1:-15}"
CASES="${2:-1000000}"
INTAKE_REPORTS_PER_S=500
# Nine requests in ten carry one report and one in ten a batch of ten: 1.9 reports a request.
INTAKE_RATE=$(awk -v r=$INTAKE_REPORTS_PER_S 'BEGIN {printf "%.0f", r / 1.9}')
build

for engine in ${ENGINES:-sqlite postgres}; do
  db=$(fresh_database $engine)
  "$BIN" --database-url "$db" migrate >/dev/null
  tok=$(token "$db" bench-intake integration)
  start_server "$db"
  loadgen intake --url "$URL" --token "$tok" --seconds 5 --clients 32 --run t >/dev/null
  stop_server
  "$EX/grow" "$db" "$CASES" general 2>/dev/null
  reviewers "$db" 256
  if [ $engine = postgres ]; then
    best=0
    for c in 16 64; do
      line=$(pgbench -n -f scripts/bench/claim.pgbench -c $c -j 2 -T "$SECS" "$db" 2>&1 | grep -E '^tps' || true)
      tps=$(awk '{printf "%.0f", $3}' <<<"$line")
      echo "$engine ceiling, pgbench $c clients: $tps claims/s ($(pgbench --version | head -1))"
      [ "${tps:-0}" -gt "$best" ] && best=$tps
    done
    ceiling=$best
  else
    line=$("$EX/claim_sql" "$db" "$SECS" general)
    echo "$engine ceiling, tight loop: $line"
    ceiling=$(field per_second "$line")
  fi
  # pgbench's claims touched only the key columns; put those cases back in the queue as they were
  # (claim_sql does so itself).
  [ $engine = postgres ] && psql "$db" -qc "UPDATE cases SET status = 'triaged', assignee_id = NULL, lease_expires_at = NULL WHERE status = 'in_review'"
  start_server "$db"
  for reviewers in 16 64 256; do
    loadgen intake --url "$URL" --token "$tok" --seconds $((SECS + 2)) --rate "$INTAKE_RATE" --clients 512 --run "c$reviewers" >"$WORK/intake.out" &
    intake=$!
    sleep 1
    line=$(loadgen claim --url "$URL" --tokens-file "$WORK/reviewers" --seconds "$SECS" --clients $reviewers --queue general)
    wait $intake
    claims=$(field per_second "$line")
    echo "$engine $reviewers reviewers: $line; $(awk -v a="$claims" -v b="$ceiling" 'BEGIN {printf "%.0f%% of ceiling", 100 * a / b}')"
    echo "$engine   intake beside it: $(cat "$WORK/intake.out")"
  done
  echo "$engine server memory: $(memory)"
  stop_server
  if [ $engine = sqlite ]; then rm -f "$db"*; fi
done
