#!/usr/bin/env bash
# Kaltura-path benchmark next to the tus `single` figure, same server build, data on
# tmpfs: 1 GiB through uploadToken.upload in 8 MiB chunks, sequential and 6 parallel
# with resumeAt. Prints one JSON line per run with the server's peak RSS and CPU time,
# and how many MiB were staged apart (copied in later).
# Usage: tests/bench/run_kaltura.sh [REPEAT]   (needs ../shared/bench beside the repo)
#        BIN=/path/to/upgate tests/bench/run_kaltura.sh 3   (another build, e.g. a
#        before/after comparison; nothing is built then)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEAT=${1:-1}
SHARED_BENCH=${SHARED_BENCH:-../shared/bench}
if [ -z "${BIN:-}" ]; then
  BIN=target/release/upgate
  cargo build --release --quiet
fi
SECRET=0123456789abcdef0123456789abcdef
run() { # run NAME COMMAND...
  local dir; dir=$(mktemp -d /dev/shm/upgate-bench.XXXXXX)
  # Anonymous tus for the bench kit; no request-rate cap (a local client sends 8 MiB
  # chunks far faster than any user link could).
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" --partner "12345:$SECRET" \
    --files-auth off --user-requests 0 >"$dir.out" 2>"$dir.err" &
  local pid=$!
  for _ in $(seq 100); do grep -q listening "$dir.out" 2>/dev/null && break; sleep 0.05; done
  local url; url=$(sed -n 's/^listening on //p' "$dir.out")
  local out; out=$("${@:2}" --url "$url${SUFFIX:-}" 2>/dev/null | tail -n1)
  local ticks; ticks=$(awk '{print $14+$15}' "/proc/$pid/stat")
  local hwm; hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status")
  # Bytes staged apart and copied in later (parallel chunks that arrived too early).
  local staged; staged=$(curl -sf "$url/metrics" | awk '/^upgate_staged_bytes_total /{print $2}')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir" "$dir.out" "$dir.err"
  python3 -c "import json,sys; d=json.loads(sys.argv[1]); d.update(name=sys.argv[2], server_peak_rss_MiB=round(int(sys.argv[3])/1024,1), server_cpu_s=round(int(sys.argv[4])/$(getconf CLK_TCK),2), staged_MiB=round(float(sys.argv[5])/2**20,1)); print(json.dumps(d))" "$out" "$1" "$hwm" "$ticks" "${staged:-0}"
}
for _ in $(seq "$REPEAT"); do
  SUFFIX=/files/ run tus_single python3 "$SHARED_BENCH/tus_bench.py" upload --uploads 1 --size 1GiB --chunk 8MiB --concurrency 1 --max-seconds 600
  run kaltura_sequential python3 tests/bench/kaltura_bench.py --partner 12345 --secret "$SECRET" --size 1GiB --chunk 8MiB --parallel 1
  run kaltura_parallel6 python3 tests/bench/kaltura_bench.py --partner 12345 --secret "$SECRET" --size 1GiB --chunk 8MiB --parallel 6
done
