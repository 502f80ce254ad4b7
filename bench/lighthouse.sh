#!/bin/sh
# Lighthouse (pinned in package.json, run offline against Debian's Chromium) on the page:
# the landing page and a result page (story.mp4 with the default options), desktop and
# mobile presets. Prints the four category scores of each run, the mobile runs' LCP, TBT
# and CLS, and the load average when the run ended (the machine is shared: Lighthouse's
# mobile preset multiplies every main-thread task by 4, so a busy machine lowers the score);
# with RUNS > 1, the median and range of each page × preset at the end.
#
#   npm ci && make && make fixtures && make web && bench/lighthouse.sh
#   RUNS=5 bench/lighthouse.sh                      # five rounds, then medians
#   RUNS=5 PAGES=result PRESETS=mobile bench/lighthouse.sh
#
# Each run is its own Lighthouse (its own Chromium) against one server and one finished job;
# the rounds alternate the four configurations. LH_OUT (default build/lighthouse) keeps each
# run's JSON report (PAGE-PRESET-N.json); LH_ASSETS=1 also keeps its trace.
set -eu
BIN=${THUMBGEN:-build/thumbgen}
VIDEO=${TG_FIXTURES:-build/fixtures}/story.mp4
LH=node_modules/.bin/lighthouse
RUNS=${RUNS:-1}
PAGES=${PAGES:-landing result}
PRESETS=${PRESETS:-desktop mobile}
[ -x "$LH" ] || { echo "lighthouse is not installed: run npm ci" >&2; exit 1; }
DATA=$(mktemp -d)
OUT=${LH_OUT:-build/lighthouse}
mkdir -p "$OUT"
rm -f "$OUT"/*.json
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B=http://127.0.0.1:$PORT
"$BIN" serve --port "$PORT" --data "$DATA" --no-auth --ytdlp-update never --quiet &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
trap 'exit 1' INT TERM   # so that the server goes with the script
for i in $(seq 1 300); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done
ID=$(curl -s -F video=@"$VIDEO" "$B/api/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
    S=$(curl -s "$B/api/jobs/$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    case $S in done) break;; failed|cancelled) echo "the job $S" >&2; exit 1;; esac
    sleep 0.2
done
echo "run page     preset   performance accessibility best-practices seo  LCP     TBT     CLS    load"
for n in $(seq 1 "$RUNS"); do
    for page in $PAGES; do
        URL=$B/
        [ "$page" = result ] && URL="$B/#job=$ID"
        for preset in $PRESETS; do
            P=""
            [ "$preset" = desktop ] && P="--preset=desktop"
            A=""
            [ "${LH_ASSETS:-0}" = 1 ] && A="--save-assets"
            R="$OUT/$page-$preset-$n.json"
            CHROME_PATH=${CHROMIUM:-/usr/bin/chromium} "$LH" "$URL" $P $A --quiet --output=json --output-path="$R" \
                --only-categories=performance,accessibility,best-practices,seo \
                --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage" >/dev/null 2>&1 ||
                { echo "$page $preset: lighthouse failed" >&2; rm -f "$R"; continue; }
            python3 - "$R" "$n" "$page" "$preset" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c, a = r["categories"], r["audits"]
s = lambda k: round(100 * (c[k]["score"] or 0))
m = lambda k, d: a[k]["numericValue"] / d
print(f"{sys.argv[2]:3} {sys.argv[3]:8} {sys.argv[4]:8} {s('performance'):11} {s('accessibility'):13} {s('best-practices'):14} {s('seo'):3}"
      f"  {m('largest-contentful-paint', 1000):4.2f} s {m('total-blocking-time', 1):4.0f} ms {m('cumulative-layout-shift', 1):5.3f}  {sys.argv[5]}")
fails = [a[x["id"]]["id"] for k in c for x in c[k]["auditRefs"]
         if a[x["id"]].get("score") is not None and a[x["id"]]["score"] < 0.9
         and a[x["id"]].get("scoreDisplayMode") in ("binary", "numeric") and x.get("weight", 0) > 0]
if fails: print("    below 0.9:", " ".join(sorted(set(fails))[:14]))
PY
        done
    done
done
[ "$RUNS" -gt 1 ] || exit 0
python3 - "$OUT" <<'PY'
import glob, json, os, statistics, sys
runs = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*-*-[0-9]*.json"))):
    if f.endswith(".trace.json") or f.endswith(".devtoolslog.json"): continue
    page, preset, _ = os.path.basename(f)[:-5].split("-")
    c = json.load(open(f))["categories"]
    runs.setdefault((page, preset), []).append({k: round(100 * (v["score"] or 0)) for k, v in c.items()})
print("\nmedian (range) over the runs")
print("page     preset   n  performance   accessibility best-practices seo")
for (page, preset), rs in sorted(runs.items()):
    def col(k):
        v = [r[k] for r in rs]
        return f"{statistics.median(v):g} ({min(v)}-{max(v)})"
    print(f"{page:8} {preset:8} {len(rs):<2} {col('performance'):13} {col('accessibility'):13} {col('best-practices'):14} {col('seo')}")
PY
