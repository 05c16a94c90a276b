#!/usr/bin/env python3
"""Write huge_projection.sql: a deliberately huge SELECT of N projection items.

The output is committed; rerun only to change N:

    python3 benches/queries/gen_huge.py [N]   # default 1000
"""
import pathlib
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
items = ",\n".join(f"    amount + {i} AS a{i}" for i in range(1, n + 1))
out = pathlib.Path(__file__).with_name("huge_projection.sql")
out.write_text(f"SELECT\n{items}\nFROM orders\n")
print(f"wrote {out} ({n} items, {out.stat().st_size} bytes)")
