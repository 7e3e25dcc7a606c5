#!/usr/bin/env bash
# The HTTP API against its own OpenAPI document: Schemathesis generates requests for every
# operation (valid and invalid ones) and checks each answer. The server runs on a fresh SQLite desk
# with demo data, on a free loopback port, and Schemathesis calls it as an admin, who may call every
# operation. Fails on any 5xx, any status code or content type the document does not list, any body
# or header that does not match its documented schema, any operation answering without the
# credential it documents, any method a path does not have answered other than with 405 and Allow,
# and any panic in the server's log.
#
# Checks left out, because they do not apply here:
# - positive_data_acceptance: a request valid by the schema may still be refused by the desk (an id
#   that does not exist, a case not in a state to be decided), with a documented 404, 409 or 422.
# - negative_data_rejection: some requests the schema calls invalid are accepted by design: blank
#   query parameters are no filter (console forms send them), an empty policy book imports nothing.
# - use_after_free, ensure_resource_availability: checks of the stateful phase, which needs links
#   between operations that the document does not declare.
# - object_level_authorization: needs a second caller's credential; who may see what is covered by
#   the HTTP suite's access tests.
#
# usage: scripts/schemathesis.sh [MAX_EXAMPLES]   (generated cases per operation and phase)
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_EXAMPLES="${1:-100}"
SEED="${SCHEMATHESIS_SEED:-20260504}"
VERSION=4.32.5
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/warden-schemathesis-$VERSION"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "installing Schemathesis $VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

cargo build --quiet --bin warden
BIN="${CARGO_TARGET_DIR:-target}/debug/warden"
WORK=$(mktemp -d)
SERVER=
stop() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap stop EXIT

DB="$WORK/warden.db"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
"$BIN" --database-url "$DB" seed --reports 300 >/dev/null
head -c 24 /dev/urandom | base64 | "$BIN" --database-url "$DB" \
  user add schemathesis --role admin --teams child_safety,legal --password-stdin >/dev/null
TOKEN=$("$BIN" --database-url "$DB" token create schemathesis --name schemathesis)

WARDEN_LOG=warn "$BIN" --database-url "$DB" serve --listen "127.0.0.1:$PORT" 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do
  curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$BASE/healthz" >/dev/null

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance
CHECKS+=,response_schema_conformance,response_headers_conformance
CHECKS+=,ignored_auth,missing_required_header,unsupported_method,allow_header_conformance
status=0
HOOKS="$PWD/scripts/schemathesis_hooks.py"
# Run in the scratch directory: Schemathesis keeps failures there to replay, and this run starts fresh.
# One worker: with two, Hypothesis reads lambda sources with `ast` from two threads at once, which
# Python 3.11 can fail with a spurious "AST constructor recursion depth mismatch"; one is no slower.
(cd "$WORK" && SCHEMATHESIS_HOOKS="$HOOKS" "$VENV/bin/schemathesis" run "$BASE/api/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks "$CHECKS" \
  --phases examples,coverage,fuzzing \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --workers 1 \
  --request-timeout 20 \
  --suppress-health-check too_slow \
  --generation-database none \
  --no-color \
  --report junit --report-junit-path "$WORK/junit.xml") || status=$?

if grep -q "panicked" "$WORK/server.log"; then
  echo "the server panicked:" >&2
  grep -A5 "panicked" "$WORK/server.log" >&2
  status=1
fi
if [ -f "$WORK/junit.xml" ]; then
  python3 - "$WORK/junit.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
print(f"schemathesis: {tests - failed} passed, {failed} failed")
EOF
fi
exit "$status"
