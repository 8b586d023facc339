#!/usr/bin/env bash
# 1 GiB through the object-storage backend next to the local-disk backend: the bench
# kit's `single` scenario (tus, 8 MiB PATCHes, verified by download), same build, data
# on tmpfs. The S3 server is moto (tests/.venv) or s3s-fs (when S3S_FS points at it).
# Prints one JSON line per run with the gateway's peak RSS and CPU time (also per GiB).
# Usage: tests/bench/run_s3.sh [REPEAT]
#   UPLOADS=64 SIZE=64MiB   the kit's `parallel` scenario instead (uploads at once)
#   STORE_OPTS='&payload=unsigned'   added to the store URL (plain HTTP signs by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEAT=${1:-1}
UPLOADS=${UPLOADS:-1}
SIZE=${SIZE:-1GiB}
STORE_OPTS=${STORE_OPTS:-}
BIN=target/release/upgate
SHARED_BENCH=${SHARED_BENCH:-../shared/bench}
cargo build --release --quiet -p upgate
work=$(mktemp -d /dev/shm/upgate-s3.XXXXXX)
if [ -n "${S3S_FS:-}" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$work/s3/uploads"
  "$S3S_FS" --host 127.0.0.1 --port "$port" --access-key test --secret-key testsecret "$work/s3" >/dev/null 2>&1 &
  s3_pid=$!; endpoint="http://127.0.0.1:$port"; server=s3s-fs
  sleep 0.5
else
  tests/.venv/bin/moto_server -H 127.0.0.1 -p 0 2>"$work/moto.log" &
  s3_pid=$!; server=moto
  for _ in $(seq 100); do grep -q "Running on" "$work/moto.log" 2>/dev/null && break; sleep 0.1; done
  endpoint=$(sed -n 's/.*Running on \(http[^ ]*\).*/\1/p' "$work/moto.log" | head -1)
  curl -sf -X PUT "$endpoint/uploads" >/dev/null
fi
trap 'kill $s3_pid 2>/dev/null; rm -rf "$work"' EXIT
run() { # run NAME STORE_ARGS...
  local dir; dir=$(mktemp -d "$work/gw.XXXXXX")
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=testsecret "$BIN" serve --listen 127.0.0.1:0 \
    --data-dir "$dir" --files-auth off --user-requests 0 "${@:2}" >"$dir.out" 2>"$dir.err" &
  local pid=$!
  for _ in $(seq 100); do grep -q listening "$dir.out" 2>/dev/null && break; sleep 0.05; done
  local url; url=$(sed -n 's/^listening on //p' "$dir.out")
  local out
  out=$(python3 "$SHARED_BENCH/tus_bench.py" upload --url "$url/files/" --uploads "$UPLOADS" \
          --size "$SIZE" --chunk 8MiB --concurrency "$UPLOADS" --verify --max-seconds 900 | tail -n1)
  local ticks; ticks=$(awk '{print $14+$15}' "/proc/$pid/stat")
  local hwm; hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # Each run's data goes (tmpfs: runs of several GiB would otherwise fill memory and
  # slow the next ones down as the kernel reclaims).
  rm -rf "$dir" "$dir.out" "$dir.err"
  [ "$server" != s3s-fs ] || find "$work/s3/uploads" -mindepth 1 -delete
  python3 -c "import json,sys; d=json.loads(sys.argv[1]); d.update(name=sys.argv[2], server_peak_rss_MiB=round(int(sys.argv[3])/1024,1), server_cpu_s=round(int(sys.argv[4])/$(getconf CLK_TCK),2)); d.update(server_cpu_s_per_GiB=round(d['server_cpu_s']/(d['bytes']/2**30),2)); print(json.dumps(d))" "$out" "$1" "$hwm" "$ticks"
}
for _ in $(seq "$REPEAT"); do
  run local_disk
  run "s3_$server" --store "s3://uploads?endpoint=$endpoint&region=us-east-1$STORE_OPTS"
done
