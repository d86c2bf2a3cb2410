#!/usr/bin/env bash
# What the Docker image's final stage holds, checked without Docker (no engine on these machines):
# `npm run build` here, then package*.json + dist/ + bin/ (exactly what the Dockerfile copies) into a
# temporary directory, `npm ci --omit=dev` there, and the built migrate, API and worker run from it with
# NODE_ENV=production against the local Postgres/Redis, in their own schema, queue prefix and storage dir.
# Checks: no devDependency got installed; /readyz, /client/uploader.js (the prebuilt bundle), /docs,
# /admin/login and /uploader answer; a posted dump migrates to `completed`; a dump over 8 MiB is accepted
# (validated on a worker thread); the same dump uploaded with the compiled `bsm` CLI (tus, 4 MiB chunks) is
# checked and sealed on a worker thread as it arrives (bsm_upload_finish_seconds{how="streamed"}); `bsm status` runs.
# Prints the install's size beside the dev install's (a stand-in for the image size).
# Not a jest test: the install downloads from the npm registry (~20-40 s here), too slow and networked.
# Usage: bash scripts/check-production-install.sh [--keep]   (--keep leaves the directory for a look)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1

DATABASE_URL="${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
ID="prodcheck_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/bsm-production.XXXXXX")"
PIDS=()

fail() { echo "check-production-install: FAILED: $*" >&2; for f in "$DIR"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; exit 1; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  psql "$DATABASE_URL" -Xqc "DROP SCHEMA IF EXISTS \"$ID\" CASCADE" >/dev/null 2>&1 || true
  redis-cli -u "$REDIS_URL" --no-auth-warning --scan --pattern "$ID:*" 2>/dev/null | xargs -r redis-cli -u "$REDIS_URL" --no-auth-warning del >/dev/null 2>&1 || true
  if [ "$KEEP" -eq 1 ]; then echo "kept: $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

echo "== build (npm run build)"
npm run --silent build

echo "== production install in $DIR (npm ci --omit=dev)"
cp -r package.json package-lock.json dist bin "$DIR"/
t0=$SECONDS
(cd "$DIR" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >install.log 2>&1) || fail "npm ci --omit=dev"
echo "installed in $(( SECONDS - t0 )) s"

# Every devDependency npm marks dev-only must be absent. (A devDependency that a runtime dependency also
# needs, e.g. typescript as an optional peer of bull-board's valibot, is not dev-only and is installed.)
node -e '
  const dir = process.argv[1], pkg = require(dir + "/package.json"), lock = require(dir + "/package-lock.json").packages;
  const fs = require("fs");
  const bad = Object.keys(pkg.devDependencies).filter((n) => lock["node_modules/" + n]?.dev && fs.existsSync(dir + "/node_modules/" + n));
  const alsoRuntime = Object.keys(pkg.devDependencies).filter((n) => !lock["node_modules/" + n]?.dev && fs.existsSync(dir + "/node_modules/" + n));
  if (bad.length) { console.error("devDependencies installed: " + bad.join(", ")); process.exit(1); }
  console.log("no dev-only package installed" + (alsoRuntime.length ? "; needed by runtime dependencies too: " + alsoRuntime.join(", ") : ""));
' "$DIR" || fail "devDependencies in the production install"
echo "size: production node_modules $(du -sh "$DIR/node_modules" | cut -f1), dev checkout's $(du -shL "$ROOT/node_modules" | cut -f1)"

echo "== run the build with runtime dependencies only"
PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
BASE="http://127.0.0.1:$PORT"
ADMIN="prodcheck-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export NODE_ENV=production DATABASE_URL REDIS_URL DATABASE_SCHEMA="$ID" QUEUE_PREFIX="$ID" STORAGE_DIR="$DIR/objects" \
  PORT HOST=127.0.0.1 ADMIN_TOKEN="$ADMIN" ENCRYPTION_KEY="$(openssl rand -base64 32)" WORKER_METRICS_PORT=0 LOG_LEVEL=warn
cd "$DIR"
node dist/scripts/migrate.js >migrate.log 2>&1 || fail "dist/scripts/migrate.js"
node dist/api/main.js >api.log 2>&1 & PIDS+=($!)
node --max-old-space-size=1024 --max-semi-space-size=32 dist/worker/main.js >worker.log 2>&1 & PIDS+=($!)

for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "$BASE/readyz" | grep -q '"status":"ready"' || fail "/readyz is not ready"
echo "ok   /readyz"

expect() { # expect <path> <status> <content-type prefix>
  local out; out="$(curl -s -o "$DIR/body" -w '%{http_code} %{content_type}' "$BASE$1")"
  [[ "$out" == "$2 $3"* ]] || fail "$1 answered '$out', expected '$2 $3…'"
  echo "ok   $1 → $out"
}
expect /client/uploader.js 200 text/javascript
grep -q 'export{' "$DIR/body" || fail "/client/uploader.js is not the ES module bundle"
expect /client/demo.js 200 text/javascript
expect /uploader 200 text/html
expect /docs 200 text/html
expect /docs/assets/swagger-ui-bundle.js 200 text/javascript
expect /v1/openapi.json 200 application/json
expect /admin/login 200 text/html

echo "== a dump migrates (the built worker runs it)"
json() { node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]??""))' "$1"; }
TOKEN="$(curl -sf -X POST "$BASE/v1/admin/tokens" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"userId":"prodcheck"}' | json token)"
[ -n "$TOKEN" ] || fail "minting a token"
BATCH="$(curl -sf -X POST "$BASE/v1/dumps" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary @- <<'JSON' | json batchId
{"format":"browser-storage-dump","version":1,"source":{"app":"catalyst-studio","capturedAt":"2026-11-28T10:00:00.000Z"},
 "localStorage":[{"key":"contentTypes","value":"[{\"id\":\"t1\",\"name\":\"BlogPost\",\"pluralName\":\"BlogPosts\",\"icon\":\"x\",\"fields\":[],\"relationships\":[],\"createdAt\":\"2025-08-12T06:56:40.123Z\",\"updatedAt\":\"2025-08-12T06:56:40.123Z\"}]"}],
 "sessionStorage":[],"indexedDB":[]}
JSON
)"
[ -n "$BATCH" ] || fail "posting a dump"
status=""
for _ in $(seq 1 150); do
  status="$(curl -sf "$BASE/v1/batches/$BATCH" -H "Authorization: Bearer $TOKEN" | json status)"
  case "$status" in completed|failed|rolled_back) break ;; esac
  sleep 0.2
done
[ "$status" = "completed" ] || fail "batch $BATCH ended '$status', expected completed"
echo "ok   batch $BATCH completed"

echo "== a large dump is validated on a check thread (dist/api/uploads/checkThread.js, no tsx)"
node -e '
const head = { format: "browser-storage-dump", version: 1, source: { app: "catalyst-studio", capturedAt: "2026-11-28T10:00:00.000Z" } };
const items = Array.from({ length: 20000 }, (_, i) => ({ id: "i" + i, contentTypeId: "t1", data: { title: "x".repeat(400) }, createdAt: "2025-08-12T07:13:20.000Z", updatedAt: "2025-08-12T07:13:20.000Z" }));
const entry = { area: "localStorage", key: "content-storage", value: JSON.stringify({ state: { contentItems: items }, version: 0 }) };
process.stdout.write([head, entry, { end: true, entries: 1 }].map((l) => JSON.stringify(l)).join("\n") + "\n");' >large.ndjson
[ "$(wc -c <large.ndjson)" -gt 8388608 ] || fail "large.ndjson is not over 8 MiB"
LARGE="$(curl -sf -X POST "$BASE/v1/dumps" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-ndjson' --data-binary @large.ndjson | json batchId)"
[ -n "$LARGE" ] || fail "posting a dump over 8 MiB (validated on a worker thread)"
echo "ok   a $(wc -c <large.ndjson)-byte dump accepted: batch $LARGE"

echo "== a large resumable upload is checked and sealed on a worker thread as it arrives (dist/api/uploads/checkThread.js)"
TUS_TOKEN="$(curl -sf -X POST "$BASE/v1/admin/tokens" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"userId":"prodcheck-tus"}' | json token)"
BSM_URL="$BASE" BSM_TOKEN="$TUS_TOKEN" BSM_CHUNK_BYTES=4194304 BSM_STATE_DIR="$DIR/bsm-state" node bin/bsm.js upload large.ndjson >upload.log 2>&1 \
  || fail "bin/bsm.js upload large.ndjson (tus): $(tail -3 upload.log)"
grep -Eq 'batch [0-9a-f-]{36}' upload.log || fail "bsm upload printed no batch id"
curl -sf "$BASE/metrics" | grep -Eq '^bsm_upload_finish_seconds_count\{how="streamed",outcome="accepted"\} [1-9]' \
  || fail "the upload was not checked while it arrived (no bsm_upload_finish_seconds{how=\"streamed\"})"
echo "ok   $(grep -Eo 'batch [0-9a-f-]{36}' upload.log | head -1): checked while it arrived"

# The compiled CLI (no tsx here): bin/bsm.js runs dist/cli.
BSM_URL="$BASE" BSM_TOKEN="$ADMIN" node bin/bsm.js status "$BATCH" >cli.log 2>&1 || fail "bin/bsm.js status"
grep -q completed cli.log || fail "bsm status does not say completed"
echo "ok   bsm status $BATCH (compiled CLI)"
echo "production install: ok"
