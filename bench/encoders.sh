#!/usr/bin/env bash
# bench/encoders.sh      (run by hand; results recorded in bench/RESULTS.md, issue "outputs")
#
# The encoder benchmark of issues 4 and 15. Five 4 s clips of natural content at 480x270,
# 12 fps, written once as PNG frames and given to every encoder in the same run:
#   building, baboon   pans over photographs from Debian's opencv-doc examples
#   zoom, zoomfly      slow centred zooms (1.0x -> 1.3x, as the test fixtures' zooms) on
#                      opencv-doc's building.jpg and butterfly.jpg
#   handheld           real handheld footage: libopenshot's examples/test.avi from 4 s
#                      (eval/media/openshot_handheld.avi, made by eval/fetch)
#   fade               the building pan cross-fading into the butterfly zoom (xfade, 2 s from
#                      1 s): every frame's colours move, so the GIF encoder makes a new palette
#                      for most frames (5 at q50, 16 at q90); the five clips above make one
#                      palette each (handheld q90: two), so only this clip shows what a
#                      palette-reuse or palette-speed change costs or saves
#   thumbgen encode  GIF  at --quality 1 10 20 ... 100, WebP at 50 70 90 100 (lossless),
#                    MP4 at 50 70 90
#   gifski 1.7.1     GIF  at --quality 30 50 70 90 100   (npm package gifski@1.7.1)
#   ffmpeg           GIF  two-pass palettegen=stats_mode=diff + paletteuse=dither=sierra2_4a
# For each output: bytes, encode wall time (best of BENCH_RUNS, idle check before each run as
# bench/run does), mean SSIM and PSNR of the decoded frames against the source PNGs. Frames
# are aligned by timestamp: every frame is decoded with its start time and, for source frame
# k, the frame displayed at the middle of its slot, (k + 0.5)/12 s, is compared (GIF delays
# are whole centiseconds, so 8/8/9 cs slots never start exactly at k/12).
# GIF and MP4 are decoded with ffmpeg; animated WebP with bench/webp-frames.c (libwebpdemux).
# Then bench/encoders-report.py writes the tables and verdicts and bench/encoders-plot.gp draws
# bench/encoders.png (size-quality curves).
#
# Everything goes to bench/.cache/encoders/ (git-ignored) and is regenerated on every run:
#   clips/NAME/f001..f048.png, out/, dec/, results.tsv, report.md, *.dat
# Environment: BENCH_RUNS (default 3), BENCH_THUMBGEN (default build/thumbgen),
# BENCH_IDLE_MAX (busy % above which we wait, 10), BENCH_IDLE_WAIT (longest wait, s, 30),
# BENCH_CLIPS (the clips to run, space-separated; default all five), BENCH_GIF_ONLY=1 (GIF
# encoders only: no WebP/MP4/ffmpeg and no plot, for quick runs while working on the GIF
# encoder), BENCH_HANDHELD (the handheld source, default eval/media/openshot_handheld.avi).
# Needs: ffmpeg, gnuplot (Debian gnuplot-nox), cc + libwebp-dev, npm (for gifski), /usr/bin/time.
set -euo pipefail

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
ROOT=$(cd -- "$(dirname -- "$SELF")/.." && pwd)
cd -- "$ROOT"
case ${1:-} in
    -h|--help) sed -n '2,/^set -euo/p' "$SELF" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "usage: bench/encoders.sh" >&2; exit 2 ;;
esac

RUNS=${BENCH_RUNS:-3}
IDLE_MAX=${BENCH_IDLE_MAX:-10}
IDLE_WAIT=${BENCH_IDLE_WAIT:-30}
BIN=${BENCH_THUMBGEN:-build/thumbgen}
die() { echo "bench/encoders.sh: $*" >&2; exit 1; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
[[ -x $BIN ]] || die "$BIN is missing: run make first"
for t in ffmpeg ffprobe gnuplot cc npm python3 /usr/bin/time; do
    command -v "$t" >/dev/null || die "$t not found (Debian: ffmpeg gnuplot-nox gcc npm python3 time)"
done

C=bench/.cache/encoders
PHOTOS=/usr/share/doc/opencv-doc/examples/data
mkdir -p "$C"
rm -rf -- "$C/out" "$C/dec" "$C/clips" "$C/time"
mkdir -p "$C/out" "$C/dec" "$C/clips" "$C/time"

# ---- tools: gifski from npm, the WebP frame dumper, a fixed copy of thumbgen
NPM_DIR=bench/.cache/npm
GIFSKI=$NPM_DIR/node_modules/gifski/bin/debian/gifski
if [[ ! -x $GIFSKI ]] || [[ $("$GIFSKI" --version 2>/dev/null) != "gifski 1.7.1" ]]; then
    npm install --silent --prefix "$NPM_DIR" gifski@1.7.1 >/dev/null || die "npm install gifski@1.7.1 failed"
fi
[[ -x $GIFSKI ]] || die "no Linux binary at $GIFSKI"
# shellcheck disable=SC2046
cc -O2 -o "$C/webp-frames" bench/webp-frames.c $(pkg-config --cflags --libs libwebpdemux libwebp) \
    || die "could not build bench/webp-frames.c (needs libwebp-dev)"
cp -- "$BIN" "$C/thumbgen"        # others may rebuild build/thumbgen during the run
TG=$C/thumbgen

# ---- the clips (4 s, 12 fps, 480x270, PNG)
declare -A SRC VF
ALL_CLIPS=(building baboon zoom zoomfly handheld fade)
read -r -a CLIPS <<< "${BENCH_CLIPS:-${ALL_CLIPS[*]}}"
GIF_ONLY=${BENCH_GIF_ONLY:-0}
SRC[building]=$PHOTOS/building.jpg
VF[building]="scale=960:-2:flags=lanczos,crop=480:270:x='t*30':y='60+t*10',fps=12"
SRC[baboon]=$PHOTOS/baboon.jpg
VF[baboon]="scale=960:-2:flags=lanczos,crop=480:270:x='40+t*30':y='300+t*15',fps=12"
# the fixtures' zoom (tests/fixtures/make-fixtures.sh, motion zoomin): 1.0x -> 1.3x in 4 s
ZOOM="scale=w='trunc(max(480,270*iw/ih)*1.02*(1+0.3*t/4)/2)*2':h=-2:eval=frame:flags=lanczos,crop=480:270,setsar=1"
SRC[zoom]=$PHOTOS/building.jpg
VF[zoom]=$ZOOM
SRC[zoomfly]=$PHOTOS/butterfly.jpg
VF[zoomfly]=$ZOOM
SRC[handheld]=${BENCH_HANDHELD:-eval/media/openshot_handheld.avi}
VF[handheld]="fps=12,scale=480:270:flags=lanczos"
SRC[fade]=xfade   # made from the building and zoomfly frames below
declare -A CLIPCMD
for c in "${CLIPS[@]}"; do
    [[ -n ${SRC[$c]:-} ]] || die "unknown clip '$c' in BENCH_CLIPS (clips: ${ALL_CLIPS[*]})"
    case ${SRC[$c]} in
        xfade) continue ;;
        *.jpg) [[ -r ${SRC[$c]} ]] || die "${SRC[$c]} missing (Debian package opencv-doc)" ;;
        *) [[ -r ${SRC[$c]} ]] || die "${SRC[$c]} missing: run eval/fetch, set BENCH_HANDHELD, or leave $c out of BENCH_CLIPS" ;;
    esac
    mkdir -p "$C/clips/$c"
    if [[ ${SRC[$c]} == *.jpg ]]; then
        in=(-loop 1 -framerate 12 -i "${SRC[$c]}")
        CLIPCMD[$c]="ffmpeg -loop 1 -framerate 12 -i ${SRC[$c]} -vf \"${VF[$c]}\" -frames:v 48 clips/$c/f%03d.png"
    else
        in=(-ss 4 -i "${SRC[$c]}")
        CLIPCMD[$c]="ffmpeg -ss 4 -i ${SRC[$c]} -vf \"${VF[$c]}\" -frames:v 48 clips/$c/f%03d.png"
    fi
    ffmpeg -nostdin -v error "${in[@]}" -vf "${VF[$c]},format=rgb24" -frames:v 48 "$C/clips/$c/f%03d.png"
    n=$(find "$C/clips/$c" -name 'f*.png' | wc -l)
    (( n == 48 )) || die "clip $c has $n frames, expected 48"
done
# the fade: the building pan and the butterfly zoom, made apart if they are not clips of the run
for c in "${CLIPS[@]}"; do
    [[ $c == fade ]] || continue
    mkdir -p "$C/clips/$c"
    for part in building zoomfly; do
        if [[ ! -d $C/clips/$part ]]; then
            mkdir -p "$C/clips/.$part"
            ffmpeg -nostdin -v error -loop 1 -framerate 12 -i "${SRC[$part]}" -vf "${VF[$part]},format=rgb24" \
                -frames:v 48 "$C/clips/.$part/f%03d.png"
        fi
    done
    a=$C/clips/building; [[ -d $a ]] || a=$C/clips/.building
    b=$C/clips/zoomfly; [[ -d $b ]] || b=$C/clips/.zoomfly
    ffmpeg -nostdin -v error -framerate 12 -i "$a/f%03d.png" -framerate 12 -i "$b/f%03d.png" -filter_complex \
        "[0][1]xfade=transition=fade:duration=2:offset=1,format=rgb24" -frames:v 48 "$C/clips/$c/f%03d.png"
    CLIPCMD[$c]="ffmpeg -framerate 12 -i clips/building/f%03d.png -framerate 12 -i clips/zoomfly/f%03d.png -filter_complex \"[0][1]xfade=transition=fade:duration=2:offset=1\" -frames:v 48 clips/fade/f%03d.png"
    n=$(find "$C/clips/$c" -name 'f*.png' | wc -l)
    (( n == 48 )) || die "clip $c has $n frames, expected 48"
done
NSRC=48

# ---- idle check (as bench/run): CPU busy % over 1 s from /proc/stat
busy_pct() {
    local a b
    a=$(awk '/^cpu /{t=0; for (i=2;i<=9;i++) t+=$i; print t, $5+$6}' /proc/stat)
    sleep 1
    b=$(awk '/^cpu /{t=0; for (i=2;i<=9;i++) t+=$i; print t, $5+$6}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); dt=y[1]-x[1];
        if (dt <= 0) {print 0; exit} printf "%d", 100*(dt-(y[2]-x[2]))/dt + 0.5}'
}
NOTES=$C/notes.txt
: > "$NOTES"
wait_idle() {
    local p waited=0
    p=$(busy_pct)
    while (( p > IDLE_MAX && waited < IDLE_WAIT )); do p=$(busy_pct); waited=$((waited + 1)); done
    if (( p > IDLE_MAX )); then echo "still ${p} % busy after ${waited} s before $1" >> "$NOTES"
    elif (( waited > 0 )); then echo "waited ${waited} s before $1" >> "$NOTES"; fi
}
timed() {   # timed KEY cmd...   appends the wall time to $C/time/KEY
    local key=$1; shift
    if ! /usr/bin/time -f "%e" -o "$C/time/$key.t" "$@" >"$C/time/$key.out" 2>"$C/time/$key.err"; then
        tail -n 20 "$C/time/$key.err" >&2; die "command failed: $*"
    fi
    tail -n 1 "$C/time/$key.t" >> "$C/time/$key"
}

# ---- the encodes: list of "key|clip|encoder|format|quality"
JOBS=()
for c in "${CLIPS[@]}"; do
    for q in 1 10 20 30 40 50 60 70 80 90 100; do JOBS+=("$c-thumbgen-gif-$q|$c|thumbgen|gif|$q"); done
    if [[ $GIF_ONLY != 1 ]]; then
        for q in 50 70 90; do JOBS+=("$c-thumbgen-webp-$q|$c|thumbgen|webp|$q" "$c-thumbgen-mp4-$q|$c|thumbgen|mp4|$q"); done
        JOBS+=("$c-thumbgen-webp-100|$c|thumbgen|webp|100")   # quality 100 = lossless WebP
    fi
    for q in 30 50 70 90 100; do JOBS+=("$c-gifski-gif-$q|$c|gifski|gif|$q"); done
    [[ $GIF_ONLY == 1 ]] || JOBS+=("$c-ffmpeg-gif-0|$c|ffmpeg|gif|0")
done
encode() {   # key clip encoder format q
    local key=$1 c=$2 enc=$3 fmt=$4 q=$5 out=$C/out/$1.$4 src=$C/clips/$2
    case $enc in
        thumbgen) timed "$key" "$TG" encode "$src"/f*.png -o "$out" --fps 12 --quality "$q" ;;
        gifski)   timed "$key" "$GIFSKI" --fps 12 --width 480 --quality "$q" -o "$out" "$src"/f*.png ;;
        ffmpeg)
            timed "$key.p1" ffmpeg -nostdin -v error -y -framerate 12 -i "$src/f%03d.png" \
                -vf "palettegen=stats_mode=diff" "$C/out/$key.pal.png"
            timed "$key.p2" ffmpeg -nostdin -v error -y -framerate 12 -i "$src/f%03d.png" \
                -i "$C/out/$key.pal.png" -lavfi "paletteuse=dither=sierra2_4a" "$out"
            paste -d' ' <(tail -n 1 "$C/time/$key.p1") <(tail -n 1 "$C/time/$key.p2") \
                | awk '{printf "%.2f\n", $1 + $2}' >> "$C/time/$key" ;;
    esac
}
for ((r = 1; r <= RUNS; r++)); do
    echo "run $r/$RUNS: ${#JOBS[@]} encodes" >&2
    for j in "${JOBS[@]}"; do
        IFS='|' read -r key c enc fmt q <<< "$j"
        wait_idle "$key run $r"
        encode "$key" "$c" "$enc" "$fmt" "$q"
    done
done

# ---- decode every frame with its start time, align to the source by timestamp, measure
align() {   # DIR TIMES EXT -> DIR/s001.EXT.. symlinks; prints "frames duration"
    local dir=$1 times=$2 ext=$3
    awk -v n="$NSRC" -v dir="$dir" -v ext="$ext" '
        { st[NR] = $1; en = $2 } END {
            m = NR; if (m == 0) exit 1
            for (k = 0; k < n; k++) { t = (k + 0.5) / 12; j = 1
                for (i = 1; i <= m; i++) if (st[i] <= t + 1e-9) j = i
                printf "%04d %03d\n", j, k + 1 }
            printf "END %d %.3f\n", m, en }' "$times" > "$dir/align.txt"
    grep -v '^END' "$dir/align.txt" | while read -r j k; do ln -sf "raw/$j.$ext" "$dir/s$k.$ext"; done
    grep '^END' "$dir/align.txt" | cut -d' ' -f2-
}
TSV=$C/results.tsv
printf 'clip\tencoder\tformat\tq\tbytes\twall_min\twalls\tssim\tssim_y\tpsnr\tframes\tduration\n' > "$TSV"
for j in "${JOBS[@]}"; do
    IFS='|' read -r key c enc fmt q <<< "$j"
    out=$C/out/$key.$fmt d=$C/dec/$key
    mkdir -p "$d/raw"
    if [[ $fmt == webp ]]; then
        "$C/webp-frames" "$out" "$d/raw" > "$d/times.txt"; ext=ppm
    else
        ffmpeg -nostdin -v error -i "$out" -fps_mode passthrough -start_number 1 "$d/raw/%04d.png"
        ffprobe -v error -select_streams v:0 -show_entries frame=best_effort_timestamp_time,pkt_duration_time \
            -of csv=p=0 "$out" | awk -F, 'NF >= 2 {print $1, $1 + $2}' > "$d/times.txt"
        ext=png
    fi
    nraw=$(find "$d/raw" -type f | wc -l)
    (( nraw == $(wc -l < "$d/times.txt") )) || die "$key: $nraw frames decoded but $(wc -l < "$d/times.txt") timestamps"
    read -r nfr dur < <(align "$d" "$d/times.txt" "$ext")
    ffmpeg -nostdin -v error -framerate 12 -i "$d/s%03d.$ext" -framerate 12 -i "$C/clips/$c/f%03d.png" -lavfi \
        "[0:v]format=yuv444p,split[a1][a2];[1:v]format=yuv444p,split[b1][b2];[a1][b1]ssim=stats_file=$d/ssim.log;[a2][b2]psnr=stats_file=$d/psnr.log" \
        -f null -
    (( $(wc -l < "$d/ssim.log") == NSRC )) || die "$key: SSIM over $(wc -l < "$d/ssim.log") frames, expected $NSRC"
    ssim=$(awk '{for (i=1;i<=NF;i++) if ($i ~ /^All:/) {split($i,a,":"); s+=a[2]}} END{printf "%.5f", s/NR}' "$d/ssim.log")
    ssimy=$(awk '{for (i=1;i<=NF;i++) if ($i ~ /^Y:/) {split($i,a,":"); s+=a[2]}} END{printf "%.5f", s/NR}' "$d/ssim.log")
    psnr=$(awk '{for (i=1;i<=NF;i++) if ($i ~ /^psnr_avg:/) {split($i,a,":"); v=(a[2]=="inf")?100:a[2]; s+=v}} END{printf "%.3f", s/NR}' "$d/psnr.log")
    bytes=$(stat -c %s "$out")
    wmin=$(sort -g "$C/time/$key" | head -1)
    walls=$(paste -sd/ "$C/time/$key")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$enc" "$fmt" "$q" "$bytes" "$wmin" "$walls" \
        "$ssim" "$ssimy" "$psnr" "$nfr" "$dur" >> "$TSV"
    rm -rf -- "$d/raw"/*.ppm    # the WebP canvases are big; PNG frames are kept for inspection
done

# ---- run description, report, plot
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git status --porcelain 2>/dev/null) ]] && commit="$commit (dirty)"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit: $commit; $BIN sha256 $(sha256sum "$TG" | cut -c1-12)"
    echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM; $(. /etc/os-release; echo "$PRETTY_NAME"); $(ffmpeg -version | head -1 | cut -d' ' -f1-3); $("$GIFSKI" --version); libwebp $(pkg-config --modversion libwebp)"
    echo "runs: $RUNS per encode, best wall time; idle check (<= $IDLE_MAX % busy, wait <= $IDLE_WAIT s) before each"
    for c in "${CLIPS[@]}"; do echo "clip $c: ${CLIPCMD[$c]}"; done
} > "$C/run.txt"
python3 bench/encoders-report.py "$C" > "$C/report.md"
[[ $GIF_ONLY == 1 ]] || gnuplot -e "dir='$C'; out='bench/encoders.png'; clips='${CLIPS[*]}'" bench/encoders-plot.gp
cat "$C/report.md"
echo "bench/encoders.sh: report in $C/report.md$([[ $GIF_ONLY == 1 ]] || echo ", plot in bench/encoders.png")" >&2
