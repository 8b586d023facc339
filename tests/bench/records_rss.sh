#!/usr/bin/env bash
# Memory as records pile up: creates uploads on the embedded redb store as fast as wrk
# can (2 threads, 32 connections, tus POST) for SECONDS and prints the gateway's RSS every
# 15 s, then one JSON line (records created, creations/s, peak RSS). Extra arguments go
# to `upgate serve` (e.g. `--state-cache 16MiB`); run it under `env MALLOC_ARENA_MAX=2`
# to see the allocator's share. Data on /dev/shm.
# Usage: [BIN=path/to/upgate] tests/bench/records_rss.sh [SECONDS] [serve flags...]
#        (135 s ≈ 1M records on the 2-core project machine)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-135}
shift || true
if [ -z "${BIN:-}" ]; then BIN=target/release/upgate; cargo build --release --quiet -p upgate; fi
dir=$(mktemp -d /dev/shm/upgate-records.XXXXXX)
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir/data" --files-auth off --user-requests 0 \
  --user-uploads 0 "$@" >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$dir/out")
(for i in $(seq 1 $((SECS / 15))); do
  sleep 15
  echo "t=$((i * 15))s rss_MiB=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/$pid/status)" >&2
done) &
sampler=$!
out=$(wrk -t2 -c32 -d"${SECS}s" --timeout 10s -s ../shared/bench/create.lua "$url/files/" \
  | sed -n 's/^WRKJSON //p')
wait $sampler || true
hwm=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$pid/status)
db=$(du -m "$dir/data/state.redb" | cut -f1)
echo "{\"seconds\":$SECS,\"flags\":\"$*\",\"peak_rss_MiB\":$hwm,\"state_redb_MiB\":$db,${out#\{}"
