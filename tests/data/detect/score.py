#!/usr/bin/env python3
"""Score PII-detector predictions against the labelled corpus.

    python3 tests/data/detect/score.py PREDICTIONS.jsonl [--corpus PATH] [--json]
                                        [--errors N]

PREDICTIONS.jsonl has one hit per line, with UTF-8 *byte* offsets into the
corpus line's text (half-open [start, end)):

    {"line": 17, "start": 40, "end": 58, "label": "email"}

``line`` is the 0-based index of the corpus line (= its ``"id"`` field).
A file with no hits at all is fine (every label then has recall 0).

Matching rule (the same for every detector, ours or Presidio's):

* a predicted hit is *correct* if it overlaps (shares at least one byte
  with) a gold span of the same label on the same line;
* a gold span is *found* if at least one predicted hit of its label
  overlaps it;
* precision = correct hits / hits, recall = found gold spans / gold spans.

The table also shows ``exact`` (gold spans hit with exactly the same
boundaries) and, for false positives, what they landed on: one of the
corpus's planted decoys (``decoys`` in corpus.jsonl, e.g. ``date``,
``invalid_ssn``), a gold span of another label (``gold:<label>``), or plain
text (``elsewhere``).  Labels other than the seven are counted and ignored.

Only the standard library is used; ``benches/compare/presidio_scan.py``
imports this module so that both sides are scored by the same code.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "corpus.jsonl")
LABELS = ["email", "phone", "ssn", "credit_card", "iban", "ipv4", "ipv6"]


def load_corpus(path=DEFAULT_CORPUS):
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    for i, r in enumerate(records):
        if r.get("id", i) != i:
            raise ValueError(f"{path}: line {i} has id {r.get('id')}")
    return records


def load_predictions(path):
    preds = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                p = json.loads(line)
                preds.append({"line": int(p["line"]), "start": int(p["start"]),
                              "end": int(p["end"]), "label": str(p["label"])})
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{path}:{n}: bad prediction {line.strip()!r}: {e}")
    return preds


def _overlaps(a_start, a_end, b_start, b_end):
    return a_start < b_end and b_start < a_end


def score(corpus, preds):
    """Return a dict with per-label and overall counts/metrics.

    ``preds``: iterable of dicts {line, start, end, label} with byte offsets.
    """
    by_line = {}
    unknown = {}
    bad = []
    for p in preds:
        if not 0 <= p["line"] < len(corpus):
            bad.append(dict(p, why="line out of range"))
            continue
        nbytes = len(corpus[p["line"]]["text"].encode("utf-8"))
        if not 0 <= p["start"] < p["end"] <= nbytes:
            bad.append(dict(p, why=f"span outside 0..{nbytes} or empty"))
            continue
        if p["label"] not in LABELS:
            unknown[p["label"]] = unknown.get(p["label"], 0) + 1
            continue
        by_line.setdefault(p["line"], []).append(p)

    stats = {l: {"gold": 0, "found": 0, "exact": 0, "hits": 0, "correct": 0,
                 "fp_on": {}} for l in LABELS}
    missed = []
    false_pos = []
    for i, rec in enumerate(corpus):
        gold = rec["byte_spans"]
        hits = by_line.get(i, [])
        for g in gold:
            st = stats[g["label"]]
            st["gold"] += 1
            same = [h for h in hits if h["label"] == g["label"]
                    and _overlaps(h["start"], h["end"], g["start"], g["end"])]
            if same:
                st["found"] += 1
                if any(h["start"] == g["start"] and h["end"] == g["end"] for h in same):
                    st["exact"] += 1
            else:
                missed.append((i, g))
        for h in hits:
            st = stats[h["label"]]
            st["hits"] += 1
            if any(g["label"] == h["label"] and _overlaps(h["start"], h["end"], g["start"], g["end"])
                   for g in gold):
                st["correct"] += 1
                continue
            on = "elsewhere"
            for d in rec.get("decoys", []):
                if _overlaps(h["start"], h["end"], d["byte_start"], d["byte_end"]):
                    on = d["kind"]
                    break
            else:
                for g in gold:
                    if _overlaps(h["start"], h["end"], g["start"], g["end"]):
                        on = "gold:" + g["label"]
                        break
            st["fp_on"][on] = st["fp_on"].get(on, 0) + 1
            false_pos.append((i, h, on))

    # Look-alikes flagged: a decoy overlapped by any hit of any label.
    lookalikes = {"total": 0, "flagged": 0, "by_kind": {}}
    flagged_examples = []
    # Recall per spelling of a label (`form`, where the corpus gives one).
    forms = {}
    for i, rec in enumerate(corpus):
        hits = by_line.get(i, [])
        for d in rec.get("decoys", []):
            k = lookalikes["by_kind"].setdefault(d["kind"], {"total": 0, "flagged": 0})
            k["total"] += 1
            lookalikes["total"] += 1
            hit = next((h for h in hits if _overlaps(h["start"], h["end"], d["byte_start"], d["byte_end"])), None)
            if hit is not None:
                k["flagged"] += 1
                lookalikes["flagged"] += 1
                flagged_examples.append((i, d, hit))
        for g in rec["byte_spans"]:
            if "form" not in g:
                continue
            f = forms.setdefault(g["form"], {"label": g["label"], "gold": 0, "found": 0})
            f["gold"] += 1
            if any(h["label"] == g["label"] and _overlaps(h["start"], h["end"], g["start"], g["end"])
                   for h in hits):
                f["found"] += 1
    lookalikes["rate"] = (lookalikes["flagged"] / lookalikes["total"]) if lookalikes["total"] else None

    def metrics(st):
        p = st["correct"] / st["hits"] if st["hits"] else None
        r = st["found"] / st["gold"] if st["gold"] else None
        f = 2 * p * r / (p + r) if p is not None and r is not None and p + r > 0 else None
        return {"precision": p, "recall": r, "f1": f}

    per_label = {}
    total = {"gold": 0, "found": 0, "exact": 0, "hits": 0, "correct": 0}
    for l in LABELS:
        st = stats[l]
        per_label[l] = dict(st, **metrics(st))
        for k in total:
            total[k] += st[k]
    total.update(metrics(total))
    return {
        "labels": per_label,
        "micro": total,
        "lookalikes": lookalikes,
        "forms": forms,
        "ignored_labels": unknown,
        "invalid_predictions": bad,
        "_missed": missed,
        "_false_positives": false_pos,
        "_flagged_lookalikes": flagged_examples,
    }


def _fmt(x):
    return "   -  " if x is None else f"{x:6.3f}"


def render_table(result, title=None):
    out = []
    if title:
        out.append(title)
    hdr = f"{'label':<12} {'gold':>5} {'found':>5} {'exact':>5} {'hits':>5} {'FP':>4}  {'prec':>6} {'recall':>6} {'F1':>6}  FP landed on"
    out.append(hdr)
    out.append("-" * len(hdr))
    rows = list(result["labels"].items()) + [("micro", result["micro"])]
    for name, st in rows:
        fp = st["hits"] - st["correct"]
        fp_on = ", ".join(f"{k}={v}" for k, v in sorted(st.get("fp_on", {}).items(),
                                                          key=lambda kv: (-kv[1], kv[0])))
        if name == "micro":
            out.append("-" * len(hdr))
        out.append(f"{name:<12} {st['gold']:>5} {st['found']:>5} {st['exact']:>5} {st['hits']:>5} {fp:>4}  "
                   f"{_fmt(st['precision'])} {_fmt(st['recall'])} {_fmt(st['f1'])}  {fp_on}")
    la = result.get("lookalikes")
    if la and la["total"]:
        kinds = ", ".join(f"{k}={v['flagged']}/{v['total']}" for k, v in sorted(la["by_kind"].items())
                          if v["flagged"])
        out.append(f"look-alikes flagged: {la['flagged']} of {la['total']} ({100 * la['rate']:.2f}%)"
                   + (f": {kinds}" if kinds else ""))
    weak = [(k, v) for k, v in sorted(result.get("forms", {}).items()) if v["found"] < v["gold"]]
    if weak:
        out.append("forms below recall 1: " + ", ".join(
            f"{k} {v['found']}/{v['gold']}" for k, v in weak))
    if result["ignored_labels"]:
        out.append("ignored labels: " + ", ".join(f"{k}={v}" for k, v in sorted(result["ignored_labels"].items())))
    if result["invalid_predictions"]:
        out.append(f"invalid predictions: {len(result['invalid_predictions'])} "
                   f"(first: {result['invalid_predictions'][0]})")
    return "\n".join(out)


def render_errors(result, corpus, n):
    out = []
    def snippet(i, s, e):
        raw = corpus[i]["text"].encode("utf-8")
        return raw[s:e].decode("utf-8", "replace")
    out.append(f"missed gold spans ({len(result['_missed'])}), first {n}:")
    for i, g in result["_missed"][:n]:
        out.append(f"  line {i} {g['label']}: {snippet(i, g['start'], g['end'])!r}")
    out.append(f"false positives ({len(result['_false_positives'])}), first {n}:")
    for i, h, on in result["_false_positives"][:n]:
        out.append(f"  line {i} {h['label']} on {on}: {snippet(i, h['start'], h['end'])!r}")
    flagged = result.get("_flagged_lookalikes", [])
    out.append(f"look-alikes flagged ({len(flagged)}), first {n}:")
    for i, d, h in flagged[:n]:
        out.append(f"  line {i} {d['kind']} {snippet(i, d['byte_start'], d['byte_end'])!r} "
                   f"as {h['label']} {snippet(i, h['start'], h['end'])!r}")
    return "\n".join(out)


def public(result):
    """The result without the private example lists (for JSON output)."""
    return {k: v for k, v in result.items() if not k.startswith("_")}


def main():
    ap = argparse.ArgumentParser(description="Precision/recall per label of PII predictions "
                                             "(byte offsets) against corpus.jsonl.")
    ap.add_argument("predictions", help="JSONL of {line, start, end, label} (byte offsets)")
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--errors", type=int, default=0, metavar="N",
                    help="also list the first N misses and false positives")
    args = ap.parse_args()

    corpus = load_corpus(args.corpus)
    preds = load_predictions(args.predictions)
    result = score(corpus, preds)
    if args.json:
        json.dump(public(result), sys.stdout, indent=2)
        print()
    else:
        print(render_table(result, title=f"{args.predictions} vs {args.corpus} "
                                          f"({len(corpus)} lines, {len(preds)} hits)"))
        if args.errors:
            print(render_errors(result, corpus, args.errors))


if __name__ == "__main__":
    main()
