#!/usr/bin/env bash
# bench/make-video.sh OUT.mp4 [SECONDS]   (SECONDS defaults to 600)
#
# Generates the benchmark video: 1080p30 H.264 (libx264, yuv420p, High profile),
# ~6 Mbit/s like web 1080p, made of shots of 2-8 s (deterministic pseudo-random
# lengths) with hard cuts. Each shot is one photograph from Debian's opencv-doc
# package (20 natural photos reused cyclically), covered to 2400x1350 and shown with
# a slow pan (8 directions) or a slow zoom in/out, plus mild temporal grain
# (noise=alls=6:allf=t) so it is not trivially compressible. Every cut is an IDR frame
# and shots longer than 5 s get one more keyframe in their middle, so keyframes are
# 2-5 s apart, as in web video.
#
# The shots are encoded separately (BENCH_JOBS in parallel, default nproc, one thread
# each; identical encoder settings) into OUT's directory and then joined with the
# concat demuxer (-c copy). Re-running resumes: finished shots are kept until OUT is
# complete. The output is deterministic. If OUT exists the script does nothing.
set -euo pipefail

usage() { echo "usage: $0 OUT.mp4 [SECONDS]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
OUT=$1
SECONDS_TOTAL=${2:-600}
[[ $SECONDS_TOTAL =~ ^[0-9]+$ && $SECONDS_TOTAL -ge 2 ]] || { echo "$0: SECONDS must be an integer >= 2" >&2; exit 2; }

if [[ -s $OUT ]]; then
    echo "make-video: $OUT exists, not rebuilding (delete it to regenerate)"
    exit 0
fi

FPS=30
DATA=/usr/share/doc/opencv-doc/examples/data
PHOTOS=(aero1 aloeL baboon building butterfly fruits home leuvenA messi5 orange
        squirrel_cls starry_night apple ela_original licenseplate_motion left aero3
        stuff board pca_test1)
JOBS=${BENCH_JOBS:-$(nproc)}
# encoder settings shared by every shot (they must be identical for concat -c copy)
X264=(-c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p
      -crf 21 -maxrate 8M -bufsize 16M -g 250 -keyint_min 60 -threads 1)
RECIPE=v1   # bump when the recipe changes so stale shot files are not reused

for t in ffmpeg ffprobe; do
    command -v $t >/dev/null || { echo "$0: $t not found (apt-get install ffmpeg)" >&2; exit 1; }
done
missing=()
for p in "${PHOTOS[@]}"; do [[ -r $DATA/$p.jpg ]] || missing+=("$p.jpg"); done
if (( ${#missing[@]} )); then
    echo "$0: missing ${missing[*]} in $DATA (apt-get install opencv-doc)" >&2
    exit 1
fi

OUTDIR=$(dirname -- "$OUT")
mkdir -p -- "$OUTDIR"
WORK="$OUTDIR/.shots-$(basename -- "$OUT" .mp4)-$RECIPE"
mkdir -p -- "$WORK"

# ---- shot list: lengths in frames, uniform in [60, 240] (2-8 s), LCG with a fixed seed
TOTAL=$((SECONDS_TOTAL * FPS))
seed=20240611
rnd() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); r=$(( seed >> 8 )); }
LENS=()
used=0
while (( used < TOTAL )); do
    rem=$((TOTAL - used))
    if (( rem <= 240 )); then
        len=$rem                                  # last shot (>= 60 unless TOTAL < 60)
    else
        rnd; len=$((60 + r % 181))
        (( rem - len < 60 )) && len=$((rem - 60))  # keep the last shot >= 2 s
    fi
    LENS+=("$len")
    used=$((used + len))
done
NSHOTS=${#LENS[@]}
echo "make-video: $OUT: ${SECONDS_TOTAL} s, 1920x1080 @ ${FPS} fps, $NSHOTS shots of 2-8 s," \
     "${#PHOTOS[@]} photos, $JOBS parallel encodes"

# ---- one shot: ffmpeg filter graph for shot i of n frames
shot_filter() {
    local i=$1 n=$2 motion r
    r=$(( (i * 7919 + 13) % 10 ))
    local cover="scale=2400:1350:force_original_aspect_ratio=increase:flags=bicubic,crop=2400:1350"
    local still="loop=loop=$((n - 1)):size=1:start=0,setpts=N/($FPS*TB)"
    local D; D=$(awk -v n="$n" -v f="$FPS" 'BEGIN{printf "%.6f", n/f}')
    local p="(t/$D)"           # 0 -> 1 over the shot
    case $r in
        0) motion="crop=1920:1080:x='480*$p':y='135'" ;;                 # pan right
        1) motion="crop=1920:1080:x='480*(1-$p)':y='135'" ;;             # pan left
        2) motion="crop=1920:1080:x='240':y='270*$p'" ;;                 # tilt down
        3) motion="crop=1920:1080:x='240':y='270*(1-$p)'" ;;             # tilt up
        4) motion="crop=1920:1080:x='480*$p':y='270*$p'" ;;              # diagonal
        5) motion="crop=1920:1080:x='480*(1-$p)':y='270*$p'" ;;          # diagonal
        6) motion="crop=1920:1080:x='480*$p':y='270*(1-$p)'" ;;          # diagonal
        7|8) motion="zoompan=z='1+0.3*on/$n':d=$n:x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':s=1920x1080:fps=$FPS" ;;  # zoom in
        9) motion="zoompan=z='1.3-0.3*on/$n':d=$n:x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':s=1920x1080:fps=$FPS" ;;   # zoom out
    esac
    if [[ $motion == zoompan* ]]; then
        echo "$cover,$motion,setpts=N/($FPS*TB),noise=alls=6:allf=t,format=yuv420p"
    else
        echo "$cover,$still,$motion,noise=alls=6:allf=t,format=yuv420p"
    fi
}

encode_shot() {
    local i=$1 n=$2 photo=$3 dst=$4 kf=()
    # shots longer than 5 s get a keyframe in the middle (keyframes 2-5 s apart)
    (( n > 150 )) && kf=(-force_key_frames "expr:eq(n,$((n / 2)))")
    ffmpeg -nostdin -v error -y -i "$DATA/$photo.jpg" \
        -filter_complex "[0:v]$(shot_filter "$i" "$n")[v]" -map '[v]' -frames:v "$n" -r $FPS \
        "${X264[@]}" "${kf[@]}" -an -f mp4 "$dst.tmp" && mv -f -- "$dst.tmp" "$dst"
}

start=$(date +%s)
LIST="$WORK/list.txt"
: > "$LIST"
done_before=0
for ((i = 0; i < NSHOTS; i++)); do
    n=${LENS[i]}
    photo=${PHOTOS[i % ${#PHOTOS[@]}]}
    dst="$WORK/shot$(printf %04d "$i")-$n.mp4"
    echo "file '$(basename -- "$dst")'" >> "$LIST"
    if [[ -s $dst ]]; then done_before=$((done_before + 1)); continue; fi
    while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
    printf 'make-video:   shot %3d/%d  %-20s %5.2f s\n' $((i + 1)) "$NSHOTS" "$photo.jpg" \
        "$(awk -v n="$n" -v f=$FPS 'BEGIN{print n/f}')"
    encode_shot "$i" "$n" "$photo" "$dst" &
done
# `wait -n` above has already reaped some shots, and `wait PID` on a reaped one fails
# ("not a child of this shell") although it succeeded: wait for the rest, then judge
# every shot by its file (encode_shot moves it in place only when ffmpeg succeeded).
fail=0
wait || true
(( done_before )) && echo "make-video: reused $done_before shots already encoded in $WORK"
while read -r _ f; do
    f=${f//\'/}
    [[ -s $WORK/$f ]] || { echo "make-video: shot $f failed" >&2; fail=1; }
done < "$LIST"
(( fail == 0 )) || { echo "make-video: encoding failed (finished shots kept in $WORK)" >&2; exit 1; }

echo "make-video: joining $NSHOTS shots (concat demuxer, -c copy)"
ffmpeg -nostdin -v error -y -f concat -safe 0 -i "$LIST" -c copy -movflags +faststart \
    -f mp4 "$OUT.tmp"

# sanity check before publishing OUT
frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
         -of csv=p=0 "$OUT.tmp")
if [[ $frames != "$TOTAL" ]]; then
    echo "make-video: expected $TOTAL frames, got $frames" >&2
    rm -f -- "$OUT.tmp"; exit 1
fi
mv -f -- "$OUT.tmp" "$OUT"
rm -rf -- "$WORK"
size=$(stat -c %s -- "$OUT")
echo "make-video: wrote $OUT: $frames frames, $((size / 1000000)) MB," \
     "$(awk -v s="$size" -v d="$SECONDS_TOTAL" 'BEGIN{printf "%.1f", s*8/d/1e6}') Mbit/s," \
     "in $(( $(date +%s) - start )) s"
