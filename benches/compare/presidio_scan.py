#!/usr/bin/env python3
"""Presidio's pattern recognizers on the detector corpus: speed and accuracy.

The Python half of a side-by-side comparison with sqlveil's built-in
free-text detectors (email, phone, ssn, credit_card, iban, ipv4, ipv6).

What runs
---------
An ``AnalyzerEngine`` whose registry holds only Presidio's pattern / checksum
recognizers for our seven labels:

    EmailRecognizer       EMAIL_ADDRESS -> email
    PhoneRecognizer       PHONE_NUMBER  -> phone   (python-phonenumbers)
    UsSsnRecognizer       US_SSN        -> ssn
    CreditCardRecognizer  CREDIT_CARD   -> credit_card
    IbanRecognizer        IBAN_CODE     -> iban
    IpRecognizer          IP_ADDRESS    -> ipv4 / ipv6 (by what the text parses as)

No NER, no spaCy model.  Presidio's default engine wants ``en_core_web_lg``
(and would try to download it); instead this script passes an NLP engine
explicitly (``--nlp``):

* ``noop`` (default): ``presidio_analyzer.nlp_engine.NoOpNlpEngine``, shipped
  with presidio-analyzer 2.2.36x for registries whose recognizers need no NLP
  artifacts.  No tokenization at all, so the timing is the recognizers alone.
* ``blank``: ``SlimSpacyNlpEngine(models=[{"lang_code": "en",
  "model_name": "blank:en"}], auto_download=False)``: a blank spaCy English
  pipeline (tokenizer only, nothing to download), the cheapest set-up that
  still hands Presidio tokens.  Timing then includes spaCy tokenization,
  and also Presidio's context enhancer, which with tokens present walks the
  token list once per hit: quadratic in the text length, ~95 s for the 1 MB
  file with ``--unit whole`` (tokenizing it takes ~1 s).  Prefer
  ``--unit lines`` with ``blank``.

Either way the context-word enhancer has no lemmas to work with, so scores
are the recognizers' raw pattern scores.  Results are identical between the
two engines; only the speed differs.

One more network detail: EmailRecognizer validates the domain with
``tldextract``, whose default extractor fetches the Public Suffix List from
the internet on first use (and caches it under ~/.cache).  This script
replaces ``tldextract.extract`` with an extractor built with
``suffix_list_urls=()`` and ``cache_dir=None``, i.e. the suffix-list snapshot
bundled in the tldextract wheel: same answers, no network, no cache files.

What is measured
----------------
(a) Throughput: ``analyzer.analyze(text, language="en")`` on
    ``benches/data/prose.txt``: the corpus texts (tests/data/detect/
    corpus.jsonl), one per line, cycled in corpus order until the next line
    would take the file past 1,000,000 bytes.  The script (re)writes that
    file when it is missing or stale, so that the Rust bench reads exactly
    the same bytes.  ``--unit whole`` times one call on the whole file;
    ``--unit lines`` one call per line (the per-message cost, e.g. a user's
    question); default ``both``.  One warm-up call (Presidio loads
    phonenumbers metadata lazily), then ``--repeat`` timed runs (default 5)
    with the garbage collector off; MB/s = 10^6 bytes of UTF-8 per second,
    from the median run.  ``--breakdown`` also times each recognizer alone
    on the whole text.
(b) Accuracy: every corpus line analysed on its own; each hit's label
    mapped as above, its character offsets turned into UTF-8 byte offsets,
    and the hits scored by tests/data/detect/score.py (a hit is correct if it
    overlaps a gold span of the same label; a gold span is found if some hit
    of its label overlaps it).  Presidio's engine default is a score
    threshold of 0 (every hit counts); ``--min-scores`` (default "0,0.4")
    also reports the figures keeping only hits scoring at least each value.
    ``--dump-predictions PATH`` writes the hits (byte offsets, plus Presidio's
    entity and score) in score.py's input format.

Usage
-----
    python3 -m venv /tmp/pvenv
    /tmp/pvenv/bin/pip install -r benches/compare/requirements-presidio.txt
    /tmp/pvenv/bin/python benches/compare/presidio_scan.py            # table
    /tmp/pvenv/bin/python benches/compare/presidio_scan.py --json     # JSON
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.metadata
import importlib.util
import ipaddress
import json
import logging
import pathlib
import platform
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
CORPUS = ROOT / "tests" / "data" / "detect" / "corpus.jsonl"
SCORE_PY = ROOT / "tests" / "data" / "detect" / "score.py"
PROSE = ROOT / "benches" / "data" / "prose.txt"
PROSE_MAX_BYTES = 1_000_000

ENTITY_TO_LABEL = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "US_SSN": "ssn",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    # IP_ADDRESS: ipv4 or ipv6, see ip_label()
}


def load_score_module():
    spec = importlib.util.spec_from_file_location("detect_score", SCORE_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def offline_tldextract():
    """Make tldextract use its bundled suffix-list snapshot: no network."""
    import tldextract

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = extractor  # EmailRecognizer calls tldextract.extract(...)
    return extractor


def build_analyzer(nlp: str):
    offline_tldextract()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer import predefined_recognizers as pr

    wanted = ["EmailRecognizer", "PhoneRecognizer", "UsSsnRecognizer",
              "CreditCardRecognizer", "IbanRecognizer", "IpRecognizer"]
    recognizers = [getattr(pr, name)() for name in wanted if hasattr(pr, name)]
    missing = [name for name in wanted if not hasattr(pr, name)]

    if nlp == "noop":
        from presidio_analyzer.nlp_engine import NoOpNlpEngine

        engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    elif nlp == "blank":
        from presidio_analyzer.nlp_engine import SlimSpacyNlpEngine

        engine = SlimSpacyNlpEngine(
            models=[{"lang_code": "en", "model_name": "blank:en"}], auto_download=False)
        engine.load()
        engine.nlp["en"].max_length = 10 * PROSE_MAX_BYTES
    else:
        raise SystemExit(f"unknown --nlp {nlp!r}")

    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine,
                              supported_languages=["en"])
    return analyzer, recognizers, missing


def ip_label(text: str) -> str:
    try:
        return "ipv%d" % ipaddress.ip_interface(text).version
    except ValueError:
        return "ipv6" if ":" in text else "ipv4"


def to_label(entity: str, text: str) -> str | None:
    if entity == "IP_ADDRESS":
        return ip_label(text)
    return ENTITY_TO_LABEL.get(entity)


def byte_offsets(text: str):
    table = [0] * (len(text) + 1)
    b = 0
    for i, ch in enumerate(text):
        table[i] = b
        b += len(ch.encode("utf-8"))
    table[len(text)] = b
    return table


# ---------------------------------------------------------------------------
# prose.txt
# ---------------------------------------------------------------------------

def build_prose(corpus) -> bytes:
    texts = [r["text"].encode("utf-8") + b"\n" for r in corpus]
    out = bytearray()
    i = 0
    while len(out) + len(texts[i % len(texts)]) <= PROSE_MAX_BYTES:
        out += texts[i % len(texts)]
        i += 1
    return bytes(out)


def ensure_prose(corpus, path: pathlib.Path) -> tuple[bytes, str]:
    data = build_prose(corpus)
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = None
    if current == data:
        return data, "up to date"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data, "written" if current is None else "rewritten (was stale)"


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------

def time_runs(fn, repeat: int) -> list[float]:
    fn()  # warm-up (lazy loading of phonenumbers metadata etc.)
    times = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        if gc_was:
            gc.enable()
    return times


def throughput(analyzer, recognizers, prose: bytes, unit: str, repeat: int, breakdown: bool):
    text = prose.decode("utf-8")
    lines = text.splitlines()
    nbytes = len(prose)
    out = {}

    def summary(times, n_hits):
        med = statistics.median(times)
        return {"times_s": times, "median_s": med, "min_s": min(times),
                "mb_per_s": nbytes / med / 1e6, "hits": n_hits}

    if unit in ("whole", "both"):
        n = [0]

        def run_whole():
            n[0] = len(analyzer.analyze(text=text, language="en"))
        out["whole"] = summary(time_runs(run_whole, repeat), None)
        out["whole"]["hits"] = n[0]
    if unit in ("lines", "both"):
        n = [0]

        def run_lines():
            c = 0
            for line in lines:
                c += len(analyzer.analyze(text=line, language="en"))
            n[0] = c
        out["lines"] = summary(time_runs(run_lines, repeat), None)
        out["lines"]["hits"] = n[0]
        out["lines"]["calls_per_run"] = len(lines)
    if breakdown:
        arts = analyzer.nlp_engine.process_text(text, "en")
        per = {}
        for rec in recognizers:
            ents = rec.supported_entities

            def run_one(rec=rec, ents=ents):
                return rec.analyze(text=text, entities=ents, nlp_artifacts=arts)
            times = time_runs(run_one, repeat)
            med = statistics.median(times)
            per[type(rec).__name__] = {"median_s": med, "mb_per_s": nbytes / med / 1e6}
        out["breakdown"] = per
    return out


# ---------------------------------------------------------------------------
# accuracy
# ---------------------------------------------------------------------------

def predict_corpus(analyzer, corpus):
    preds = []
    for r in corpus:
        text = r["text"]
        bt = None
        for res in analyzer.analyze(text=text, language="en"):
            label = to_label(res.entity_type, text[res.start:res.end])
            if bt is None:
                bt = byte_offsets(text)
            preds.append({"line": r["id"], "start": bt[res.start], "end": bt[res.end],
                          "label": label or res.entity_type.lower(),
                          "entity": res.entity_type, "score": round(res.score, 4)})
    return preds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print JSON on stdout")
    ap.add_argument("--nlp", choices=["noop", "blank"], default="noop",
                    help="NLP engine: no-op (default) or blank spaCy 'en' tokenizer")
    ap.add_argument("--unit", choices=["whole", "lines", "both"], default="both",
                    help="throughput: one analyze() on the whole file, one per line, or both")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs (median reported)")
    ap.add_argument("--breakdown", action="store_true",
                    help="also time each recognizer alone on the whole text")
    ap.add_argument("--min-scores", default="0,0.4",
                    help="comma-separated score thresholds to report accuracy at")
    ap.add_argument("--no-throughput", action="store_true", help="accuracy only")
    ap.add_argument("--no-accuracy", action="store_true", help="throughput only")
    ap.add_argument("--dump-predictions", metavar="PATH",
                    help="write corpus hits as JSONL for tests/data/detect/score.py")
    ap.add_argument("--corpus", default=str(CORPUS))
    ap.add_argument("--prose", default=str(PROSE))
    args = ap.parse_args()

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    score_mod = load_score_module()
    corpus = score_mod.load_corpus(args.corpus)
    prose, prose_state = ensure_prose(corpus, pathlib.Path(args.prose))

    analyzer, recognizers, missing = build_analyzer(args.nlp)
    info = {
        "presidio_analyzer": importlib.metadata.version("presidio-analyzer"),
        "phonenumbers": importlib.metadata.version("phonenumbers"),
        "spacy": importlib.metadata.version("spacy"),
        "python": platform.python_version(),
        "nlp_engine": args.nlp,
        "recognizers": [type(r).__name__ for r in recognizers],
        "missing_recognizers": missing,
        "prose": {
            "path": str(pathlib.Path(args.prose).resolve().relative_to(ROOT))
            if pathlib.Path(args.prose).resolve().is_relative_to(ROOT) else args.prose,
            "bytes": len(prose),
            "chars": len(prose.decode("utf-8")),
            "lines": prose.count(b"\n"),
            "sha256": hashlib.sha256(prose).hexdigest(),
            "state": prose_state,
        },
    }

    result = dict(info)
    if not args.no_throughput:
        result["throughput"] = throughput(analyzer, recognizers, prose, args.unit,
                                          args.repeat, args.breakdown)
    if not args.no_accuracy:
        preds = predict_corpus(analyzer, corpus)
        if args.dump_predictions:
            with open(args.dump_predictions, "w", encoding="utf-8") as f:
                for p in preds:
                    f.write(json.dumps(p) + "\n")
        acc = {}
        for t in [float(x) for x in args.min_scores.split(",") if x.strip()]:
            kept = [p for p in preds if p["score"] >= t]
            acc[f"{t:g}"] = score_mod.score(corpus, kept)
        result["accuracy"] = acc

    if args.json:
        out = dict(result)
        if "accuracy" in out:
            out["accuracy"] = {k: score_mod.public(v) for k, v in out["accuracy"].items()}
        json.dump(out, sys.stdout, indent=2)
        print()
        return

    print(f"presidio-analyzer {info['presidio_analyzer']} (phonenumbers {info['phonenumbers']}, "
          f"spacy {info['spacy']}), Python {info['python']}, nlp engine: {args.nlp}")
    print(f"recognizers: {', '.join(info['recognizers'])}"
          + (f"  (missing: {', '.join(missing)})" if missing else ""))
    p = info["prose"]
    print(f"prose: {p['path']}: {p['bytes']} bytes, {p['chars']} chars, {p['lines']} lines "
          f"({p['state']}), sha256 {p['sha256'][:16]}…")
    if "throughput" in result:
        tp = result["throughput"]
        print()
        print(f"throughput (median of {args.repeat} runs after 1 warm-up; MB = 10^6 bytes)")
        print(f"{'unit':<22} {'median s':>9} {'min s':>9} {'MB/s':>8} {'hits':>6}")
        for unit in ("whole", "lines"):
            if unit in tp:
                t = tp[unit]
                name = "whole file, 1 call" if unit == "whole" else f"per line, {t['calls_per_run']} calls"
                print(f"{name:<22} {t['median_s']:>9.3f} {t['min_s']:>9.3f} {t['mb_per_s']:>8.3f} {t['hits']:>6}")
        if "breakdown" in tp:
            print("per recognizer, whole file:")
            for name, t in tp["breakdown"].items():
                print(f"  {name:<22} {t['median_s']:>9.3f} s {t['mb_per_s']:>8.3f} MB/s")
    if "accuracy" in result:
        for t, res in result["accuracy"].items():
            print()
            title = (f"accuracy on {len(corpus)} corpus lines, hits with score >= {t}"
                     + ("  (Presidio's default threshold)" if float(t) == 0 else ""))
            print(score_mod.render_table(res, title=title))


if __name__ == "__main__":
    main()
