#!/usr/bin/env bash
# End-to-end browser tests of the reviewer console: builds `warden`, starts a demo desk with no
# cases on a free loopback port, creates API tokens for the integration user and a lead, runs the specs
# (node --test e2e/*.test.mjs) in headless Debian Chromium via playwright-core, stops the server.
#
#   bash e2e/run.sh                   # from the repository root (npm ci --prefix e2e first)
#   WARDEN_BIN=path bash e2e/run.sh   # an already built binary instead of `cargo build`
#
# Screenshots of the main pages land in e2e/screenshots/. Exit status: the tests'.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
  echo "e2e: $CHROMIUM is missing (apt-get install -y chromium)" >&2
  exit 1
fi
if [ ! -d e2e/node_modules/playwright-core ]; then
  echo "e2e: playwright-core is not installed (npm ci --prefix e2e)" >&2
  exit 1
fi

if [ -z "${WARDEN_BIN:-}" ]; then
  cargo build --bin warden
  WARDEN_BIN="$ROOT/target/debug/warden"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warden-e2e.XXXXXX")
SERVER_PID=""
cleanup() {
  local status=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$TMP/server.log" ]; then
    echo "e2e: last lines of the server's log:" >&2
    tail -n 40 "$TMP/server.log" >&2 || true
  fi
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

healthy() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
    .then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));' "$1"
}

# Start the demo desk; a port taken between choosing and binding is retried with another one.
started=""
for _ in 1 2 3; do
  PORT=$(free_port)
  BASE_URL="http://127.0.0.1:$PORT"
  rm -f "$TMP"/desk.db*
  NO_COLOR=1 "$WARDEN_BIN" --database-url "$TMP/desk.db" demo --listen "127.0.0.1:$PORT" --reports 0 \
    >"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do # up to 30 s
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    if healthy "$BASE_URL/healthz"; then started=yes; break; fi
    sleep 0.2
  done
  [ -n "$started" ] && break
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
done
if [ -z "$started" ]; then
  echo "e2e: the warden demo did not become healthy" >&2
  exit 1
fi
echo "e2e: warden demo at $BASE_URL (database $TMP/desk.db)"

PLATFORM_TOKEN=$("$WARDEN_BIN" --database-url "$TMP/desk.db" token create platform)
LEAD_TOKEN=$("$WARDEN_BIN" --database-url "$TMP/desk.db" token create lena.lead)
export BASE_URL PLATFORM_TOKEN LEAD_TOKEN
export SCREENSHOT_DIR="$ROOT/e2e/screenshots"
rm -rf "$SCREENSHOT_DIR"
mkdir -p "$SCREENSHOT_DIR"

# Every test has its own timeout; this is the backstop for the whole run.
set +e
timeout --kill-after=10 180 node --test --test-reporter=spec "$ROOT"/e2e/*.test.mjs
status=$?
set -e
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "e2e: the browser tests did not finish within 180 s" >&2
fi
exit "$status"
