#!/bin/sh
# The page's main-thread CPU (bench/page-cpu.js) on the landing page and on a result page
# (story.mp4, default options), against one server and one finished job.
#
#   npm ci && make && make fixtures && make web && bench/page-cpu.sh
#   RUNS=5 MIN=3 bench/page-cpu.sh
set -eu
BIN=${THUMBGEN:-build/thumbgen}
VIDEO=${TG_FIXTURES:-build/fixtures}/story.mp4
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B=http://127.0.0.1:$PORT
"$BIN" serve --port "$PORT" --data "$DATA" --no-auth --ytdlp-update never --quiet &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
trap 'exit 1' INT TERM
for i in $(seq 1 300); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done
ID=$(curl -s -F video=@"$VIDEO" "$B/api/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
    S=$(curl -s "$B/api/jobs/$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    case $S in done) break;; failed|cancelled) echo "the job $S" >&2; exit 1;; esac
    sleep 0.2
done
node bench/page-cpu.js "$B/" "$B/#job=$ID"
