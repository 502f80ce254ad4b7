#!/usr/bin/env python3
"""bench/encoders-report.py CACHE_DIR  (called by bench/encoders.sh)

Reads CACHE_DIR/results.tsv and run.txt and prints the Markdown report: the tables, the
issue's targets with numbers, and a frame-by-frame look at where the GIF bytes go. It also
writes CACHE_DIR/plot-CLIP-ENCODER-FORMAT.dat for bench/encoders-plot.gp.
Curves are interpolated linearly in (log bytes, SSIM)."""
import math
import os
import sys

C = sys.argv[1]
rows = []
with open(os.path.join(C, "results.tsv")) as f:
    head = f.readline().rstrip("\n").split("\t")
    for line in f:
        r = dict(zip(head, line.rstrip("\n").split("\t")))
        for k in ("q", "bytes", "frames"):
            r[k] = int(r[k])
        for k in ("wall_min", "ssim", "ssim_y", "psnr", "duration"):
            r[k] = float(r[k])
        rows.append(r)
clips = []
for r in rows:
    if r["clip"] not in clips:
        clips.append(r["clip"])


def curve(clip, enc, fmt):
    pts = [r for r in rows if r["clip"] == clip and r["encoder"] == enc and r["format"] == fmt]
    return sorted(pts, key=lambda r: r["bytes"])


def interp(pts, xkey, ykey, x, logx=False):
    """y at x on the piecewise-linear curve through pts (sorted by xkey); None outside."""
    f = (lambda v: math.log(v)) if logx else (lambda v: v)
    for a, b in zip(pts, pts[1:]):
        lo, hi = (a, b) if a[xkey] <= b[xkey] else (b, a)
        if lo[xkey] <= x <= hi[xkey]:
            if hi[xkey] == lo[xkey]:
                return lo[ykey]
            t = (f(x) - f(lo[xkey])) / (f(hi[xkey]) - f(lo[xkey]))
            return lo[ykey] + t * (hi[ykey] - lo[ykey])
    if len(pts) == 1 and pts[0][xkey] == x:
        return pts[0][ykey]
    return None


def bytes_at_ssim(pts, s):
    """bytes needed for SSIM s on a curve (interpolated in log bytes); None outside."""
    by_s = sorted(pts, key=lambda r: r["ssim"])
    for a, b in zip(by_s, by_s[1:]):
        if a["ssim"] <= s <= b["ssim"] and b["ssim"] > a["ssim"]:
            t = (s - a["ssim"]) / (b["ssim"] - a["ssim"])
            return math.exp(math.log(a["bytes"]) + t * (math.log(b["bytes"]) - math.log(a["bytes"])))
    return None


def kb(b):
    return f"{b / 1000:,.0f}"


out = []
say = out.append
with open(os.path.join(C, "run.txt")) as f:
    say("```")
    say(f.read().rstrip())
    say("```")
    say("")

# ---- tables
for clip in clips:
    tg = curve(clip, "thumbgen", "gif")
    say(f"### Clip `{clip}` (48 frames, 480x270, 12 fps, 4 s)")
    say("")
    say("| encoder | Q | bytes (KB) | encode wall s (best) | SSIM | SSIM Y | PSNR dB | frames / duration s |")
    say("|---|---:|---:|---:|---:|---:|---:|---:|")
    order = [("thumbgen", "gif"), ("gifski", "gif"), ("ffmpeg", "gif"), ("thumbgen", "webp"), ("thumbgen", "mp4")]
    for enc, fmt in order:
        for r in sorted(curve(clip, enc, fmt), key=lambda r: r["q"]):
            name = f"{enc} {fmt.upper()}" if enc != "ffmpeg" else "ffmpeg palettegen+paletteuse GIF"
            q = r["q"] if enc != "ffmpeg" else "–"
            say(f"| {name} | {q} | {kb(r['bytes'])} | {r['wall_min']:.2f} | {r['ssim']:.4f} | {r['ssim_y']:.4f} | "
                f"{r['psnr']:.2f} | {r['frames']} / {r['duration']:.2f} |")
    say("")
    say("All wall times (s), per run: " + "; ".join(
        f"{r['encoder']} {r['format']} {r['q'] or ''}".strip() + f" {r['walls']}" for r in rows if r["clip"] == clip))
    say("")

# ---- targets
say("### Targets")
say("")
verdict = {"ssim": [], "speed": [], "ffmpeg": []}
for clip in clips:
    tg, gs, ff = curve(clip, "thumbgen", "gif"), curve(clip, "gifski", "gif"), curve(clip, "ffmpeg", "gif")
    say(f"**{clip}**")
    say("")
    # 1. SSIM at matched sizes
    say("| size (KB) | point | thumbgen SSIM | gifski SSIM | thumbgen − gifski | thumbgen bytes for gifski's SSIM |")
    say("|---:|---|---:|---:|---:|---:|")
    worst = None
    checked = 0
    for r in sorted(tg + gs, key=lambda r: r["bytes"]):
        s_tg = interp(tg, "bytes", "ssim", r["bytes"], logx=True)
        s_gs = interp(gs, "bytes", "ssim", r["bytes"], logx=True)
        need = ""
        if r["encoder"] == "gifski":
            b = bytes_at_ssim(tg, r["ssim"])
            need = f"{kb(b)} KB ({b / r['bytes']:.2f}×)" if b else "out of range"
        if s_tg is None or s_gs is None:
            say(f"| {kb(r['bytes'])} | {r['encoder']} Q{r['q']} | {'–' if s_tg is None else f'{s_tg:.4f}'} | "
                f"{'–' if s_gs is None else f'{s_gs:.4f}'} | outside the other curve | {need} |")
            continue
        d = s_tg - s_gs
        checked += 1
        worst = d if worst is None else min(worst, d)
        say(f"| {kb(r['bytes'])} | {r['encoder']} Q{r['q']} | {s_tg:.4f} | {s_gs:.4f} | {d:+.4f} | {need} |")
    say("")
    if worst is None:
        say("- SSIM ≥ gifski at every size: the curves do not overlap in size, **not measurable**.")
        verdict["ssim"].append(None)
    else:
        ok = worst >= 0
        verdict["ssim"].append(ok)
        say(f"- SSIM ≥ gifski at every size (over the overlapping sizes, {checked} points): worst difference "
            f"{worst:+.4f}: **{'met' if ok else 'missed'}**.")
    lo_tg, lo_gs = min(r["bytes"] for r in tg), min(r["bytes"] for r in gs)
    if lo_gs < lo_tg:
        say(f"- Below {kb(lo_tg)} KB (thumbgen's smallest output, Q{min(tg, key=lambda r: r['bytes'])['q']}) thumbgen "
            f"has no point at all, while gifski reaches down to {kb(lo_gs)} KB (Q{min(gs, key=lambda r: r['bytes'])['q']}): "
            f"at those sizes the target is missed by construction.")
    byq = sorted(tg, key=lambda r: r["q"])
    nonmono = [(a["q"], b["q"]) for a, b in zip(byq, byq[1:]) if b["bytes"] > a["bytes"] and b["ssim"] < a["ssim"]]
    if nonmono:
        say("- thumbgen's curve is not monotonic: " + ", ".join(f"Q{b} is larger *and* worse than Q{a}" for a, b in nonmono) + ".")
    down = [f"Q{a['q']}→Q{b['q']}: " + " and ".join(
                ([f"bytes {kb(a['bytes'])}→{kb(b['bytes'])} KB"] if b["bytes"] < a["bytes"] else []) +
                ([f"SSIM {a['ssim']:.4f}→{b['ssim']:.4f}"] if b["ssim"] < a["ssim"] else []))
            for a, b in zip(byq, byq[1:]) if b["bytes"] < a["bytes"] or b["ssim"] < a["ssim"]]
    verdict.setdefault("mono", []).append(not down)
    say(f"- Size and SSIM monotone in --quality (Q{byq[0]['q']}–Q{byq[-1]['q']}, {len(byq)} points): "
        + ("**met**." if not down else "**missed**: " + "; ".join(down) + "."))
    # 2. speed at gifski Q90's size
    g90 = [r for r in gs if r["q"] == 90]
    if g90:
        g90 = g90[0]
        t_tg = interp(tg, "bytes", "wall_min", g90["bytes"])
        note = ""
        if t_tg is None:
            near = min(tg, key=lambda r: abs(math.log(r["bytes"] / g90["bytes"])))
            t_tg = near["wall_min"]
            note = (f" (gifski Q90's {kb(g90['bytes'])} KB is outside thumbgen's sizes "
                    f"{kb(tg[0]['bytes'])}–{kb(tg[-1]['bytes'])} KB; nearest point thumbgen Q{near['q']} "
                    f"at {kb(near['bytes'])} KB)")
        sp = g90["wall_min"] / t_tg
        b_eq = bytes_at_ssim(tg, g90["ssim"])
        t_eq = interp(tg, "bytes", "wall_min", b_eq) if b_eq else None
        ok = sp >= 2
        verdict["speed"].append(ok)
        say(f"- ≥ 2× faster than gifski at gifski Q90's size ({kb(g90['bytes'])} KB): gifski "
            f"{g90['wall_min']:.2f} s, thumbgen {t_tg:.2f} s{note}, speed-up {sp:.2f}×: "
            f"**{'met' if ok else 'missed'}**."
            + (f" At gifski Q90's SSIM ({g90['ssim']:.4f}) thumbgen needs {kb(b_eq)} KB and {t_eq:.2f} s "
               f"({g90['wall_min'] / t_eq:.2f}×)." if t_eq else ""))
    # 3. ffmpeg
    if ff:
        f0 = ff[0]
        better = [r for r in tg if r["bytes"] < f0["bytes"] and r["ssim"] > f0["ssim"]]
        s_at = interp(tg, "bytes", "ssim", f0["bytes"], logx=True)
        b_at = bytes_at_ssim(tg, f0["ssim"])
        ok = bool(better)
        verdict["ffmpeg"].append(ok)
        say(f"- Strictly better than the ffmpeg recipe ({kb(f0['bytes'])} KB, SSIM {f0['ssim']:.4f}, "
            f"{f0['wall_min']:.2f} s): thumbgen settings smaller *and* better: "
            f"{', '.join('Q%d (%s KB, %.4f)' % (r['q'], kb(r['bytes']), r['ssim']) for r in better) or 'none'}; "
            f"at ffmpeg's size thumbgen's SSIM is {'–' if s_at is None else f'{s_at:.4f}'}, at ffmpeg's SSIM "
            f"thumbgen needs {'(out of range)' if b_at is None else kb(b_at) + ' KB'}: **{'met' if ok else 'missed'}**.")
    say("")

# ---- WebP and MP4 at the same SSIM
say("### WebP and MP4 at the same SSIM as the GIFs")
say("")
say("| clip | reference GIF | its KB / SSIM | thumbgen WebP KB at that SSIM | thumbgen MP4 KB at that SSIM |")
say("|---|---|---:|---:|---:|")
for clip in clips:
    wp, mp = curve(clip, "thumbgen", "webp"), curve(clip, "thumbgen", "mp4")
    refs = [r for r in curve(clip, "thumbgen", "gif") if r["q"] == 90] + \
           [r for r in curve(clip, "gifski", "gif") if r["q"] == 90] + curve(clip, "ffmpeg", "gif")
    if not wp or not mp:
        continue
    for ref in refs:
        cells = []
        for c in (wp, mp):
            b = bytes_at_ssim(c, ref["ssim"])
            if b:
                cells.append(f"{kb(b)} ({ref['bytes'] / b:.0f}× smaller)")
            else:
                hi = max(c, key=lambda r: r["ssim"])
                lo = min(c, key=lambda r: r["ssim"])
                if ref["ssim"] > hi["ssim"]:
                    cells.append(f"> Q{hi['q']}: its best is {hi['ssim']:.4f} at {kb(hi['bytes'])}")
                else:
                    cells.append(f"≤ {kb(lo['bytes'])} (Q{lo['q']} already {lo['ssim']:.4f}; {ref['bytes'] / lo['bytes']:.0f}× smaller)")
        name = f"{ref['encoder']} Q{ref['q']}" if ref["encoder"] != "ffmpeg" else "ffmpeg recipe"
        say(f"| {clip} | {name} | {kb(ref['bytes'])} / {ref['ssim']:.4f} | {cells[0]} | {cells[1]} |")
say("")


# ---- where the GIF bytes go
def gif_frames(path):
    """Per frame: bytes (GCE + descriptor + local palette + LZW data), rect, local palette
    entries, transparent index set, LZW min code size, and the fraction of transparent pixels."""
    d = open(path, "rb").read()
    p = 13
    if d[10] & 0x80:
        p += 3 * (2 << (d[10] & 7))
    frames, start, gce = [], None, None
    while p < len(d):
        b = d[p]
        if b == 0x21:
            if start is None:
                start = p
            label = d[p + 1]
            q = p + 2
            if label == 0xF9:
                gce = d[q + 1:q + 5]
            while d[q]:
                q += d[q] + 1
            p = q + 1
        elif b == 0x2C:
            if start is None:
                start = p
            x, y, w, h = (int.from_bytes(d[p + i:p + i + 2], "little") for i in (1, 3, 5, 7))
            flags = d[p + 9]
            q = p + 10
            lct = (2 << (flags & 7)) if flags & 0x80 else 0
            q += 3 * lct
            mcs = d[q]
            q += 1
            data = bytearray()
            while d[q]:
                data += d[q + 1:q + 1 + d[q]]
                q += d[q] + 1
            q += 1
            tidx = gce[3] if gce and gce[0] & 1 else None
            frames.append({"bytes": q - start, "w": w, "h": h, "lct": lct, "lzw": len(data),
                           "tidx": tidx, "mcs": mcs, "data": bytes(data)})
            start, gce, p = None, None, q
        elif b == 0x3B:
            break
        else:
            raise ValueError(f"{path}: bad block 0x{b:02x} at {p}")
    return frames


def transparent_fraction(fr):
    """LZW-decode the frame and count transparent-index pixels."""
    if fr["tidx"] is None:
        return 0.0
    mcs, data = fr["mcs"], fr["data"]
    clear, eoi = 1 << mcs, (1 << mcs) + 1
    size = mcs + 1
    table = [bytes([i]) for i in range(clear)] + [b"", b""]
    prev, bits, nbits, pos = None, 0, 0, 0
    count, total, t = 0, 0, fr["tidx"]
    for byte in data:
        bits |= byte << nbits
        nbits += 8
        while nbits >= size:
            code = bits & ((1 << size) - 1)
            bits >>= size
            nbits -= size
            if code == clear:
                size = mcs + 1
                del table[eoi + 1:]
                prev = None
                continue
            if code == eoi:
                return count / max(1, total)
            if prev is None:
                s = table[code]
            else:
                s = table[code] if code < len(table) else prev + prev[:1]
                if len(table) < 4096:
                    table.append(prev + s[:1])
                    if len(table) == (1 << size) and size < 12:
                        size += 1
            count += s.count(t)
            total += len(s)
            prev = s
    return count / max(1, total)


say("### Where the GIF bytes go")
say("")
say("Parsed from the GIF files: frame 1 alone, then the mean over frames 2–48 of the bytes per frame, "
    "the changed rectangle's share of the 480×270 canvas, the share of that rectangle left transparent "
    "(\"unchanged\"), local palette entries, and LZW bytes per opaque pixel.")
say("")
say("| clip | GIF | total KB | frame 1 KB | frames 2–48: mean KB | rect % | transparent % | palette | LZW bytes/opaque px |")
say("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for clip in clips:
    picks = [r for r in curve(clip, "thumbgen", "gif") if r["q"] in (50, 90)] + \
            [r for r in curve(clip, "gifski", "gif") if r["q"] in (50, 90)] + curve(clip, "ffmpeg", "gif")
    for r in picks:
        key = f"{clip}-{r['encoder']}-gif-{r['q']}"
        fr = gif_frames(os.path.join(C, "out", key + ".gif"))
        rest = fr[1:] or fr
        area = [f["w"] * f["h"] for f in rest]
        tf = [transparent_fraction(f) for f in rest]
        opaque = sum(a * (1 - t) for a, t in zip(area, tf))
        name = f"{r['encoder']} Q{r['q']}" if r["encoder"] != "ffmpeg" else "ffmpeg recipe"
        pal = sorted({f["lct"] for f in fr})
        say(f"| {clip} | {name} | {kb(r['bytes'])} | {fr[0]['bytes'] / 1000:.1f} | "
            f"{sum(f['bytes'] for f in rest) / len(rest) / 1000:.1f} | {100 * sum(area) / (len(rest) * 480 * 270):.0f} | "
            f"{100 * sum(a * t for a, t in zip(area, tf)) / max(1, sum(area)):.1f} | "
            f"{'/'.join(str(p) if p else 'global' for p in pal)} | "
            f"{sum(f['lzw'] for f in rest) / max(1, opaque):.3f} |")
say("")
print("\n".join(out))

# ---- data for the plot
for clip in clips:
    for enc, fmt in [("thumbgen", "gif"), ("gifski", "gif"), ("ffmpeg", "gif"), ("thumbgen", "webp"), ("thumbgen", "mp4")]:
        with open(os.path.join(C, f"plot-{clip}-{enc}-{fmt}.dat"), "w") as f:
            for r in sorted(curve(clip, enc, fmt), key=lambda r: r["q"]):   # in Q order
                f.write(f"{r['bytes'] / 1000:.1f} {r['ssim']:.5f} {'Q%d' % r['q'] if r['q'] else 'ffmpeg'}\n")
