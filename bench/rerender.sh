#!/bin/sh
# Re-render from an edited plan (POST /api/jobs/{id}/render): the time from the request to
# the job's end, against a real `thumbgen serve` on a free loopback port. The job: story.mp4
# (40 s, 640x360, make fixtures) with the default options (3 clips of 1.2 s, 480 px, 12 fps);
# each edit moves the clips, so that every run renders (no cache). Also the CLI's
# `thumbgen make --plan` on the same plan (GIF only, and all three formats) for reference.
# Beside the wall time, the server's CPU time (user+system, from /proc) for each re-render:
# the guide on a busy machine. FORMATS: the job's formats option (default: all three).
# EDIT=poster: each edit moves only the poster (the clips stay), as "Use this frame as the
# poster" in the page does.
#
#   bench/rerender.sh [RUNS]        (after make and make fixtures)
#   FORMATS=gif bench/rerender.sh 5
#   EDIT=poster bench/rerender.sh 3
set -eu
RUNS=${1:-5}
BIN=${THUMBGEN:-build/thumbgen}
VIDEO=${TG_FIXTURES:-build/fixtures}/story.mp4
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B=http://127.0.0.1:$PORT
"$BIN" serve --port "$PORT" --data "$DATA" --no-auth --ytdlp-update never --quiet &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for i in $(seq 1 100); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done
state() { curl -s "$B/api/jobs/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
wait_end() { while :; do s=$(state "$1"); case $s in done|failed|cancelled) echo "$s"; return;; esac; sleep 0.02; done; }
cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' /proc/$PID/stat; }
FORM=""
[ -n "${FORMATS:-}" ] && FORM="-F formats=$FORMATS"
ID=$(curl -s -F video=@"$VIDEO" $FORM "$B/api/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
[ "$(wait_end "$ID")" = done ] || { echo "the first job failed" >&2; exit 1; }
echo "run  seconds (POST render -> done)  server CPU s  gif bytes"
for r in $(seq 1 "$RUNS"); do
    if [ "${EDIT:-clips}" = poster ]; then
        BODY=$(python3 -c "import json; print(json.dumps({'plan': {'poster': {'t': 2.5+3*$r}}}))")
    else
        BODY=$(python3 -c "import json; print(json.dumps({'plan': {'segments': [{'start': 3+$r, 'end': 4.2+$r}, {'start': 15+$r, 'end': 16.2+$r}, {'start': 27+$r, 'end': 28.2+$r}]}}))")
    fi
    C0=$(cpu)
    # one Python process: the POST, then the job's event stream until its end (what the page
    # hears; polling with a curl and a python per look added 0.1-0.4 s of its own)
    R=$(python3 - "$PORT" "$ID" "$BODY" <<'PY'
import http.client, json, sys, time
port, jid, body = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.monotonic()
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", f"/api/jobs/{jid}/render", body, {"Content-Type": "application/json"})
eid = json.loads(c.getresponse().read())["id"]
c.request("GET", f"/api/jobs/{eid}/events", headers={"Accept": "text/event-stream"})
r, ev, state = c.getresponse(), "", "?"
for line in r:
    line = line.decode().strip()
    if line.startswith("event:"):
        ev = line[6:].strip()
    if ev in ("done", "error") and line.startswith("data:"):
        state = "done" if ev == "done" else "failed"
        break
print(f"{time.monotonic() - t0:.2f} {state} {eid}")
PY
)
    C1=$(cpu)
    set -- $R
    EID=$3
    BYTES=$(curl -s "$B/api/jobs/$EID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["outputs"]["gif"]["bytes"])')
    echo "$r    $1  ($2)  $(python3 -c "print(f'{$C1-$C0:.2f}')")  $BYTES"
done
PLAN=$(mktemp)
curl -s "$B/api/jobs/$EID" | python3 -c "import json,sys; p=json.load(sys.stdin)['result']['plan']; p['source']['path']='$VIDEO'; print(json.dumps(p))" > "$PLAN"
OUT=$(mktemp -d)
echo "CLI, the last plan:"
/usr/bin/time -f "  make --plan -o x.gif (GIF only): %e s wall, %U s user" "$BIN" make "$VIDEO" --plan "$PLAN" -o "$OUT/x.gif" -q
/usr/bin/time -f "  make --plan --all --poster (as the server): %e s wall, %U s user" "$BIN" make "$VIDEO" --plan "$PLAN" -o "$OUT/x.gif" --all --poster "$OUT/x.jpg" -q
rm -rf "$OUT" "$PLAN"
