#!/usr/bin/env bash
# A real shaped link: the client (`upgate push`, or the upload page in Chromium) and a
# gateway in two network namespaces joined by a router namespace whose links are shaped
# with `tc tbf`, with outages made by taking the router's links down (the client and the
# gateway keep their routes and see their packets vanish, as on a dropped Wi-Fi link).
#
#   sudo loadtest/real-link.sh [--client push|page] [--size 250MB] [--mbps 10]
#        [--drops 3] [--drop-secs 5] [--protocol files|kaltura] [--parallel N]
#        [--stall 3s] [--upgate PATH]
#
# Needs root, iproute2 (`ip netns`, `tc`), a built `upgate` (default
# target/release/upgate) and, for `--client page`, Chromium and tests/node's
# playwright-core (`npm ci` in tests/node). Prints one JSON line: seconds, the floor
# (payload at the link's rate after TCP/IP and Ethernet headers, 1448 of every 1514
# bytes, plus the outages) and what the client reported. Outages are spread evenly over
# the floor's transfer time from the start of the upload, as the load tester's `--drops`
# are; `seconds` counts from that start too. KEEP=1 keeps the work
# directory (gateway and client logs).
set -euo pipefail

client=push size=250MB mbps=10 drops=3 drop_secs=5 protocol=files parallel=1 stall=3s
root=$(cd "$(dirname "$0")/.." && pwd)
upgate=$root/target/release/upgate
while [ $# -gt 0 ]; do
  case $1 in
    --client) client=$2 ;; --size) size=$2 ;; --mbps) mbps=$2 ;; --drops) drops=$2 ;;
    --drop-secs) drop_secs=$2 ;; --protocol) protocol=$2 ;; --parallel) parallel=$2 ;;
    --stall) stall=$2 ;; --upgate) upgate=$2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
[ -x "$upgate" ] || { echo "no upgate binary at $upgate (cargo build --release)" >&2; exit 2; }

bytes=$(python3 -c "
import re,sys
m=re.fullmatch(r'(\d+)(|B|KB|MB|GB|KiB|MiB|GiB)','$size')
if not m: sys.exit('bad --size $size')
print(int(m[1])*{'':1,'B':1,'KB':10**3,'MB':10**6,'GB':10**9,'KiB':2**10,'MiB':2**20,'GiB':2**30}[m[2]])")
transfer=$(python3 -c "print($bytes*8/($mbps*1e6*1448/1514))")
floor=$(python3 -c "print(round($transfer+$drops*$drop_secs,1))")

id=$$ c=ugc$$ r=ugr$$ s=ugs$$
work=$(mktemp -d /tmp/upgate-real-link.XXXXXX)
gw_pid= client_pid=
cleanup() {
  [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null
  for n in $c $r $s; do ip netns del "$n" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# client 10.201.1.2 — r0 10.201.1.1 [router] r1 10.201.2.1 — 10.201.2.2 gateway
for n in $c $r $s; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add "c$id" netns "$c" type veth peer name "r0$id" netns "$r"
ip link add "s$id" netns "$s" type veth peer name "r1$id" netns "$r"
ip -n "$c" addr add 10.201.1.2/24 dev "c$id"; ip -n "$c" link set "c$id" up
ip -n "$s" addr add 10.201.2.2/24 dev "s$id"; ip -n "$s" link set "s$id" up
ip -n "$r" addr add 10.201.1.1/24 dev "r0$id"; ip -n "$r" link set "r0$id" up
ip -n "$r" addr add 10.201.2.1/24 dev "r1$id"; ip -n "$r" link set "r1$id" up
ip -n "$c" route add default via 10.201.1.1
ip -n "$s" route add default via 10.201.2.1
ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
# Both directions at the link's rate, a 50 ms queue (a home router's).
for dev in "r0$id" "r1$id"; do
  tc -n "$r" qdisc add dev "$dev" root tbf rate "${mbps}mbit" burst 32kb latency 50ms
done

partner=4242:real-link-admin:real-link-user
ip netns exec "$s" "$upgate" serve --listen 10.201.2.2:8080 --data-dir "$work/data" \
  --partner "$partner" >"$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/gateway.log" && break; sleep 0.1; done
grep -q "listening on" "$work/gateway.log" || { cat "$work/gateway.log" >&2; exit 1; }
base=http://10.201.2.2:8080

head -c "$bytes" /dev/urandom >"$work/lecture.mp4"

outages() {
  for k in $(seq "$drops"); do
    at=$(python3 -c "print($transfer*$k/($drops+1))")
    sleep "$(python3 -c "print(max(0.0,$at-($(date +%s.%N)-$t0)))")"
    ip -n "$r" link set "r0$id" down; ip -n "$r" link set "r1$id" down
    sleep "$drop_secs"
    ip -n "$r" link set "r0$id" up; ip -n "$r" link set "r1$id" up
  done
}

# The outages are timed from the start of the upload, not from the client's launch:
# Chromium can take seconds to start on a loaded machine, and the page must have loaded
# before the link drops. `upgate push` starts uploading at once; the page's script
# writes $ready when it hands the file to the page.
ready=$work/ready
case $client in
  push)
    : >"$ready"
    ip netns exec "$c" "$upgate" push "$work/lecture.mp4" --url "$base" --json \
      --protocol "$protocol" --parallel "$parallel" --stall "$stall" \
      --partner-id 4242 --secret real-link-user --user prof \
      --state-dir "$work/state" >"$work/client.json" 2>"$work/client.log" &
    client_pid=$! ;;
  page)
    ks=$("$upgate" ks --partner-id 4242 --secret real-link-admin --user prof)
    ip netns exec "$c" node "$root/tests/node/page_timed.mjs" "$base" "$ks" "$work/lecture.mp4" \
      "$ready" >"$work/client.json" 2>"$work/client.log" &
    client_pid=$! ;;
  *) echo "unknown --client $client" >&2; exit 2 ;;
esac
while [ ! -e "$ready" ] && kill -0 "$client_pid" 2>/dev/null; do sleep 0.05; done
t0=$(date +%s.%N)
outages & drop_pid=$!
wait "$client_pid" || true
client_pid=
t1=$(date +%s.%N)
kill "$drop_pid" 2>/dev/null || true; wait "$drop_pid" 2>/dev/null || true
python3 - "$work/client.json" "$work/client.log" <<EOF
import json, sys
out = open(sys.argv[1]).read().strip()
try:
    reported = json.loads(out) if out else None
except ValueError:
    reported = out.splitlines()[-1]
if isinstance(reported, list) and len(reported) == 1:
    reported = reported[0]
print(json.dumps({
    "client": "$client", "protocol": "$protocol", "size": $bytes, "mbps": $mbps,
    "drops": $drops, "drop_secs": $drop_secs, "stall": "$stall",
    "seconds": round($t1 - $t0, 1), "floor_seconds": $floor,
    "reported": reported,
    "client_log_tail": open(sys.argv[2]).read()[-400:] if not out else None,
}))
EOF
