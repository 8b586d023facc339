#!/usr/bin/env bash
# URL import throughput next to `upgate push` of the same file, on this machine.
#
#   tests/bench/import_bench.sh [SIZE_MIB] [REPEAT]      (BIN=path/to/upgate to pick a build)
#
# An origin gateway (--files-auth off) holds the file and serves it with Range/ETag on
# loopback; a second gateway imports it by `media.addFromUrl` (timed from the call to
# READY, SHA-256 computed on completion included) and then receives the same file by
# `upgate push` (default settings, verified end to end). Data on /dev/shm. Prints one JSON
# line per round: MB/s of each, the ratio, and the importing gateway's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MIB=${1:-1024}
REPEAT=${2:-3}
BIN=${BIN:-target/release/upgate}
[ -x "$BIN" ] || { echo "build first: cargo build --release (or BIN=…)" >&2; exit 2; }
ROOT=$(mktemp -d /dev/shm/upgate-import-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$ROOT"; }
trap cleanup EXIT
ADMIN=0123456789abcdef0123456789abcdef
PARTNER="100:$ADMIN:usersecret0123456789"

start() { # start NAME FLAGS… → sets URL and PID
  local dir="$ROOT/$1"; shift
  mkdir -p "$dir"
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" --user-requests 0 --partner "$PARTNER" "$@" \
    >"$dir.out" 2>"$dir.err" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 100); do grep -q listening "$dir.out" 2>/dev/null && break; sleep 0.1; done
  URL=$(sed -n 's/^listening on //p' "$dir.out")
}

json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d$1)"; }

head -c $((SIZE_MIB << 20)) /dev/urandom >"$ROOT/file.bin"
start origin --files-auth off
ORIGIN=$URL
SRC=$("$BIN" push "$ROOT/file.bin" --url "$ORIGIN" --json --state-dir "$ROOT/state" | json_field '["upload_url"]')
KS=$("$BIN" ks --partner-id 100 --secret "$ADMIN" --user bench)

for round in $(seq "$REPEAT"); do
  rm -rf "$ROOT/gw" "$ROOT/state2"
  start gw --import-allow-private
  GW=$URL
  GW_PID=$PID
  t0=$(date +%s.%N)
  ID=$(curl -s "$GW/api_v3/service/media/action/addFromUrl" --data-urlencode "ks=$KS" -d format=1 \
    -d 'mediaEntry[objectType]=KalturaMediaEntry' -d 'mediaEntry[name]=bench' --data-urlencode "url=$SRC" |
    json_field '["id"]')
  while :; do
    STATUS=$(curl -s "$GW/api_v3/service/media/action/get" --data-urlencode "ks=$KS" -d format=1 -d "entryId=$ID" | json_field '["status"]')
    [ "$STATUS" = 0 ] || break
    sleep 0.05
  done
  t1=$(date +%s.%N)
  [ "$STATUS" = 2 ] || { echo "import ended with status $STATUS" >&2; exit 1; }
  RSS=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$GW_PID/status")
  PUSH_S=$("$BIN" push "$ROOT/file.bin" --url "$GW" --ks "$KS" --json --state-dir "$ROOT/state2" | json_field '["seconds"]')
  python3 - "$SIZE_MIB" "$t0" "$t1" "$PUSH_S" "$RSS" <<'PY'
import json, sys
mib, t0, t1, push_s, rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
mb = mib * 1048576 / 1e6
imp = mb / (t1 - t0)
push = mb / push_s
print(json.dumps({"size_mib": mib, "import_mb_s": round(imp), "push_mb_s": round(push),
                  "import_over_push": round(imp / push, 2), "import_peak_rss_mib": rss}))
PY
  kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
done
