"""The CLI at scale: wall time and peak RSS of one `sqlveil` process per
command, beside a Python process running the same query with polars and one
with DuckDB, on the Parquet files `cargo bench --bench scale` generates.

Usage:
    pip install -r benches/compare/requirements-scale.txt
    python3 benches/compare/scale_cli.py SQLVEIL_BINARY DATA_DIR [RUNS]

DATA_DIR is e.g. target/scale-data/10m (customers.parquet, orders.parquet).
Each command runs RUNS times (default 3) in a fresh process; the median
wall time and the largest peak RSS are printed as a Markdown table. The
first `sqlveil` run builds and saves the known-value index (DATA_DIR/.sqlveil),
reported on its own line; later runs read it.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GROUP_BY = "SELECT city, AVG(income) AS avg_income, COUNT(*) AS n FROM customers GROUP BY city"
JOIN = (
    "SELECT c.city, COUNT(*) AS orders, SUM(o.amount) AS total "
    "FROM orders o JOIN customers c ON o.customer_id = c.customer_id GROUP BY c.city"
)
KEY = "1e69b711fb05b2e652e7fb35f481fdff00439dd7b8bca429123ca25bd379751f"  # any random 32 bytes; a trivial key is refused

POLARS = r"""
import sys, polars as pl
d = sys.argv[1]
ctx = pl.SQLContext(customers=pl.scan_parquet(d + "/customers.parquet"),
                    orders=pl.scan_parquet(d + "/orders.parquet"))
print(ctx.execute(sys.argv[2]).collect().height)
"""

DUCKDB = r"""
import sys, duckdb
d = sys.argv[1]
con = duckdb.connect()
con.execute(f"CREATE VIEW customers AS SELECT * FROM read_parquet('{d}/customers.parquet')")
con.execute(f"CREATE VIEW orders AS SELECT * FROM read_parquet('{d}/orders.parquet')")
print(len(con.execute(sys.argv[2]).fetchall()))
"""


def measure(cmd, env=None, stdin=None):
    """Runs a command in a fresh process: (seconds, peak RSS MiB, stdout, stderr)."""
    # Each measurement in its own intermediate process, so that
    # RUSAGE_CHILDREN's ru_maxrss is this command's alone.
    helper = r"""
import os, resource, subprocess, sys, time, json
cmd = json.loads(sys.argv[1]); stdin = sys.argv[2] if len(sys.argv) > 2 else None
t = time.perf_counter()
p = subprocess.run(cmd, input=stdin.encode() if stdin is not None else None,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
secs = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"secs": secs, "rss": rss, "code": p.returncode,
                  "out": p.stdout.decode(), "err": p.stderr.decode()}))
"""
    import json

    args = [sys.executable, "-c", helper, json.dumps(cmd)]
    if stdin is not None:
        args.append(stdin)
    p = subprocess.run(args, stdout=subprocess.PIPE, env=env, check=True)
    r = json.loads(p.stdout)
    if r["code"] != 0:
        sys.exit(f"{cmd[0]} failed ({r['code']}): {r['err'][-2000:]}")
    return r["secs"], r["rss"], r["out"], r["err"]


def no_detect_values(rules):
    """The rules with `detect_values = false` on every tokenize, mask and deny column."""
    out = []
    for line in rules.splitlines():
        if re.search(r'action = "(tokenize|mask|deny)"', line):
            line = line.replace(", match_parts = true", "")
            line = re.sub(r"\}\s*$", ", detect_values = false }", line.rstrip())
        out.append(line)
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, data = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    tmp = tempfile.mkdtemp()
    rules = os.path.join(ROOT, "rules/sample.toml")
    plain_rules = os.path.join(tmp, "no_detect_values.toml")
    with open(rules) as f:
        text = f.read()
    with open(plain_rules, "w") as f:
        f.write(no_detect_values(text))
    env = dict(os.environ, SQLVEIL_KEY=KEY)
    vault = os.path.join(tmp, "vault")
    shutil.rmtree(os.path.join(data, ".sqlveil"), ignore_errors=True)

    def sqlveil(sql, rules_file=rules):
        return [binary, "query", "--rules", rules_file, "--data", data,
                "--vault", vault, "--sql", sql]

    rows = []

    def row(label, cmd, stdin=None, first=False):
        results = [measure(cmd, env, stdin) for _ in range(1 if first else runs)]
        secs = statistics.median(r[0] for r in results)
        rss = max(r[1] for r in results)
        rows.append((label, secs, rss))
        print(f"{label}: {secs:.2f} s, {rss:.0f} MiB", file=sys.stderr)
        return results

    first = row("sqlveil `query` GROUP BY, first start (builds and saves the index)",
                sqlveil(GROUP_BY), first=True)
    progress = [l for l in first[0][3].splitlines() if "known values" in l]
    row("sqlveil `query` GROUP BY (saved index)", sqlveil(GROUP_BY))
    row("sqlveil `query` GROUP BY, `detect_values = false` everywhere",
        sqlveil(GROUP_BY, plain_rules))
    row("plain polars (Python) GROUP BY", [sys.executable, "-c", POLARS, data, GROUP_BY])
    row("DuckDB (Python) GROUP BY", [sys.executable, "-c", DUCKDB, data, GROUP_BY])
    row("sqlveil `query` orders ⋈ customers (saved index)", sqlveil(JOIN))
    row("plain polars (Python) orders ⋈ customers", [sys.executable, "-c", POLARS, data, JOIN])
    row("DuckDB (Python) orders ⋈ customers", [sys.executable, "-c", DUCKDB, data, JOIN])
    row("sqlveil `scan --data` of a one-line question (saved index)",
        [binary, "scan", "--rules", rules, "--data", data, "--vault", vault],
        stdin="What did the customer from Austin order last week?\n")

    size = sum(
        os.path.getsize(os.path.join(data, ".sqlveil", f))
        for f in os.listdir(os.path.join(data, ".sqlveil"))
    )
    print()
    print(f"data: {data}; saved index {size / 2**20:.0f} MiB; {runs} runs, median wall, max RSS")
    print()
    print("| command | wall | peak RSS |")
    print("|---|---|---|")
    for label, secs, rss in rows:
        print(f"| {label} | {secs:.2f} s | {rss:.0f} MiB |")
    if progress:
        print()
        print("progress lines of the first start:")
        for l in progress:
            print("    " + l)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
