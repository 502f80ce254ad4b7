#!/usr/bin/env bash
# bench/upscale.sh [--quick]     (bench/run calls it; results go to bench/RESULTS.md by hand)
#
# The upscaling benchmark (issue 6). Images NOT used by the tests (tests/fixtures uses
# other opencv-doc photos): 8 photographs and 2 real video frames (Middlebury optical
# flow sequences) from Debian's opencv-doc, cropped to a multiple of 12 px. Each is
# downscaled ×2 and ×3 with an area filter (clean), and also degraded like web video:
# JPEG quality 40 (ImageMagick, 4:2:0) and an H.264 CRF 32 intra encode (libx264,
# 4:2:0). Every method upscales back to the original size — nearest, bilinear and
# bicubic (plain libswscale) as baselines, lanczos and lanczos+sharpen as thumbgen runs
# them (sharpen decides "visibly compressed" by its own measurement). Reported per
# scale × degradation: PSNR (RGB), SSIM (luma, 11×11 Gaussian) with a 4-px border
# cropped, a no-reference sharpness (mean Sobel magnitude, as a share of the
# original's), how often sharpen judged the source compressed, and the time per frame for
# 640×360 → 1280×720. Then the --upscale hd path: thumbgen make of a 3-clip GIF from a
# 360p video against plain thumbgen make (minimum of BENCH_RUNS runs). Writes
# bench/upscale.png (crops: original / bicubic / lanczos / lanczos+sharpen).
# Environment: BENCH_THUMBGEN (default build/thumbgen; its libthumbgen.a beside it is
# linked into bench/upscale-tool.c), BENCH_RUNS (default 3).
# Needs: ffmpeg with libx264, ImageMagick's convert, cc, DejaVu fonts, opencv-doc.
set -euo pipefail

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
ROOT=$(cd -- "$(dirname -- "$SELF")/.." && pwd)
cd -- "$ROOT"
QUICK=0
for a in "$@"; do
    case $a in
        --quick) QUICK=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$SELF" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: bench/upscale.sh [--quick]" >&2; exit 2 ;;
    esac
done
die() { echo "bench/upscale.sh: $*" >&2; exit 1; }
BIN=${BENCH_THUMBGEN:-build/thumbgen}
RUNS=${BENCH_RUNS:-3}
LIB=$(dirname -- "$BIN")/libthumbgen.a
[[ -x $BIN && -f $LIB ]] || die "$BIN or $LIB missing: run make first"
if ! command -v convert >/dev/null; then
    echo "bench/upscale.sh: installing Debian's imagemagick (JPEG q40 degradation)" >&2
    SUDO=; (( EUID == 0 )) || SUDO=sudo
    $SUDO apt-get install -y -q imagemagick >/dev/null || die "could not install imagemagick"
fi
for t in ffmpeg convert cc; do command -v $t >/dev/null || die "$t not found (Debian: ffmpeg imagemagick gcc)"; done
DATA=/usr/share/doc/opencv-doc/examples/data
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
PHOTOS="aero1.jpg leuvenB.jpg aloeR.jpg ela_original.jpg apple.jpg orange.jpg stuff.jpg graf3.png"
FRAMES="basketball1.png rubberwhale2.png"
(( QUICK )) && PHOTOS="aero1.jpg apple.jpg" && FRAMES="rubberwhale2.png"

C=bench/.cache/upscale
mkdir -p "$C"
TMP=$(mktemp -d /tmp/thumbgen-upscale.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT
cp -- "$BIN" "$TMP/thumbgen"
TG=$TMP/thumbgen
PKGS=$(awk '/^PKGS/{f=1} f{print} f&&!/\\$/{exit}' Makefile | sed 's/^PKGS *= *//; s/\\//g')
# shellcheck disable=SC2086
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(pkg-config --cflags $PKGS) \
    -o "$TMP/tool" bench/upscale-tool.c "$LIB" $(pkg-config --libs $PKGS) -lgomp -lm -lpthread \
    || die "could not build bench/upscale-tool.c"
T=$TMP/tool
FF="ffmpeg -nostdin -v error -y"
METHODS="nearest bilinear bicubic lanczos lanczos+sharpen cnn"
export TG_MODELS=${TG_MODELS:-$ROOT/models} # the cnn method's weights (scripts/fetch-models)

rgb() { $FF -i "$1" -f rawvideo -pix_fmt rgb24 "$2"; }
dims() { ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$1"; }

# ---- the set: originals cropped to a multiple of 12, as RGB24 PNG
RES=$TMP/results.txt; : > "$RES"
for f in $PHOTOS $FRAMES; do
    n=${f%.*}
    [[ -r $DATA/$f ]] || die "missing $DATA/$f (apt-get install opencv-doc)"
    IFS=, read -r w h < <(dims "$DATA/$f")
    w=$((w / 12 * 12)); h=$((h / 12 * 12))
    $FF -i "$DATA/$f" -vf "crop=$w:$h:0:0,format=rgb24" "$C/$n.png"
    rgb "$C/$n.png" "$TMP/$n.rgb"
    for s in 2 3; do
        sw=$((w / s)); sh=$((h / s))
        $FF -i "$C/$n.png" -vf "scale=$sw:$sh:flags=area,format=rgb24" "$C/$n-x$s-clean.png"
        convert "$C/$n-x$s-clean.png" -quality 40 -sampling-factor 2x2 "$TMP/$n-x$s.jpg"
        $FF -i "$TMP/$n-x$s.jpg" -pix_fmt rgb24 "$C/$n-x$s-jpeg40.png"
        $FF -i "$C/$n-x$s-clean.png" -c:v libx264 -preset medium -crf 32 -pix_fmt yuv420p "$TMP/$n-x$s.mp4"
        $FF -i "$TMP/$n-x$s.mp4" -frames:v 1 -pix_fmt rgb24 "$C/$n-x$s-h264crf32.png"
        for d in clean jpeg40 h264crf32; do
            rgb "$C/$n-x$s-$d.png" "$TMP/in.rgb"
            for m in $METHODS; do
                read -r ms comp blk < <("$T" run "$m" "$TMP/in.rgb" $sw $sh "$TMP/out.rgb" $w $h)
                read -r psnr ssim sharp sref < <("$T" metrics "$TMP/$n.rgb" "$TMP/out.rgb" $w $h)
                echo "$n x$s $d $m $psnr $ssim $sharp $sref $comp $blk" >> "$RES"
                if [[ $m == lanczos || $m == lanczos+sharpen || $m == bicubic ]]; then
                    $FF -f rawvideo -pix_fmt rgb24 -s ${w}x$h -i "$TMP/out.rgb" "$C/$n-x$s-$d-${m/+/-}.png"
                fi
            done
        done
    done
    echo "  $n done" >&2
done
cp "$RES" "$C/results.txt"

echo "## Quality (mean over $(echo $PHOTOS $FRAMES | wc -w) images; 4-px border cropped)"
echo
echo "| scale | degradation | method | PSNR dB | SSIM | sharpness (orig = 1) | judged compressed (denoise, no sharpen) |"
echo "|---|---|---|---:|---:|---:|---:|"
for s in x2 x3; do for d in clean jpeg40 h264crf32; do for m in $METHODS; do
    awk -v s=$s -v d=$d -v m=$m '$2==s && $3==d && $4==m {p+=$5; q+=$6; r+=$7/$8; c+=($9==1); n++}
        END {printf "| %s | %s | %s | %.2f | %.4f | %.2f | %s |\n", s, d, m, p/n, q/n, r/n, (m=="lanczos+sharpen") ? c "/" n : ""}' "$RES"
done; done; done
echo
echo "Per image, SSIM of lanczos+sharpen minus lanczos (wins / images):"
for s in x2 x3; do for d in clean jpeg40 h264crf32; do
    awk -v s=$s -v d=$d '$2==s && $3==d && $4=="lanczos" {l[$1]=$6} $2==s && $3==d && $4=="lanczos+sharpen" {k[$1]=$6}
        END {for (i in l) {n++; w += (k[i] >= l[i]); t += k[i]-l[i]} printf "- %s %s: %d/%d, mean %+.4f\n", s, d, w, n, t/n}' "$RES"
done; done
echo

# ---- time per frame, 640x360 -> 1280x720
$FF -i "$DATA/aloeR.jpg" -vf "scale=640:360:flags=area,format=rgb24" -f rawvideo "$TMP/f360.rgb"
echo "## Time per frame, 640×360 → 1280×720 (minimum of 20 runs, cnn of 3; cnn on 2 threads, the others on one)"
echo
echo "| method | ms |"
echo "|---|---:|"
for m in bicubic lanczos lanczos+sharpen cnn; do
    n=20; [[ $m == cnn ]] && n=3
    read -r ms _ < <("$T" run "$m" "$TMP/f360.rgb" 640 360 "$TMP/o.rgb" 1280 720 $n 0)
    echo "| $m | $ms |"
done
read -r ms _ < <("$T" run lanczos+sharpen "$TMP/f360.rgb" 640 360 "$TMP/o.rgb" 1280 720 20 1)
echo "| lanczos+sharpen, compressed path (denoise, no unsharp) | $ms |"
echo

# ---- the --upscale hd path against plain make, 3-clip GIF from a 360p source
V=$C/story-360p.mp4
if [[ ! -f $V ]]; then
    [[ -f bench/.cache/bench-60s.mp4 ]] || bench/make-video.sh bench/.cache/bench-60s.mp4 60 >&2
    $FF -i bench/.cache/bench-60s.mp4 -vf scale=640:360:flags=area -c:v libx264 -preset veryfast -crf 23 -an "$V"
fi
best() { sort -n | head -1; }
declare -A W
for k in plain hd; do
    for ((r = 1; r <= RUNS; r++)); do
        args=(make "$V" -o "$TMP/$k.gif" -q)
        [[ $k == hd ]] && args+=(--upscale hd)
        /usr/bin/time -f "%e" -o "$TMP/t" "$TG" "${args[@]}"
        W[$k]="${W[$k]:-} $(cat "$TMP/t")"
    done
done
pw=$(tr ' ' '\n' <<< "${W[plain]}" | grep . | best); hw=$(tr ' ' '\n' <<< "${W[hd]}" | grep . | best)
echo "## --upscale hd path (3-clip GIF, 60 s 640×360 H.264 source, $RUNS runs, minimum)"
echo
echo "| command | wall s | output |"
echo "|---|---:|---|"
echo "| thumbgen make V -o a.gif | $pw | $(dims "$TMP/plain.gif" | tr , x), $(stat -c %s "$TMP/plain.gif") B |"
echo "| thumbgen make V -o b.gif --upscale hd | $hw | $(dims "$TMP/hd.gif" | tr , x), $(stat -c %s "$TMP/hd.gif") B |"
echo
echo "ratio hd / plain: $(awk -v a="$hw" -v b="$pw" 'BEGIN{printf "%.2f", a/b}') (all runs: plain${W[plain]}; hd${W[hd]})"
echo

# ---- side by side: a crop of each, original / bicubic / lanczos / lanczos+sharpen
panel() { # image scale degradation x y -> $TMP/row-N.png
    local n=$1 s=$2 d=$3 x=$4 y=$5 i=0 inputs=() labels=("original" "bicubic" "lanczos" "lanczos+sharpen")
    [[ -f $C/$n-x$s-$d-lanczos.png ]] || return 0
    for src in "$C/$n.png" "$C/$n-x$s-$d-bicubic.png" "$C/$n-x$s-$d-lanczos.png" "$C/$n-x$s-$d-lanczos-sharpen.png"; do
        $FF -i "$src" -vf "crop=240:180:$x:$y,scale=480:360:flags=neighbor,drawtext=fontfile=$FONT:text='${labels[$i]} (x$s $d)':x=6:y=6:fontsize=16:fontcolor=white:box=1:boxcolor=black@0.6" "$TMP/p$i.png"
        inputs+=(-i "$TMP/p$i.png"); i=$((i + 1))
    done
    $FF "${inputs[@]}" -filter_complex hstack=inputs=4 "$TMP/row-$6.png"
}
panel aero1 2 clean 300 150 0
panel aloeR 3 jpeg40 400 300 1
panel rubberwhale2 2 h264crf32 200 120 2
$FF -i "$TMP/row-0.png" -i "$TMP/row-1.png" -i "$TMP/row-2.png" -filter_complex vstack=inputs=3 bench/upscale.png
echo "(side by side: bench/upscale.png; per-image numbers: $C/results.txt)"
