#!/usr/bin/env bash
# Creation rate (wrk, 2 threads, 32 connections, 10 s) by state store, with and without
# the per-user limiter, keep-alive and not. Every request carries one user's session, so
# the limiter runs on every request (with a rate too high to refuse: its cost, not its
# refusals). Prints one JSON line per run.
# Usage: tests/bench/create_limits.sh [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEAT=${1:-1}
BIN=target/release/upgate
cargo build --release --quiet -p upgate
SECRET=0123456789abcdef0123456789abcdef
KS=$("$BIN" ks --partner-id 12345 --secret "$SECRET" --user bench@example.edu)
export KS
work=$(mktemp -d /dev/shm/upgate-create.XXXXXX)
redis-server --port 0 --unixsocket "$work/redis.sock" --dir "$work" --appendonly yes \
  --appendfsync everysec --save '' --daemonize no --loglevel warning >/dev/null &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S "$work/redis.sock" ] && break; sleep 0.05; done
run() { # run STATE LIMITS CLOSE
  local dir; dir=$(mktemp -d "$work/gw.XXXXXX")
  local state=()
  [ "$1" = redis ] && state=(--state "redis+unix://$work/redis.sock" --redis-prefix "b$RANDOM:")
  local limits=(--user-requests 0 --user-uploads 0)
  [ "$2" = on ] && limits=(--user-requests 1000000000 --user-burst 1000000000 --user-uploads 1000)
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" --partner "12345:$SECRET" \
    "${state[@]}" "${limits[@]}" >"$dir.out" 2>"$dir.err" &
  local pid=$!
  for _ in $(seq 100); do grep -q listening "$dir.out" 2>/dev/null && break; sleep 0.05; done
  local url; url=$(sed -n 's/^listening on //p' "$dir.out")
  local out
  out=$(CLOSE=$3 wrk -t2 -c32 -d10s --timeout 10s -s tests/bench/create_auth.lua "$url/files/" | sed -n 's/^WRKJSON //p')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "{\"state\":\"$1\",\"limits\":\"$2\",\"keepalive\":$([ "$3" = 1 ] && echo false || echo true),${out#\{}"
}
for _ in $(seq "$REPEAT"); do
  for state in redb redis; do
    for close in 0 1; do
      for limits in off on; do run "$state" "$limits" "$close"; done
    done
  done
done
