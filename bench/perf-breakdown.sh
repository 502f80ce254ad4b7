#!/usr/bin/env bash
# bench/perf-breakdown.sh VIDEO [THUMBGEN]      (THUMBGEN defaults to build/thumbgen)
#
# Where does thumbgen's time go? Profiles (perf record -e cpu-clock, 999 Hz, no call
# graphs: self time only) three runs on VIDEO:
#   plan    thumbgen plan VIDEO              (analysis only)
#   render  thumbgen make VIDEO --plan PLAN  (render only, the plan of the first run)
#   make    thumbgen make VIDEO              (both, as the benchmark runs it)
# and sums the samples (perf report --no-children --sort dso,sym) into categories:
#   decode    libavcodec, libavformat, libavutil
#   scaling   libswscale
#   analysis  thumbgen's tg_features_*/tg_events_*/tg_select*/distance functions, libm
#   GIF       libimagequant, giflib, libgomp, thumbgen's tg_gif_*/gif_* functions
#   other     the rest of thumbgen, libc, kernel, other libraries
# Prints a markdown table of CPU seconds (and % of each run's CPU time) and wall times,
# then the top symbols. Needs perf (Debian: linux-perf).
set -euo pipefail
[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 VIDEO [THUMBGEN]" >&2; exit 2; }
VIDEO=$1
BIN=${2:-build/thumbgen}
command -v perf >/dev/null || { echo "$0: perf not found (apt-get install linux-perf)" >&2; exit 1; }
[[ -x $BIN ]] || { echo "$0: $BIN not found" >&2; exit 1; }

TMP=$(mktemp -d /tmp/thumbgen-perf.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT
cp -- "$BIN" "$TMP/thumbgen"   # a fixed copy: others may rebuild build/thumbgen meanwhile
TG="$TMP/thumbgen"

prof() {   # name cmd...
    local name=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    perf record -q -e cpu-clock -F 999 -o "$TMP/$name.data" -- "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" \
        || { echo "$0: failed: $*" >&2; cat "$TMP/$name.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}' > "$TMP/$name.wall"
    perf report -i "$TMP/$name.data" --no-children --stdio -g none -F period,dso,sym 2>/dev/null \
        | awk '!/^#/ && NF >= 3' > "$TMP/$name.syms"
}

echo "perf-breakdown: profiling $BIN (sha256 $(sha256sum "$TG" | cut -c1-12)) on $VIDEO" >&2
prof plan "$TG" plan "$VIDEO" -q -o "$TMP/plan.json"
prof render "$TG" make "$VIDEO" --plan "$TMP/plan.json" -o "$TMP/render.gif" -q
prof make "$TG" make "$VIDEO" -o "$TMP/make.gif" -q

# category of one "period dso [.] sym" line
categorize='
function cat(dso, sym) {
    if (dso ~ /^libavcodec|^libavformat|^libavutil/) return "decode";
    if (dso ~ /^libswscale/) return "scaling";
    if (dso ~ /^libimagequant|^libgif|^libgomp/) return "gif";
    if (dso == "thumbgen") {
        if (sym ~ /gif|quantiz|encode_box|palette/) return "gif";
        if (sym ~ /^tgi?_(features|events|select|desc|cut|thumb|sample)|^analyse|^on_sample|distance/) return "analysis";
        return "other";
    }
    if (dso ~ /^libm[.-]/) return "analysis";
    return "other";
}'

declare -A CPU
for r in plan render make; do
    while read -r c s; do CPU[$r,$c]=$s; done < <(awk "$categorize"'
        { p = $1; dso = $2; sym = $4; s[cat(dso, sym)] += p; t += p }
        END { for (c in s) printf "%s %.3f\n", c, s[c]/1e9; printf "total %.3f\n", t/1e9 }' "$TMP/$r.syms")
done

cell() {   # run cat -> "12.3 s (45 %)"
    awk -v v="${CPU[$1,$2]:-0}" -v t="${CPU[$1,total]}" 'BEGIN{printf "%.2f s (%.0f %%)", v, (t > 0 ? 100*v/t : 0)}'
}
echo "| CPU time by category | plan (analysis) | make --plan (render) | make (both) |"
echo "|---|---:|---:|---:|"
for c in decode scaling analysis gif other; do
    case $c in
        decode) label="decode: libavcodec/libavformat/libavutil" ;;
        scaling) label="scaling: libswscale" ;;
        analysis) label="analysis: tg_features_compute, tg_events_*, tg_select*, libm" ;;
        gif) label="GIF encoding: libimagequant, giflib, libgomp, tg_gif_*" ;;
        other) label="other: kernel, libc, rest of thumbgen" ;;
    esac
    echo "| $label | $(cell plan $c) | $(cell render $c) | $(cell make $c) |"
done
echo "| **total CPU** | ${CPU[plan,total]} s | ${CPU[render,total]} s | ${CPU[make,total]} s |"
echo "| wall (under perf) | $(cat "$TMP/plan.wall") s | $(cat "$TMP/render.wall") s | $(cat "$TMP/make.wall") s |"
echo
echo "Top symbols of \`thumbgen make\` (self CPU time; unnamed addresses are internal functions of libraries without debug symbols):"
echo
echo '```'
awk '{printf "%6.2f s  %-26s %s\n", $1/1e9, $2, $4}' "$TMP/make.syms" | sort -k1,1nr | awk 'NR <= 15'
echo '```'
echo
echo "By library (\`perf report --no-children --sort dso\`), \`thumbgen make\`:"
echo
echo '```'
awk '{s[$2] += $1; t += $1} END {for (d in s) printf "%6.2f s %5.1f %%  %s\n", s[d]/1e9, 100*s[d]/t, d}' \
    "$TMP/make.syms" | sort -k1,1nr | awk 'NR <= 12'
echo '```'
