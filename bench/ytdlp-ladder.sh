#!/bin/sh
# bench/ytdlp-ladder.sh — what the rendition choice saves (issue 11): bytes and wall time
# of yt-dlp fetching an HLS ladder from loopback with the old format choice (best up
# to 1080p) and the new one (-S "+res:N": the smallest rendition that covers the
# outputs), then the wall time of `thumbgen make` (default options) on each download.
#
#   bench/ytdlp-ladder.sh [SECONDS]          (default 30; results on stdout)
#
# The ladder: testsrc2 with temporal noise (so the encoder spends its bitrate, as a real
# video does), 1080p/720p/360p/240p at YouTube-like bitrates (4.5M/2.5M/0.7M/0.4M),
# H.264, 2-s HLS segments, served by python3's http.server on 127.0.0.1 only. Each
# fetch runs BENCH_RUNS times (default 3); the minimum wall time is shown. Loopback has
# no bandwidth limit, so the time is yt-dlp's own work plus local I/O; the bytes decide
# the time on a real link (the table also shows it at 20 Mbit/s).
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-30}
RUNS=${BENCH_RUNS:-3}
TG=${BENCH_THUMBGEN:-build/thumbgen}
YTDLP=${BENCH_YTDLP:-yt-dlp}
W=$(mktemp -d)
trap 'kill $srv 2>/dev/null; rm -rf "$W"' EXIT
mkdir "$W/hls"
t0=$(date +%s.%N)
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=$SECS,noise=alls=12:allf=t" \
    -filter_complex "[0:v]split=4[a][b][c][d];[a]null[v0];[b]scale=1280:720[v1];[c]scale=640:360[v2];[d]scale=426:240[v3]" \
    -map "[v0]" -map "[v1]" -map "[v2]" -map "[v3]" -c:v libx264 -preset veryfast -g 60 \
    -b:v:0 4500k -maxrate:v:0 4500k -b:v:1 2500k -maxrate:v:1 2500k -b:v:2 700k -maxrate:v:2 700k \
    -b:v:3 400k -maxrate:v:3 400k -bufsize 4000k \
    -f hls -hls_time 2 -hls_playlist_type vod -hls_segment_filename "$W/hls/v%v_%03d.ts" \
    -master_pl_name master.m3u8 -var_stream_map "v:0 v:1 v:2 v:3" "$W/hls/v%v.m3u8"
t1=$(date +%s.%N)
echo "ladder: ${SECS} s, made in $(echo "$t1 - $t0" | bc) s; rungs (bytes):"
for v in 0 1 2 3; do
    echo "  v$v $(grep -h RESOLUTION "$W/hls/master.m3u8" | sed -n "$((v + 1))p" | sed 's/.*RESOLUTION=\([0-9x]*\).*/\1/') $(cat "$W"/hls/v${v}_*.ts | wc -c)"
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$W/hls" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
srv=$!
sleep 1
URL="http://127.0.0.1:$port/master.m3u8"

fetch() { # name, then yt-dlp format arguments
    name=$1
    shift
    best=""
    for r in $(seq "$RUNS"); do
        rm -f "$W/$name".*
        s=$(date +%s.%N)
        "$YTDLP" --ignore-config -q --no-part "$@" -o "$W/$name.%(ext)s" "$URL"
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    done
    f=$(ls "$W/$name".*)
    bytes=$(wc -c <"$f")
    size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$f")
    mt=""
    for r in $(seq "$RUNS"); do
        s=$(date +%s.%N)
        "$TG" make "$f" -o "$W/$name.gif" --poster "$W/$name.jpg" >/dev/null 2>&1
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc)
        if [ -z "$mt" ] || [ "$(echo "$t < $mt" | bc)" = 1 ]; then mt=$t; fi
    done
    printf '| %-34s | %-9s | %10s | %6.2f s | %6.1f s | %6.2f s |\n' "$name" "$size" "$bytes" "$best" \
        "$(echo "$bytes * 8 / 20000000" | bc -l)" "$mt"
}
echo
echo "| choice (yt-dlp arguments)          | rendition | bytes      | fetch    | at 20 Mb/s | make    |"
echo "|---|---|---:|---:|---:|---:|"
fetch "old: bv*[height<=?1080]" -f "bv*[height<=?1080]/b[height<=?1080]/b"
fetch "new default: -S +res:720" -f "bv[height<=?1080]/bv*[height<=?1080]/b[height<=?1080]/b" -S "+res:720"
fetch "new off+480: -S +res:270" -f "bv[height<=?1080]/bv*[height<=?1080]/b[height<=?1080]/b" -S "+res:270"
