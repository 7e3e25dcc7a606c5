#!/usr/bin/env bash
# Intake against its ceiling, on SQLite and PostgreSQL.
#   scripts/bench/intake.sh [SECONDS] [CLIENTS]
# The ceiling is examples/ceiling.rs (the same HTTP stack answering a fixed JSON body on the same
# routes), driven by the same load generator in the same run. Then Warden's peak with CLIENTS
# closed-loop clients, then open-loop offered loads at a quarter, half, three quarters and all of
# that peak, with p50/p99 counted from each request's scheduled start.
source "$(dirname "$0")/lib.sh"
SECS="${1:-15}"
CLIENTS="${2:-32}"
build

"$EX/ceiling" "127.0.0.1:$CEILING_PORT" &
CEILING=$!
wait_healthy "http://127.0.0.1:$CEILING_PORT"
ceiling_line=$(loadgen intake --url "http://127.0.0.1:$CEILING_PORT" --token none --seconds "$SECS" --clients "$CLIENTS")
kill "$CEILING"; wait "$CEILING" 2>/dev/null || true
ceiling=$(field per_second "$ceiling_line")
echo "ceiling (same stack, fixed JSON, $CLIENTS clients): $ceiling_line"

for engine in ${ENGINES:-sqlite postgres}; do
  db=$(fresh_database $engine)
  "$BIN" --database-url "$db" migrate >/dev/null
  tok=$(token "$db" bench-intake integration)
  start_server "$db"
  peak_line=$(loadgen intake --url "$URL" --token "$tok" --seconds "$SECS" --clients "$CLIENTS" --run p)
  peak=$(field per_second "$peak_line")
  requests=$(field requests "$peak_line"); secs=$(field seconds "$peak_line")
  peak_rps=$(awk -v r="$requests" -v s="$secs" 'BEGIN {printf "%.0f", r / s}')
  echo "$engine peak ($CLIENTS clients): $peak_line"
  echo "$engine ratio to ceiling: $(awk -v a="$peak" -v b="$ceiling" 'BEGIN {printf "%.1f%%", 100 * a / b}')"
  for share in 25 50 75 100; do
    rate=$(awk -v p="$peak_rps" -v s="$share" 'BEGIN {printf "%.0f", p * s / 100}')
    line=$(loadgen intake --url "$URL" --token "$tok" --seconds "$SECS" --rate "$rate" --clients 512 --run "o$share")
    echo "$engine offered ${share}% of peak ($rate requests/s): $line"
  done
  echo "$engine server memory: $(memory)"
  stop_server
done
