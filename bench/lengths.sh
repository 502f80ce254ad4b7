#!/usr/bin/env bash
# bench/lengths.sh [SECONDS...]   (default: 60 180 600 3600)
#
# thumbgen make at several video lengths against the decoder's floor (issue 15): for each
# length, in the same run and alternating, the wall time, CPU time (user+sys) and peak RSS of
#   full   ffmpeg decoding every frame (-threads 2; the reference of goal 1),
#   keys   ffmpeg decoding the keyframes only (-skip_frame nokey; the reference of goal 2),
#   make   thumbgen make VIDEO -o out.gif (CNN and face model on: TG_MODELS),
#   base   the same with another binary (BASE_THUMBGEN, optional: the before of a change).
# Videos: the 600 s benchmark video of bench/make-video.sh; 60 s by make-video.sh too; 180 s
# cut from the 600 s one (-c copy, its first 180 s); 3600 s = the 600 s one 6 times
# (concat demuxer, -c copy). All cached in bench/.cache/.
# Each command runs RUNS times (default 2, alternating between commands); the table
# keeps the fastest run's wall and CPU time and the largest RSS. With SKIP_FULL_LONG=1 the
# full decode of the 1-hour file is not run (on a loaded machine it takes an hour).
# Environment: THUMBGEN (default build/thumbgen), BASE_THUMBGEN, RUNS, TG_MODELS.
set -euo pipefail
SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
ROOT=$(cd -- "$(dirname -- "$SELF")/.." && pwd)
cd -- "$ROOT"
LENGTHS=("$@")
(( ${#LENGTHS[@]} )) || LENGTHS=(60 180 600 3600)
RUNS=${RUNS:-2}
export TG_MODELS=${TG_MODELS:-$ROOT/models}
TMP=$(mktemp -d /tmp/thumbgen-lengths.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT
cp -- "${THUMBGEN:-build/thumbgen}" "$TMP/new"
[[ -n ${BASE_THUMBGEN:-} ]] && cp -- "$BASE_THUMBGEN" "$TMP/base"
C=bench/.cache
mkdir -p "$C"

video() {   # seconds -> path (made if missing)
    local s=$1 v=$C/bench-${1}s.mp4
    if [[ ! -s $v ]]; then
        case $s in
            60 | 600) bench/make-video.sh "$v" "$s" >&2 ;;
            3600)
                video 600 >/dev/null
                : > "$C/concat-3600.txt"
                for _ in 1 2 3 4 5 6; do echo "file 'bench-600s.mp4'" >> "$C/concat-3600.txt"; done
                ffmpeg -nostdin -v error -y -f concat -safe 0 -i "$C/concat-3600.txt" -c copy "$v.tmp.mp4"
                mv -f -- "$v.tmp.mp4" "$v" ;;
            *)
                video 600 >/dev/null
                ffmpeg -nostdin -v error -y -i "$C/bench-600s.mp4" -t "$s" -c copy "$v.tmp.mp4"
                mv -f -- "$v.tmp.mp4" "$v" ;;
        esac
    fi
    echo "$v"
}

run() {   # label cmd... -> prints "wall cpu rssMB"
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/t" "$@" >/dev/null 2>"$TMP/err" || {
        echo "bench/lengths: failed: $*" >&2; tail -5 "$TMP/err" >&2; exit 1; }
    awk '{printf "%.2f %.2f %.0f\n", $1, $2 + $3, $4 / 1024}' "$TMP/t"
}

echo "# bench/lengths.sh — $(date -u '+%Y-%m-%d %H:%M UTC'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| video | command | wall s (min of $RUNS) | CPU s | peak RSS MB | wall / full decode | wall / keyframe decode |"
echo "|---|---|---|---|---|---|---|"
for s in "${LENGTHS[@]}"; do
    v=$(video "$s")
    cmds=(full keys make)
    [[ -e $TMP/base ]] && cmds+=(base)
    declare -A W=() P=() R=()
    for ((r = 0; r < RUNS; r++)); do
        for c in "${cmds[@]}"; do
            [[ $c == full && $s -ge 3600 && ${SKIP_FULL_LONG:-0} == 1 ]] && continue
            case $c in
                full) out=$(run ffmpeg -nostdin -v error -threads 2 -i "$v" -f null -) ;;
                keys) out=$(run ffmpeg -nostdin -v error -threads 2 -skip_frame nokey -i "$v" -f null -) ;;
                make) out=$(run "$TMP/new" make "$v" -o "$TMP/new.gif" -q) ;;
                base) out=$(run "$TMP/base" make "$v" -o "$TMP/base.gif" -q) ;;
            esac
            read -r w p m <<< "$out"
            if [[ -z ${W[$c]:-} ]] || awk -v a="$w" -v b="${W[$c]}" 'BEGIN{exit !(a < b)}'; then
                W[$c]=$w; P[$c]=$p
            fi
            [[ -z ${R[$c]:-} || $m -gt ${R[$c]} ]] && R[$c]=$m
        done
    done
    for c in "${cmds[@]}"; do
        [[ -n ${W[$c]:-} ]] || continue
        rf=$( [[ -n ${W[full]:-} ]] && awk -v a="${W[$c]}" -v b="${W[full]}" 'BEGIN{printf "%.2f", a/b}' || echo –)
        rk=$(awk -v a="${W[$c]}" -v b="${W[keys]}" 'BEGIN{printf "%.2f", a/b}')
        echo "| ${s} s | $c | ${W[$c]} | ${P[$c]} | ${R[$c]} | $rf | $rk |"
    done
    unset W P R
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
