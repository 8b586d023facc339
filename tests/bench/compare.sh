#!/usr/bin/env bash
# upgate next to every peer this machine has, in one interleaved run of the neutral
# bench kit (../shared/bench), and the ratios #18 asks for.
#
# Usage: tests/bench/compare.sh [ROUNDS]      (default 3; data on /dev/shm)
#   BIN=path/to/upgate   the build to measure (default: target/release/upgate, built)
#   RUSTUS=path          rustus binary (default: `rustus` on PATH, skipped if absent);
#                        ../shared/bench names the release (1.1.4): build it from its tag
#   TUS_NODE_DIR=dir     a directory holding `npm install @tus/server @tus/file-store`:
#                        @tus/server runs through tests/bench/tus_node.mjs (skipped if unset)
#   STATE=redis          upload state in a private redis-server (unix socket, started and
#                        stopped here) for upgate and rustus; @tus/server keeps its files.
#                        Default: each server's embedded store (upgate redb, rustus files)
#   SCENARIOS=...        default "single single_sha256 parallel create_wrk"
#   PUSH="1 4"           also `upgate push` of a 1 GiB file, verified end to end, with
#                        these --parallel values (each on a fresh gateway; "" skips)
# Each round runs every server once per scenario (fresh process each time), so the
# servers share the machine's noise; the summary is the median [min..max] per server
# and scenario, then upgate's ratios: single_sha256 / single, and create_wrk against
# each peer, next to the kit's sink server (the harness's own ceiling).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
KIT=$ROOT/../shared/bench
[ -x "$KIT/run_bench.sh" ] || { echo "no bench kit at $KIT" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
ROUNDS=${1:-3}
SCENARIOS=${SCENARIOS:-"single single_sha256 parallel create_wrk"}
BIN=${BIN:-}
if [ -z "$BIN" ]; then
  cargo build --release --bin upgate -q
  BIN=$ROOT/target/release/upgate
fi
RUSTUS=${RUSTUS:-$(command -v rustus || true)}
RESULTS=$(mktemp /tmp/compare.XXXXXX.jsonl)
PUSH=${PUSH-"1 4"}
PUSH_DIR=$(mktemp -d /dev/shm/compare-push.XXXXXX)
REDIS_PID=
cleanup() {
  [ -z "$REDIS_PID" ] || { kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null || true; }
  rm -rf "$PUSH_DIR"
}
trap cleanup EXIT
UP_STATE= RUSTUS_STATE=
case "${STATE:-}" in
  "") ;;
  redis)
    command -v redis-server >/dev/null || { echo "redis-server is needed" >&2; exit 1; }
    SOCK=$PUSH_DIR/redis.sock
    redis-server --port 0 --unixsocket "$SOCK" --save '' --appendonly no --dir "$PUSH_DIR" \
      >"$PUSH_DIR/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
    [ -S "$SOCK" ] || { echo "redis-server did not start" >&2; exit 1; }
    UP_STATE="--state redis+unix://$SOCK"
    RUSTUS_STATE="--info-storage redis-info-storage --info-db-dsn redis+unix://$SOCK"
    ;;
  *) echo "STATE=$STATE: empty or redis" >&2; exit 1 ;;
esac
# The gateway's flags, the same for the kit's scenarios and the pushes: anonymous tus,
# no request-rate cap (a local client is far faster than any user link).
UP_FLAGS="--files-auth off --user-requests 0 $UP_STATE"

# One verified push of the 1 GiB file with --parallel $1 on a fresh gateway: a result
# line (MB/s over the push's own wall time, the gateway's CPU seconds).
push_run() {
  local d out url gw rc=0 r
  d=$(mktemp -d "$PUSH_DIR/gw.XXXXXX")
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$d/data" $UP_FLAGS >"$d/out" 2>/dev/null &
  gw=$!
  for _ in $(seq 100); do grep -q "listening on" "$d/out" && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on //p' "$d/out" | head -n1)
  r=$("$BIN" push "$PUSH_DIR/f.bin" --url "$url" --parallel "$1" --json --state-dir "$d/st" 2>/dev/null) || rc=$?
  local cpu; cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$gw/stat")
  kill "$gw"; wait "$gw" 2>/dev/null || true
  rm -rf "$d"
  python3 - "$r" "$1" "$rc" "$cpu" >>"$RESULTS" <<'PY'
import json, sys
raw, par, rc, cpu = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
r = json.loads(raw)[0] if raw.strip() else {}
ok = rc == 0 and r.get("status") == "ok"
d = {"name": "upgate", "scenario_id": f"push_p{par}", "client_rc": 0 if ok else 1,
     "server_cpu_s": cpu}
if ok:
    d["MBps"] = round(r["size"] / r["seconds"] / 1e6, 1)
print(json.dumps(d))
PY
}

servers=("upgate|$BIN serve --listen 127.0.0.1:\$PORT --data-dir \$DATA_DIR $UP_FLAGS|/files/")
servers+=("sink|python3 $KIT/sink_server.py --port \$PORT|/files/")
if [ -n "$RUSTUS" ]; then
  servers+=("rustus|$RUSTUS --host 127.0.0.1 --port \$PORT --data-dir \$DATA_DIR --info-dir \$DATA_DIR --url /files --max-body-size 16777216 --log-level WARN $RUSTUS_STATE|/files/")
fi
if [ -n "${TUS_NODE_DIR:-}" ]; then
  servers+=("tus-node|node $ROOT/tests/bench/tus_node.mjs $TUS_NODE_DIR \$PORT \$DATA_DIR|/files/")
fi

for round in $(seq "$ROUNDS"); do
  for s in "${servers[@]}"; do
    IFS='|' read -r name cmd base <<<"$s"
    echo "round $round: $name" >&2
    SERVER_CMD="$cmd" NAME="$name" BASE_PATH="$base" REPEAT=1 DATA_ROOT=/dev/shm \
      SCENARIOS="$SCENARIOS" RESULTS="$RESULTS" "$KIT/run_bench.sh" >/dev/null 2>&1 \
      || echo "  $name: a run failed (see $RESULTS)" >&2
  done
  # The source file exists only while pushes run: a gigabyte more on tmpfs slows the
  # kit's scenarios here (the machine reclaims memory under pressure).
  [ -z "$PUSH" ] || head -c $((1 << 30)) /dev/urandom >"$PUSH_DIR/f.bin"
  for p in $PUSH; do
    echo "round $round: upgate push --parallel $p" >&2
    push_run "$p"
  done
  rm -f "$PUSH_DIR/f.bin"
done

# This machine's floors, measured here: SHA-256 on one core, and writing to tmpfs in
# 512 KiB pieces; core-seconds per GiB, for the bounds printed under the ratios.
FLOORS=$(python3 - "$PUSH_DIR/floor.bin" <<'PY'
import hashlib, os, sys, time
buf = memoryview(os.urandom(64 << 20))
t = time.process_time()
h = hashlib.sha256()
for _ in range(16):
    h.update(buf)
sha = time.process_time() - t
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
t = time.process_time()
for _ in range(16):
    for i in range(0, len(buf), 512 << 10):
        os.write(fd, buf[i:i + (512 << 10)])
write = time.process_time() - t
os.close(fd)
os.unlink(sys.argv[1])
print(f"{sha:.3f} {write:.3f}")
PY
)

python3 "$KIT/summarize.py" "$RESULTS"
python3 - "$RESULTS" "${STATE:-}" $FLOORS "$(nproc)" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sha, write, cores = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
create_target = 2.0 if sys.argv[2] == "redis" else 1.5
def med(name, scen, key):
    v = [r[key] for r in rows if r.get("name") == name and r.get("scenario_id") == scen and key in r]
    return statistics.median(v) if v else None
def pick(name, scen):
    for key in ("MBps", "rps"):
        m = med(name, scen, key)
        if m is not None:
            return m
    return None
up = lambda s: pick("upgate", s)
print("\nratios (medians):")
if up("single") and up("single_sha256"):
    print(f"  upgate single_sha256 / single = {up('single_sha256') / up('single'):.2f} (target >= 0.85)")
for p in ("push_p1", "push_p4"):
    if up("single") and up(p):
        print(f"  upgate {p} (verified) = {up(p):.0f} MB/s, / single = {up(p) / up('single'):.2f} (target >= 0.70)")
for peer in sorted({r.get("name") for r in rows} - {"upgate", "sink"}):
    for s in ("single", "single_sha256", "parallel", "create_wrk"):
        a, b = up(s), pick(peer, s)
        if a and b:
            t = create_target if (peer, s) == ("rustus", "create_wrk") else None
            print(f"  upgate / {peer} {s} = {a / b:.2f}" + (f" (target >= {t})" if t else ""))
for s in ("single", "parallel"):
    a, b = up(s), pick("sink", s)
    if a and b:
        print(f"  upgate / sink (harness ceiling) {s} = {a / b:.2f}")

# What this machine allows at best, every core busy with nothing but the work no
# gateway can skip: the client's sending and the sink's receiving (the kit's sink,
# same scenario), the write to tmpfs, and a SHA-256 pass per side that hashes (one
# stream's hash runs on one core). Then the same bound at upgate's own cost per GiB in
# this run: how much of the machine it used.
def per_gib(name, scen, key):
    v = [r[key] / (r["bytes"] / (1 << 30)) for r in rows
         if r.get("name") == name and r.get("scenario_id") == scen and r.get(key) and r.get("bytes")]
    return statistics.median(v) if v else None
def gbps(core_s, hashed=False):
    gib = min(cores / core_s, 1 / sha) if hashed else cores / core_s
    return gib * (1 << 30) / 1e9
def of_single(x):
    return f", / upgate single <= {x * 1e3 / up('single'):.2f}" if up("single") else ""
client, sink = per_gib("sink", "single", "client_cpu_s"), per_gib("sink", "single", "server_cpu_s")
if client is not None and sink is not None:
    floor = client + sink + write
    print(f"\nthis machine ({cores} cores; core-s per GiB: SHA-256 {sha:.2f}, tmpfs write {write:.2f},"
          f" kit client {client:.2f}, sink {sink:.2f}), at best:")
    print(f"  single <= {gbps(floor):.2f} GB/s (target 1.5 where the machine allows)")
    pc, ps = per_gib("sink", "parallel", "client_cpu_s"), per_gib("sink", "parallel", "server_cpu_s")
    if pc is not None and ps is not None:
        print(f"  parallel <= {gbps(pc + ps + write):.2f} GB/s (target 2 where the machine allows)")
    best = gbps(floor + sha, True)
    print(f"  single_sha256 <= {best:.2f} GB/s" + of_single(best) + " (target 0.85)")
    best = gbps(floor + 2 * sha, True)
    print(f"  verified push (both sides hash) <= {best:.2f} GB/s" + of_single(best) + " (target 0.70)")
    print("at upgate's own cost in this run (gateway + client CPU per GiB), every core busy:")
    for scen in ("single", "single_sha256", "parallel"):
        g, c = per_gib("upgate", scen, "server_cpu_s"), per_gib("upgate", scen, "client_cpu_s")
        if g is not None and c is not None and up(scen):
            print(f"  {scen} <= {gbps(g + c, scen == 'single_sha256'):.2f} GB/s; measured {up(scen) / 1e3:.2f}")
EOF
echo "raw results: $RESULTS" >&2
