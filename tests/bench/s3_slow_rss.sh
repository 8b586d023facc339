#!/usr/bin/env bash
# Peak RSS of a gateway on object storage (s3s-fs) under many concurrent slow uploads:
# `upgate-loadtest parallel --clock real` sends UPLOADS uploads of SIZE at once through
# a modeled link of LINK_MBPS shared by all of them (one PATCH stream each).
# Usage: tests/bench/s3_slow_rss.sh [UPLOADS] [SIZE] [LINK_MBPS]   (BIN=…, S3S_FS=…;
# STORE=file:///dir compares the local store; SERVE_FLAGS adds serve flags)
set -euo pipefail
cd "$(dirname "$0")/../.."
UPLOADS=${1:-1000}
SIZE=${2:-8MiB}
LINK=${3:-400}
BIN=${BIN:-target/release/upgate}
LOADTEST=${LOADTEST:-target/release/upgate-loadtest}
S3S_FS=${S3S_FS:-${UPGATE_S3S_FS:-$HOME/.cache/upgate-tools/bin/s3s-fs}}
for b in "$BIN" "$LOADTEST" "$S3S_FS"; do
  [ -x "$b" ] || { echo "missing $b (cargo build --release --workspace; tests/run.sh installs s3s-fs)" >&2; exit 2; }
done
# On disk, not tmpfs: UPLOADS × SIZE of object data must not compete with the processes
# for memory. The loadtest's source files (UPLOADS × SIZE again) go there too, so a run
# that is interrupted leaves nothing behind. Needs ~3 × UPLOADS × SIZE of free disk
# (sources, objects, the gateway's spool).
work=$(mktemp -d "${TMPDIR:-/tmp}/upgate-s3slow.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/s3/uploads"
"$S3S_FS" --host 127.0.0.1 --port "$port" --access-key test --secret-key testsecret "$work/s3" >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=testsecret "$BIN" serve --listen 127.0.0.1:0 \
  --data-dir "$work/gw" --files-auth off --user-requests 0 --user-uploads 0 \
  --partner "4242:0123456789abcdef0123456789abcdef" ${SERVE_FLAGS:-} \
  --store "${STORE:-s3://uploads?endpoint=http://127.0.0.1:$port&region=us-east-1}" >"$work/gw.out" 2>"$work/gw.err" &
gw=$!
pids+=($gw)
for _ in $(seq 100); do grep -q listening "$work/gw.out" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$work/gw.out")
( while kill -0 "$gw" 2>/dev/null; do
    { awk '/^Threads:/{t=$2} /^VmRSS:/{r=int($2/1024)} END{printf "%s %s ", t, r}' "/proc/$gw/status"; ls /proc/$gw/fd | wc -l; } >>"$work/samples"
    sleep 1
  done ) &
pids+=($!)
t0=$(date +%s)
TMPDIR="$work" "$LOADTEST" parallel --clock real --url "$url" --partner-id 4242 \
  --secret 0123456789abcdef0123456789abcdef --uploads "$UPLOADS" --size "$SIZE" --link-mbps "$LINK" \
  --parallel 1 --max-seconds "${MAX_SECONDS:-1800}" --json >"$work/lt.json" 2>"$work/lt.err" || { tail -5 "$work/lt.err" >&2; }
t1=$(date +%s)
hwm=$(awk '/^VmHWM:/{print int($2/1024)}' "/proc/$gw/status")
threads=$(awk '{print $1}' "$work/samples" 2>/dev/null | sort -n | tail -1)
[ -n "${SHOW_RSS:-}" ] && awk '{printf "%s/%s ", $2, $3} END{print ""}' "$work/samples" >&2
python3 - "$work/lt.json" "$UPLOADS" "$SIZE" "$LINK" "$hwm" "$((t1 - t0))" "${threads:-0}" <<'PY'
import json, sys
path, uploads, size, link, hwm, secs, threads = sys.argv[1:]
try:
    lt = json.loads(open(path).read().strip().splitlines()[-1])
except Exception:
    lt = {}
keep = {k: lt[k] for k in ("goodput_mbps", "sha256_match", "retries", "resent_percent",
                           "upload_wall_seconds_max") if k in lt}
if "errors" in lt:
    keep["errors"] = len(lt["errors"])
print(json.dumps({"uploads": int(uploads), "size": size, "link_mbps": int(link),
                  "gateway_peak_rss_mib": int(hwm), "gateway_peak_threads": int(threads),
                  "seconds": int(secs), **keep}))
PY
