#!/usr/bin/env bash
# bench/faces.sh — cost of the face engine (src/analyze/faces.c) per sampled frame.
#
# Frames: opencv-doc's Megamind.avi (an animated talking head, a face in every frame) at
# 2 frames per second, scaled to 320×234 — the kind of small RGB frame the analysis
# samples. bench/faces-bench.c (built as $BUILD/faces-bench) runs all of them through
# the detector alone and through detector + landmarks, at several detector input sizes,
# on 1 and 2 threads, with the full and the tiny landmark net; best of its repetitions,
# minimum over BENCH_RUNS (default 3) runs. Beside it, the same run times MobileNetV2
# (bench/nn-bench, batch 8, 1 thread, 80 frames) in CPU seconds as a yardstick of how
# busy the machine is: its quiet-machine figure is 7.25 ms/frame (bench/RESULTS.md), so
# "quiet est." = our CPU ms × 7.25 / MobileNetV2's CPU ms per frame in the same run
# (an estimate for a shared machine; on a quiet one the wall columns are the answer).
# Environment: BUILD (default build), BENCH_RUNS. Output: a markdown table on stdout.
set -euo pipefail

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
ROOT=$(cd -- "$(dirname -- "$SELF")/.." && pwd)
cd -- "$ROOT"
BUILD=${BUILD:-build}
RUNS=${BENCH_RUNS:-3}
die() { echo "bench/faces.sh: $*" >&2; exit 1; }

[[ -f models/face-api/tiny_face_detector_model.bin ]] || die "models/face-api missing: run scripts/fetch-models"
VIDEO=/usr/share/doc/opencv-doc/examples/data/Megamind.avi
[[ -r $VIDEO ]] || die "$VIDEO missing (apt-get install opencv-doc)"
make --no-print-directory BUILD="$BUILD" "$BUILD/faces-bench" "$BUILD/nn-bench" >/dev/null ||
    die "cannot build $BUILD/faces-bench"
TMP=$(mktemp -d /tmp/thumbgen-faces.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT
cp -- "$BUILD/faces-bench" "$BUILD/nn-bench" "$TMP/"
W=320 H=234
ffmpeg -nostdin -v error -i "$VIDEO" -vf "fps=2,scale=$W:$H" -f rawvideo -pix_fmt rgb24 "$TMP/frames.rgb"

val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
min() { sort -g | head -1; }

# config label + faces-bench arguments
CONFIGS=(
    "160|-s 160 -t 1"
    "224|-s 224 -t 1"
    "320|-s 320 -t 1"
    "416|-s 416 -t 1"
    "224|-s 224 -t 2"
    "224 tiny|-s 224 -t 1 --tiny"
    "224 tiny|-s 224 -t 2 --tiny"
)
# the yardstick first: CPU ms per MobileNetV2 frame (80 frames + loading), best of RUNS
yard=()
for ((r = 0; r < RUNS; r++)); do
    cpu=$( { /usr/bin/time -f "%U %S" "$TMP/nn-bench" models/nsfwjs/mobilenet_v2 -b 8 -t 1 -r 10 >/dev/null; } 2>&1 | tail -1)
    yard+=("$(echo "$cpu" | awk '{printf "%.3f", ($1 + $2) * 1000 / 80}')")
done
Y=$(printf '%s\n' "${yard[@]}" | min)
echo "| detector input | landmarks | threads | detector ms/frame | + landmarks ms/frame | landmarks ms/face | CPU ms/frame: detector / + landmarks (1 thread) | quiet est. ms/frame: detector / + landmarks | MFLOP det / landmarks |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for c in "${CONFIGS[@]}"; do
    label=${c%%|*} args=${c#*|}
    det=() all=() face=() cpu=() cpud=()
    for ((r = 0; r < RUNS; r++)); do
        # shellcheck disable=SC2086
        line=$(TG_MODELS="$ROOT/models" "$TMP/faces-bench" $W $H $args -r 3 <"$TMP/frames.rgb")
        det+=("$(echo "$line" | val detector_ms_per_frame)")
        all+=("$(echo "$line" | val total_ms_per_frame)")
        face+=("$(echo "$line" | val landmark_ms_per_face)")
        cpu+=("$(echo "$line" | val cpu_total_ms_per_frame)")
        cpud+=("$(echo "$line" | val cpu_detector_ms_per_frame)")
        last=$line
    done
    threads=$(echo "$last" | val threads)
    lm=$(echo "$last" | val landmarks)
    cd_=$(printf '%s\n' "${cpud[@]}" | min) ca_=$(printf '%s\n' "${cpu[@]}" | min)
    if [[ $threads == 1 ]]; then
        cpucol=$(printf '%.2f / %.2f' "$cd_" "$ca_")
        quiet=$(awk -v d="$cd_" -v a="$ca_" -v y="$Y" 'BEGIN{printf "%.2f / %.2f", d*7.25/y, a*7.25/y}')
    else
        cpucol=- quiet=-
    fi
    printf '| %s | %s | %s | %.2f | %.2f | %.2f | %s | %s | %s / %s |\n' "${label%% *}" "$lm" "$threads" \
        "$(printf '%s\n' "${det[@]}" | min)" "$(printf '%s\n' "${all[@]}" | min)" \
        "$(printf '%s\n' "${face[@]}" | min)" "$cpucol" "$quiet" \
        "$(echo "$last" | val detector_mflop)" "$(echo "$last" | val landmark_mflop)"
done
echo
echo "Frames: $(($(stat -c %s "$TMP/frames.rgb") / (W * H * 3))) of ${W}×${H} (Megamind.avi, 2 fps), $(echo "$last" | val faces) faces found."
echo "Yardstick, same run: MobileNetV2 224×224 batch 8, 1 thread: $Y CPU ms/frame (quiet machine: 7.25 ms/frame)."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
