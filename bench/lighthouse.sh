#!/bin/sh
# Lighthouse (pinned in package.json, run offline against Debian's Chromium) on the page:
# the landing page and a result page (story.mp4 with the default options), desktop and
# mobile presets. Prints the four category scores of each run.
#
#   npm ci && make && make fixtures && make web && bench/lighthouse.sh
set -eu
BIN=${THUMBGEN:-build/thumbgen}
VIDEO=${TG_FIXTURES:-build/fixtures}/story.mp4
LH=node_modules/.bin/lighthouse
[ -x "$LH" ] || { echo "lighthouse is not installed: run npm ci" >&2; exit 1; }
DATA=$(mktemp -d)
OUT=${LH_OUT:-build/lighthouse}
mkdir -p "$OUT"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B=http://127.0.0.1:$PORT
"$BIN" serve --port "$PORT" --data "$DATA" --no-auth --ytdlp-update never --quiet &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for i in $(seq 1 100); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done
ID=$(curl -s -F video=@"$VIDEO" "$B/api/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
    S=$(curl -s "$B/api/jobs/$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    case $S in done) break;; failed|cancelled) echo "the job $S" >&2; exit 1;; esac
    sleep 0.2
done
echo "page     preset   performance accessibility best-practices seo"
for page in landing result; do
    URL=$B/
    [ $page = result ] && URL="$B/#job=$ID"
    for preset in desktop mobile; do
        P=""
        [ $preset = desktop ] && P="--preset=desktop"
        "$LH" "$URL" $P --quiet --output=json --output-path="$OUT/$page-$preset.json" \
            --only-categories=performance,accessibility,best-practices,seo \
            --chrome-path=/usr/bin/chromium \
            --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage" >/dev/null 2>&1 ||
            { echo "$page $preset: lighthouse failed" >&2; continue; }
        python3 - "$OUT/$page-$preset.json" "$page" "$preset" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["categories"]
s = lambda k: round(100 * (c[k]["score"] or 0))
print(f"{sys.argv[2]:8} {sys.argv[3]:8} {s('performance'):11} {s('accessibility'):13} {s('best-practices'):14} {s('seo'):3}")
fails = [a["id"] for k in c for a in (r["audits"][x["id"]] for x in c[k]["auditRefs"]) if a.get("score") is not None and a["score"] < 0.9 and a.get("scoreDisplayMode") in ("binary", "numeric")]
if fails: print("         below 0.9:", " ".join(sorted(set(fails))[:14]))
PY
    done
done
