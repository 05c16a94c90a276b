#!/usr/bin/env python3
"""Prints SQL that loads the sample data into PostgreSQL (schema public).

    python3 examples/data/postgres.py | psql postgresql://user:pw@127.0.0.1:5432/db

The tables are dropped and created again, with the column types a real
database would use (dates as date, timestamps as timestamp, money as
numeric), and filled from customers.csv, orders.csv, products.csv and
tickets.ndjson with COPY. Standard library only.
"""

import csv
import io
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

TABLES = {
    "customers": [
        ("customer_id", "integer PRIMARY KEY"),
        ("customer_number", "text NOT NULL"),
        ("full_name", "text NOT NULL"),
        ("email", "text"),
        ("phone", "text"),
        ("street", "text"),
        ("city", "text"),
        ("zip", "text"),
        ("date_of_birth", "date"),
        ("ssn", "text"),
        ("card_number", "text"),
        ("income", "integer"),
        ("segment", "text"),
        ("signup_date", "date"),
        ("notes", "text"),
    ],
    "orders": [
        ("order_id", "integer PRIMARY KEY"),
        ("customer_id", "integer NOT NULL"),
        ("order_date", "date"),
        ("product_id", "integer"),
        ("quantity", "integer"),
        ("amount", "numeric(10,2)"),
        ("status", "text"),
        ("ship_city", "text"),
    ],
    "products": [
        ("product_id", "integer PRIMARY KEY"),
        ("name", "text"),
        ("category", "text"),
        ("price", "numeric(10,2)"),
    ],
    "tickets": [
        ("ticket_id", "integer PRIMARY KEY"),
        ("customer_id", "integer"),
        ("opened_at", "timestamp"),
        ("channel", "text"),
        ("subject", "text"),
        ("body", "text"),
    ],
}


def rows(table):
    csv_path = os.path.join(HERE, table + ".csv")
    if os.path.exists(csv_path):
        with open(csv_path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader)
            yield from reader
        return
    names = [c for c, _ in TABLES[table]]
    with open(os.path.join(HERE, table + ".ndjson"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                obj = json.loads(line)
                yield ["" if obj.get(n) is None else str(obj[n]) for n in names]


def main():
    out = sys.stdout
    out.write("\\set ON_ERROR_STOP on\nBEGIN;\n")
    for table, cols in TABLES.items():
        out.write(f"DROP TABLE IF EXISTS {table};\n")
        body = ",\n  ".join(f"{c} {t}" for c, t in cols)
        out.write(f"CREATE TABLE {table} (\n  {body}\n);\n")
        names = ", ".join(c for c, _ in cols)
        out.write(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv);\n")
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for r in rows(table):
            writer.writerow(r)
        out.write(buf.getvalue())
        out.write("\\.\n")
    out.write("COMMIT;\n")


if __name__ == "__main__":
    main()
