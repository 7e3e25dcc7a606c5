#!/usr/bin/env bash
# Intake and claim throughput over loopback on SQLite and PostgreSQL.
# usage: scripts/bench.sh [SECONDS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-15}"
CONCURRENCY="${2:-32}"
PG_ADMIN_URL="${WARDEN_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
PORT=18931
cargo build --release --bin warden --example loadgen
BIN=target/release/warden
LOADGEN=target/release/examples/loadgen
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

run_engine() {
  local name="$1" url="$2"
  "$BIN" --database-url "$url" migrate >/dev/null
  "$BIN" --database-url "$url" user add bench-intake --role integration >/dev/null
  printf 'bench-password-1\n' | "$BIN" --database-url "$url" user add bench-spec --role specialist --password-stdin >/dev/null
  local intake_token claim_token
  intake_token=$("$BIN" --database-url "$url" token create bench-intake)
  claim_token=$("$BIN" --database-url "$url" token create bench-spec)
  WARDEN_LOG=warn "$BIN" --database-url "$url" serve --listen "127.0.0.1:$PORT" &
  SERVER=$!
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
  echo "### $name ($(nproc) cores, $CONCURRENCY clients, ${SECONDS_PER_RUN}s)"
  "$LOADGEN" intake "http://127.0.0.1:$PORT" "$intake_token" "$SECONDS_PER_RUN" "$CONCURRENCY"
  "$LOADGEN" claim "http://127.0.0.1:$PORT" "$claim_token" "$SECONDS_PER_RUN" "$CONCURRENCY" general
  if [ "$name" = PostgreSQL ]; then
    # A table filled seconds ago has no planner statistics yet; autovacuum gathers them within
    # about a minute on a live desk. Measure claims again once they exist.
    psql "$url" -qc "ANALYZE cases" >/dev/null
    echo "(after ANALYZE)"
    "$LOADGEN" claim "http://127.0.0.1:$PORT" "$claim_token" "$SECONDS_PER_RUN" "$CONCURRENCY" general
  fi
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
}

run_engine "SQLite" "$WORK/bench.db"
DB="warden_bench_$$"
psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null
run_engine "PostgreSQL" "${PG_ADMIN_URL%/*}/$DB"
psql "$PG_ADMIN_URL" -qc "DROP DATABASE $DB" >/dev/null
