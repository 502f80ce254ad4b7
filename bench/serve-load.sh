#!/bin/bash
# bench/serve-load.sh — how the server answers while every worker is busy.
#
# Starts build/thumbgen serve on a free loopback port with a fresh data folder,
# keeps both processing workers busy with long analysis jobs, then measures
# GET /api/jobs/{id} (one job's state: what the page polls) with wrk for
# BENCH_LOAD_SECONDS (default 10) at 16 connections. Loopback only.
# Usage: bench/serve-load.sh   (after `make` and `make fixtures`)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BENCH_THUMBGEN:-build/thumbgen}
FIX=${TG_FIXTURES:-build/fixtures}
SECS=${BENCH_LOAD_SECONDS:-10}
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --quiet --port "$PORT" --data "$DATA" --workers 2 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
# long jobs: full analysis of the 60 s fixture at several widths (distinct options: no cache)
ID=""
for w in 200 240 280 320 360 400; do
    id=$(curl -sf -F video=@"$FIX/long.mp4" -F analysis=full -F width=$w \
        "http://127.0.0.1:$PORT/api/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    ID=${ID:-$id}
done
for _ in $(seq 100); do
    running=$(curl -sf "http://127.0.0.1:$PORT/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["running"])')
    [ "$running" -ge 2 ] && break
    sleep 0.1
done
echo "workers busy: $running running; measuring GET /api/jobs/$ID for ${SECS}s"
wrk -t2 -c16 -d"${SECS}s" --latency "http://127.0.0.1:$PORT/api/jobs/$ID"
echo "still running after the load: $(curl -sf "http://127.0.0.1:$PORT/healthz")"
