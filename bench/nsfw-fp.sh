#!/bin/sh
# bench/nsfw-fp.sh — the nsfw classifier's false-positive rate on ordinary
# photographs: every picture of Debian's opencv-doc examples (none of them is
# nsfw) through `thumbgen embed`; prints each flagged one and the rate at the
# flag line (0.5) and at 0.8. Usage: bench/nsfw-fp.sh [BIN] [--cnn MODEL]
set -eu
BIN=${1:-build/thumbgen}
shift 2>/dev/null || true
DATA=/usr/share/doc/opencv-doc/examples/data
n=0 f5=0 f8=0
for p in "$DATA"/*.jpg "$DATA"/*.png; do
	line=$("$BIN" embed "$p" "$@" 2>/dev/null) || continue # too small or unreadable
	s=$(printf '%s' "$line" | sed 's/.*"nsfw":\([0-9.e-]*\).*/\1/')
	n=$((n + 1))
	if awk "BEGIN{exit !($s >= 0.5)}"; then
		f5=$((f5 + 1))
		printf '  flagged %-28s nsfw %.3f\n' "$(basename "$p")" "$s"
	fi
	awk "BEGIN{exit !($s >= 0.8)}" && f8=$((f8 + 1))
done
awk -v n=$n -v a=$f5 -v b=$f8 'BEGIN{printf "%d photographs: %d flagged at nsfw >= 0.5 (%.1f %%), %d at >= 0.8 (%.1f %%)\n", n, a, 100*a/n, b, 100*b/n}'
