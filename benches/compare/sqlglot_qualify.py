#!/usr/bin/env python3
"""Time sqlglot parse + qualify on the benchmark queries in benches/queries/.

This is the Python half of a side-by-side comparison; the Rust half is
`cargo bench --bench guard`. For every `*.sql` file it times

    expr = sqlglot.parse_one(sql)
    sqlglot.optimizer.qualify.qualify(expr, schema=SCHEMA)

timeit-style: one warm-up call, then a loop count chosen so that one timed
run lasts at least --min-time seconds, then --repeat such runs; the figure
reported is the median over the runs of the time per iteration.
As with `timeit`, the garbage collector is off while a run is timed.

Usage:
    python3 benches/compare/sqlglot_qualify.py            # table
    python3 benches/compare/sqlglot_qualify.py --json     # JSON on stdout
    python3 benches/compare/sqlglot_qualify.py simple_select join3_cte_groupby
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import pathlib
import platform
import statistics
import sys
import timeit

import sqlglot
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

QUERIES = pathlib.Path(__file__).resolve().parent.parent / "queries"

# The sample schema (examples/data/, rules/sample.toml): table -> {column: type}.
SCHEMA: dict[str, dict[str, str]] = {
    "customers": {
        "customer_id": "INT",
        "customer_number": "VARCHAR",
        "full_name": "VARCHAR",
        "email": "VARCHAR",
        "phone": "VARCHAR",
        "street": "VARCHAR",
        "city": "VARCHAR",
        "zip": "VARCHAR",
        "date_of_birth": "DATE",
        "ssn": "VARCHAR",
        "card_number": "VARCHAR",
        "income": "INT",
        "segment": "VARCHAR",
        "signup_date": "DATE",
        "notes": "VARCHAR",
    },
    "orders": {
        "order_id": "INT",
        "customer_id": "INT",
        "order_date": "DATE",
        "product_id": "INT",
        "quantity": "INT",
        "amount": "DOUBLE",
        "status": "VARCHAR",
        "ship_city": "VARCHAR",
    },
    "products": {
        "product_id": "INT",
        "name": "VARCHAR",
        "category": "VARCHAR",
        "price": "DOUBLE",
    },
    "tickets": {
        "ticket_id": "INT",
        "customer_id": "INT",
        "opened_at": "TIMESTAMP",
        "channel": "VARCHAR",
        "subject": "VARCHAR",
        "body": "VARCHAR",
    },
}


def accelerator() -> str:
    """Which compiled speed-up sqlglot runs with, if any.

    sqlglot >= 28-ish ships mypyc-compiled modules as the `sqlglotc`
    distribution (extras `[c]`, and `[rs]` which now pulls it in too); older
    releases had the Rust tokenizer `sqlglotrs` (extra `[rs]`).
    """
    core = getattr(sqlglot, "tokenizer_core", None)
    if core is None:
        try:
            import sqlglot.tokenizer_core as core  # type: ignore[no-redef]
        except ImportError:
            core = None
    if core is not None and not str(getattr(core, "__file__", "x.py")).endswith(".py"):
        return "sqlglotc " + _dist_version("sqlglotc")
    tokens = sys.modules.get("sqlglot.tokens")
    if tokens is not None and getattr(tokens, "USE_RS_TOKENIZER", False):
        return "sqlglotrs " + _dist_version("sqlglotrs")
    return "none"


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def bench_one(sql: str, schema, min_time: float, repeat: int) -> dict:
    def run() -> None:
        qualify(sqlglot.parse_one(sql), schema=schema)

    # Warm-up, and a check that the query goes through at all.
    run()
    timer = timeit.Timer(run)
    # Smallest loop count (1, 2, 5, 10, 20, 50, ...) whose run lasts >= min_time.
    number = 1
    while True:
        for k in (1, 2, 5):
            n = number * k
            if timer.timeit(n) >= min_time:
                number = n
                break
        else:
            number *= 10
            continue
        break
    runs = [t / number for t in timer.repeat(repeat=repeat, number=number)]
    return {
        "median_us": statistics.median(runs) * 1e6,
        "min_us": min(runs) * 1e6,
        "max_us": max(runs) * 1e6,
        "iterations": number,
        "repeat": repeat,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="query file stems to run (default: all)")
    ap.add_argument("--json", action="store_true", help="print JSON on stdout instead of the table")
    ap.add_argument("--queries", type=pathlib.Path, default=QUERIES, help="folder of .sql files")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per timed run (default 1)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per query (default 7)")
    ap.add_argument(
        "--dict-schema",
        action="store_true",
        help="pass the plain dict to qualify() on every call (sqlglot then builds a "
        "MappingSchema each time) instead of one MappingSchema built up front",
    )
    args = ap.parse_args()

    files = sorted(args.queries.glob("*.sql"))
    if args.names:
        files = [f for f in files if f.stem in args.names]
        missing = set(args.names) - {f.stem for f in files}
        if missing:
            ap.error(f"no such query: {', '.join(sorted(missing))}")
    if not files:
        ap.error(f"no .sql files in {args.queries}")

    schema = SCHEMA if args.dict_schema else MappingSchema(SCHEMA)
    accel = accelerator()
    results = []
    for f in files:
        sql = f.read_text()
        r = bench_one(sql, schema, args.min_time, args.repeat)
        r = {"query": f.stem, "bytes": len(sql.encode()), **r}
        results.append(r)
        if not args.json:
            print(f"  {f.stem}: {r['median_us']:.1f} µs", file=sys.stderr, flush=True)

    meta = {
        "tool": "sqlglot parse_one + optimizer.qualify.qualify",
        "sqlglot": sqlglot.__version__,
        "accelerator": accel,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "schema": "dict per call" if args.dict_schema else "MappingSchema built once",
        "min_time_s": args.min_time,
    }
    if args.json:
        json.dump({**meta, "results": results}, sys.stdout, indent=2)
        print()
        return 0

    print(
        f"sqlglot {meta['sqlglot']} (accelerator: {accel}), "
        f"{meta['implementation']} {meta['python']}, schema: {meta['schema']}"
    )
    w = max(len("query"), *(len(r["query"]) for r in results))
    print(f"{'query':<{w}}  {'bytes':>6}  {'median µs':>11}  {'min µs':>11}  {'iters':>7}")
    for r in results:
        print(
            f"{r['query']:<{w}}  {r['bytes']:>6}  {r['median_us']:>11.1f}  "
            f"{r['min_us']:>11.1f}  {r['iterations']:>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
