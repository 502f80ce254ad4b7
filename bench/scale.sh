#!/usr/bin/env bash
# bench/scale.sh — the shared queue (issue 13), on a throw-away PostgreSQL cluster with
# PostgreSQL's durable defaults (scripts/pg-test, TG_PG_DURABLE=1):
#   1. claim throughput of the queue alone: build/claims-bench, no-op jobs, 1/4/16/64
#      claimers each on its own connection (claim + fenced finish per job), PostgreSQL
#      and, for reference, SQLite;
#   2. end to end: SCALE_JOBS uploads (small fixtures, distinct widths so each is
#      rendered) through one `thumbgen serve --workers 2 --downloaders 1`, timed from the
#      first upload to the last job done, with the SQLite store and with PostgreSQL.
# Environment: SCALE_CLAIM_JOBS (jobs per claim round, default 2000), SCALE_JOBS (default
# 24). Prints Markdown tables (bench/RESULTS.md, "Scale-out").
set -euo pipefail
SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
ROOT=$(cd -- "$(dirname -- "$SELF")/.." && pwd)
cd -- "$ROOT"
if [ -z "${TG_PG:-}" ]; then
    exec env TG_PG_DURABLE=1 scripts/pg-test "$SELF" "$@"
fi
make --no-print-directory build/thumbgen build/claims-bench fixtures >/dev/null
CLAIM_JOBS=${SCALE_CLAIM_JOBS:-2000}
JOBS=${SCALE_JOBS:-24}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tg-scale.XXXXXX")
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$TMP"' EXIT

schema() { # a fresh schema of the cluster: the spec for it (extra server options: $2)
    local name="b_$1_$$"
    psql -q "$TG_PG" -c "CREATE SCHEMA $name" >/dev/null
    echo "$TG_PG&options=-csearch_path%3D$name${2:-}"
}

echo "## Claim throughput ($CLAIM_JOBS no-op jobs per round; claim + fenced finish)"
echo
echo "PostgreSQL 15 (durable defaults: fsync, synchronous_commit on), Unix socket:"
echo
build/claims-bench "$(schema claims)" "$CLAIM_JOBS" 1 4 16 64
echo
echo "The same with synchronous_commit=off (commits do not wait for this machine's disk"
echo "flush: the queue's own cost, as on a server whose WAL disk flushes in microseconds):"
echo
build/claims-bench "$(schema claims_async "%20-csynchronous_commit%3Doff")" "$CLAIM_JOBS" 1 4 16 64
echo
echo "SQLite (WAL, synchronous=NORMAL), for reference:"
echo
build/claims-bench "sqlite:$TMP/claims.db" "$CLAIM_JOBS" 1 4 16 64
echo

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run_e2e NAME STORE_SPEC: jobs/minute through one serve with 2 workers
run_e2e() {
    local name=$1 spec=$2 port data pid t0 t1 q
    port=$(free_port)
    data="$TMP/data-$name"
    build/thumbgen serve --quiet --port "$port" --data "$data" --store "$spec" --workers 2 \
        --downloaders 1 --ytdlp-update never 2>"$TMP/$name.log" &
    pid=$!
    SERVER_PID=$pid
    for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    local fx=(short.mp4 rotated.mp4 anamorphic.mp4 letterbox.mp4)
    t0=$(date +%s.%N)
    for i in $(seq 0 $((JOBS - 1))); do
        curl -sf -o /dev/null -F "video=@build/fixtures/${fx[$((i % 4))]}" -F "width=$((120 + i))" \
            "http://127.0.0.1:$port/api/jobs"
    done
    while :; do
        q=$( (curl -sf --max-time 10 "http://127.0.0.1:$port/healthz" || echo '{}') |
            python3 -c 'import json,sys
try: j=json.load(sys.stdin); print(j["queued"] + j["running"])
except Exception: print(-1)')
        [ "$q" = 0 ] && break
        sleep 0.2
    done
    t1=$(date +%s.%N)
    local done_n
    done_n=$(curl -sf "http://127.0.0.1:$port/api/jobs?limit=100" |
        python3 -c 'import json,sys; print(sum(j["state"]=="done" for j in json.load(sys.stdin)["jobs"]))')
    kill "$pid"; wait "$pid" || true
    SERVER_PID=""
    python3 -c "t=$t1-$t0; print('| $name | $JOBS | $done_n | %.1f | %.1f |' % (t, $JOBS*60/t))"
}

echo "## End to end: $JOBS uploads, one thumbgen serve --workers 2 --downloaders 1"
echo
echo "| store | jobs | done | seconds | jobs/min |"
echo "|---|---:|---:|---:|---:|"
for round in 1 2; do
    run_e2e "sqlite-$round" "sqlite:$TMP/e2e-$round.db"
    run_e2e "postgres-$round" "$(schema e2e$round)"
done
