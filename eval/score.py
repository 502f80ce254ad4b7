#!/usr/bin/env python3
"""eval/score.py — score thumbgen plans against hand labels (standard library only).

usage: eval/score.py [--labels DIR] [--markdown] [--details] MANIFEST
       eval/score.py [--labels DIR] [--markdown] [--details] --plan PLAN.json --video NAME [--args "..."]

MANIFEST is a tab-separated file written by eval/run, one line per plan:
    video-file-name <TAB> run-name <TAB> plan.json <TAB> thumbgen arguments
The arguments say what was asked (--clips, --clip-len, --keyframes; thumbgen's defaults
otherwise). The labels are eval/labels/<video name without extension>.json. The metrics
are defined in eval/README.md; in short, per plan:

  clips     delivered/asked; 'room' when the clean footage holds the asked clips
  short     clips shorter than asked (a failure only when there was room)
  defect    clips overlapping a bad interval (any kind but closed_eyes) or spanning a cut
  blink     clips overlapping a closed_eyes interval (reported, not a defect)
  cover     clean seconds of the scenes shown by clips+keyframes / those of the k biggest
            scenes (main scenes first; k = min(coverable scenes, max(clips, keyframes)))
  main      share of clips whose midpoint lies in a main scene
  kf        keyframes delivered/asked
  badkf     keyframes at a bad time (any kind, closed_eyes included)
  poster    1 when the poster is at a bad time
  kfrep     keyframes repeating a scene while a coverable scene has none
  cliprep   clips repeating a scene while a coverable scene has none
"""
import argparse
import hashlib
import json
import os
import shlex
import sys

DEFAULTS = {"clips": 3, "clip_len": 1.2, "keyframes": 6}
TOL = 0.05  # label tolerance, seconds: overlaps and cuts closer than this to an edge do not count
MIN_SCENE_CLEAN = 0.3  # a scene with less clean footage than this cannot be shown


def asked(args):
    """What a thumbgen argument list asks for (clips, clip length, keyframes)."""
    a = dict(DEFAULTS)
    toks = shlex.split(args)
    for i, t in enumerate(toks):
        key, val = (t.split("=", 1) + [None])[:2] if t.startswith("--") and "=" in t else (t, None)
        if val is None and i + 1 < len(toks):
            val = toks[i + 1]
        if key == "--clips":
            a["clips"] = int(val)
        elif key == "--clip-len":
            a["clip_len"] = float(val)
        elif key == "--keyframes":
            a["keyframes"] = int(val)
    return a


def subtract(span, holes):
    """span (a, b) minus the intervals in holes: list of disjoint (a, b)."""
    out = [span]
    for h0, h1 in holes:
        nxt = []
        for a, b in out:
            if h1 <= a or h0 >= b:
                nxt.append((a, b))
                continue
            if h0 > a:
                nxt.append((a, h0))
            if h1 < b:
                nxt.append((h1, b))
        out = nxt
    return out


def clean_stretches(lab, span=None, eyes=False):
    """Stretches free of bad intervals (closed_eyes only when eyes) and of cuts."""
    bad = [(b["start"], b["end"]) for b in lab["bad"] if eyes or b["kind"] != "closed_eyes"]
    parts = subtract(span or (0.0, lab["duration"]), bad)
    out = []
    for a, b in parts:
        cuts = sorted(c for c in lab["cuts"] if a < c < b)
        edges = [a] + cuts + [b]
        out += [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
    return out


def scene_at(lab, t):
    for s in lab["scenes"]:
        if s["start"] <= t < s["end"]:
            return s
    last = lab["scenes"][-1] if lab["scenes"] else None
    if last and abs(t - last["end"]) < 1e-6:
        return last
    return None


def bad_at(lab, t):
    return [b for b in lab["bad"] if b["start"] <= t <= b["end"]]


def score(lab, plan, args):
    a = asked(args)
    segs = plan.get("segments", [])
    kfs = plan.get("keyframes", [])
    poster = plan.get("poster")
    r = {"asked": a, "fail": []}

    # clips delivered, room, shortened
    stretches = clean_stretches(lab)
    cap = sum(int((b - a_ + 1e-6) // a["clip_len"]) for a_, b in stretches)
    r["room"] = cap >= a["clips"]
    r["got"] = len(segs)
    r["kf"] = len(kfs)
    r["short"] = sum(1 for s in segs if s["end"] - s["start"] < a["clip_len"] - TOL)
    if r["room"] and r["got"] < a["clips"]:
        r["fail"].append("%d of %d clips delivered though there was room" % (r["got"], a["clips"]))
    if r["room"] and r["short"]:
        r["fail"].append("%d clips shortened (asked %.2f s) though there was room" % (r["short"], a["clip_len"]))

    # defective clips, blinks inside clips
    r["defect"] = 0
    r["blink"] = 0
    for s in segs:
        why = []
        for b in lab["bad"]:
            if s["start"] < b["end"] - TOL and s["end"] > b["start"] + TOL:
                if b["kind"] == "closed_eyes":
                    continue
                why.append("%s %.2f-%.2f" % (b["kind"], b["start"], b["end"]))
        for c in lab["cuts"]:
            if s["start"] + TOL < c < s["end"] - TOL:
                why.append("cut %.3f" % c)
        if why:
            r["defect"] += 1
            r["fail"].append("clip %.2f-%.2f: %s" % (s["start"], s["end"], ", ".join(why)))
        if any(s["start"] < b["end"] and s["end"] > b["start"]
               for b in lab["bad"] if b["kind"] == "closed_eyes"):
            r["blink"] += 1

    # scenes: which ones each pick shows (a clip by its midpoint)
    def name(sc):
        return sc["name"] if sc else None

    clip_sc = [name(scene_at(lab, (s["start"] + s["end"]) / 2)) for s in segs]
    kf_sc = [name(scene_at(lab, k["t"])) for k in kfs]
    main = {s["name"] for s in lab["scenes"] if s["main"]}
    allsc = {s["name"] for s in lab["scenes"]}
    weight = {}  # clean seconds per scene (a scene may have several intervals with one name)
    for s in lab["scenes"]:
        weight[s["name"]] = weight.get(s["name"], 0.0) + sum(
            b - a_ for a_, b in clean_stretches(lab, (s["start"], s["end"])))
    coverable = {n for n, w in weight.items() if w >= MIN_SCENE_CLEAN}
    order = sorted(coverable, key=lambda n: (n not in main, -weight[n], n))
    k = min(len(order), max(a["clips"], a["keyframes"]))
    top = order[:k]
    k_main = sum(1 for n in top if n in main)
    shown = set(n for n in clip_sc + kf_sc if n)
    got_main = sorted((n for n in shown & coverable if n in main), key=lambda n: -weight[n])[:k_main]
    got_other = sorted((n for n in shown & coverable if n not in main), key=lambda n: -weight[n])[:k - k_main]
    best = sum(weight[n] for n in top)
    r["cover"] = sum(weight[n] for n in got_main + got_other) / best if best > 0 else 1.0
    r["k"] = k
    if r["cover"] < 0.95:
        unused = [n for n in top if n not in shown]
        r["fail"].append("scene coverage %.2f (k=%d); of the %d biggest%s scenes not shown: %s" % (
            r["cover"], k, k, " main" if k_main == k else "", "; ".join(unused[:6])))

    # share of clips on main content
    r["has_main"] = bool(main) and main != allsc
    on_main = sum(1 for n in clip_sc if n in main)
    r["main"] = on_main / len(segs) if segs else None
    if r["has_main"] and segs and r["main"] < 0.8:
        off = ["%.2f-%.2f (%s)" % (s["start"], s["end"], n) for s, n in zip(segs, clip_sc) if n not in main]
        r["fail"].append("clips off the main content: " + "; ".join(off))

    # bad keyframes and poster
    r["badkf"] = 0
    for i, k_ in enumerate(kfs):
        bb = bad_at(lab, k_["t"])
        if bb:
            r["badkf"] += 1
            r["fail"].append("keyframe #%d at %.2f: %s" % (i + 1, k_["t"], bb[0]["kind"]))
    r["poster"] = 0
    if poster is not None:
        bb = bad_at(lab, poster["t"])
        if bb:
            r["poster"] = 1
            r["fail"].append("poster at %.2f: %s" % (poster["t"], bb[0]["kind"]))

    # repeats while other scenes are unused
    def repeats(names, label):
        seen, rep = set(), 0
        for n in names:
            if n in seen:
                rep += 1
            seen.add(n)
        unused = coverable - seen
        n_ = min(rep, len(unused))
        if n_:
            r["fail"].append("%s: %d repeat(s) of a scene while %d coverable scene(s) unused" % (label, n_, len(unused)))
        return n_

    r["kfrep"] = repeats(kf_sc, "keyframes")
    r["cliprep"] = repeats(clip_sc, "clips")
    r["warnings"] = plan.get("warnings", [])
    return r


def fmt_rows(rows, markdown):
    head = ["video", "run", "clips", "room", "short", "defect", "blink", "cover", "main", "kf", "badkf", "poster",
            "kfrep", "cliprep"]
    lines = []
    table = [head]
    for video, run, r in rows:
        if r is None:
            table.append([video, run, "ERROR"] + [""] * (len(head) - 3))
            continue
        table.append([
            video, run, "%d/%d" % (r["got"], r["asked"]["clips"]), "yes" if r["room"] else "no",
            str(r["short"]), str(r["defect"]), str(r["blink"]), "%.2f" % r["cover"],
            ("%.2f" % r["main"] if r["main"] is not None else "-") + ("" if r["has_main"] else "*"),
            "%d/%d" % (r["kf"], r["asked"]["keyframes"]),
            "%d/%d" % (r["badkf"], r["kf"]), str(r["poster"]), str(r["kfrep"]), str(r["cliprep"])])
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        for row in table[1:]:
            lines.append("| " + " | ".join(row) + " |")
    else:
        w = [max(len(row[i]) for row in table) for i in range(len(head))]
        for row in table:
            lines.append("  ".join(c.ljust(w[i]) for i, c in enumerate(row)).rstrip())
    return lines


def totals(rows):
    ok = [r for _, _, r in rows if r is not None]
    t = {
        "plans": len(rows),
        "errors": sum(1 for _, _, r in rows if r is None),
        "clips missing with room": sum(max(0, r["asked"]["clips"] - r["got"]) for r in ok if r["room"]),
        "clips shortened with room": sum(r["short"] for r in ok if r["room"]),
        "defective clips": sum(r["defect"] for r in ok),
        "clips with a blink": sum(r["blink"] for r in ok),
        "mean scene coverage": sum(r["cover"] for r in ok) / len(ok) if ok else 0,
        "plans with coverage < 0.95": sum(1 for r in ok if r["cover"] < 0.95),
        "plans with main share < 0.8": sum(1 for r in ok if r["has_main"] and r["main"] is not None and r["main"] < 0.8),
        "bad keyframes": sum(r["badkf"] for r in ok),
        "keyframes delivered": sum(r["kf"] for r in ok),
        "keyframes asked": sum(r["asked"]["keyframes"] for r in ok),
        "bad posters": sum(r["poster"] for r in ok),
        "keyframe repeats": sum(r["kfrep"] for r in ok),
        "clip repeats": sum(r["cliprep"] for r in ok),
    }
    return t


def other_recording(lab, video):
    """A sentence when the labels were made on another recording of a video made here (the
    screencast: eval/fetch records it anew on each machine, and its timing drifts), else None."""
    want = lab.get("recording_sha256")
    if not want or not os.path.exists(video):
        return None
    h = hashlib.sha256()
    with open(video, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() == want:
        return None
    return ("%s is not the recording its labels were made on, so its times can be off by seconds "
            "and its scores mean little: re-label it (eval/README.md)" % os.path.basename(video))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("manifest", nargs="?")
    ap.add_argument("--labels", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "labels"))
    ap.add_argument("--media", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "media"),
                    help="where the videos are (to check a recording against its labels)")
    ap.add_argument("--plan")
    ap.add_argument("--video")
    ap.add_argument("--args", default="")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--details", action="store_true", help="list every failure with its times")
    ap.add_argument("--json", help="also write the per-plan scores to this file")
    o = ap.parse_args()
    runs = []
    if o.plan:
        runs.append((o.video or os.path.basename(o.plan), "plan", o.plan, o.args))
    elif o.manifest:
        with open(o.manifest) as f:
            for line in f:
                line = line.rstrip("\n")
                if line and not line.startswith("#"):
                    p = line.split("\t")
                    runs.append((p[0], p[1], p[2], p[3] if len(p) > 3 else ""))
    else:
        ap.error("a MANIFEST or --plan is needed")
    rows, errors, notes = [], [], []
    for video, run, path, args in runs:
        base = os.path.splitext(os.path.basename(video))[0]
        with open(os.path.join(o.labels, base + ".json")) as f:
            lab = json.load(f)
        other = other_recording(lab, os.path.join(o.media, os.path.basename(video)))
        if other and other not in notes:
            notes.append(other)
        try:
            with open(path) as f:
                plan = json.load(f)
        except (OSError, ValueError) as e:
            rows.append((base, run, None))
            errors.append("%s %s: no plan (%s)" % (base, run, e))
            continue
        rows.append((base, run, score(lab, plan, args)))
    out = ["warning: " + n for n in notes] + ([""] if notes else []) + fmt_rows(rows, o.markdown)
    t = totals(rows)
    out.append("")
    if o.markdown:
        out.append("Totals over %d plans: " % t["plans"] + "; ".join(
            "%s %s" % (k, ("%.3f" % v) if isinstance(v, float) else v) for k, v in t.items() if k != "plans") + ".")
    else:
        out.append("totals (%d plans):" % t["plans"])
        for k, v in t.items():
            if k != "plans":
                out.append("  %-28s %s" % (k, ("%.3f" % v) if isinstance(v, float) else v))
    if o.details:
        out.append("")
        out.append("Failures:" if not o.markdown else "Failures, per plan:")
        out.append("")
        for video, run, r in rows:
            if r is None:
                continue
            items = r["fail"] + ["warning: " + w for w in r["warnings"]]
            if items:
                out.append(("* **%s %s**: " if o.markdown else "%s %s: ") % (video, run) + "; ".join(items))
        for e in errors:
            out.append(("* " if o.markdown else "") + e)
    print("\n".join(out))
    if o.json:
        with open(o.json, "w") as f:
            json.dump([{"video": v, "run": n, "score": r} for v, n, r in rows], f, indent=1)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
