# Shared by the benchmark scripts: the release build, fresh databases, a server to measure and its
# resident memory. Everything listens on loopback only. ENGINES="sqlite" (or "postgres") limits a
# script to one engine; both by default.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PG_ADMIN_URL="${WARDEN_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
PORT="${WARDEN_BENCH_PORT:-18931}"
CEILING_PORT=$((PORT + 1))
URL="http://127.0.0.1:$PORT"
BIN=target/release/warden
EX=target/release/examples
WORK=$(mktemp -d)
SERVER=""
PG_DBS=()

cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  for db in "${PG_DBS[@]}"; do psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

build() {
  cargo build -q --release --bin warden --example loadgen --example ceiling --example grow --example claim_sql
  # The benchmarks measure the desk, not its rate limit: one token may send as fast as it can.
  "$BIN" config | sed -e 's/^requests_per_second = .*/requests_per_second = 1000000/' \
    -e 's/^burst = .*/burst = 1000000/' >"$WORK/bench.toml"
  export WARDEN_CONFIG="$WORK/bench.toml"
}

# fresh_database ENGINE → prints a URL of an empty, migrated database.
fresh_database() {
  case "$1" in
    sqlite) rm -f "$WORK"/bench.db*; echo "$WORK/bench.db" ;;
    postgres)
      local db="warden_bench_$$_${#PG_DBS[@]}"
      psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $db" >/dev/null
      PG_DBS+=("$db")
      echo "${PG_ADMIN_URL%/*}/$db" ;;
  esac
}

# token DB_URL USERNAME ROLE → creates the user and prints a new API token of theirs.
token() {
  if [ "$3" = integration ]; then
    "$BIN" --database-url "$1" user add "$2" --role "$3" >/dev/null
  else
    printf 'bench-password-1\n' | "$BIN" --database-url "$1" user add "$2" --role "$3" --password-stdin >/dev/null
  fi
  "$BIN" --database-url "$1" token create "$2"
}

# reviewers DB_URL N: N specialists, their API tokens one per line in $WORK/reviewers (for the load
# generator's --tokens-file).
reviewers() {
  : >"$WORK/reviewers"
  for i in $(seq 1 "$2"); do token "$1" "reviewer-$i" specialist >>"$WORK/reviewers"; done
}

wait_healthy() {
  for _ in $(seq 1 100); do curl -fs "$1/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server at $1 did not come up" >&2; return 1
}

# start_server DB_URL: runs `warden serve` on it in the background (pid in $SERVER).
start_server() {
  WARDEN_LOG=error "$BIN" --database-url "$1" serve --listen "127.0.0.1:$PORT" &
  SERVER=$!
  wait_healthy "$URL"
}

stop_server() {
  [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  SERVER=""
}

# memory: the server's resident set now and at its peak, in MB.
memory() {
  awk '/VmRSS/ {rss=$2} /VmHWM/ {hwm=$2} END {printf "rss_mb=%.0f peak_rss_mb=%.0f\n", rss/1024, hwm/1024}' "/proc/$SERVER/status"
}

# field NAME LINE: one key=value figure from a loadgen line.
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2}'; }

loadgen() { "$EX/loadgen" "$@"; }
