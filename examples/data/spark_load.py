#!/usr/bin/env python3
"""Loads the sample data into a Spark warehouse as Parquet tables.

    python examples/data/spark_load.py WAREHOUSE_DIR METASTORE_DIR

Run with the Python of a virtual environment that has `pyspark` (see
examples/data/spark.sh, which calls this before it starts the Spark
Connect server on the same warehouse and metastore). The tables
(`customers`, `orders`, `products`, `tickets`, in database `default`) get
the column types a lake would use, the same as examples/data/postgres.py
gives PostgreSQL: dates as DATE, timestamps as TIMESTAMP, money as
DECIMAL(10,2). They are dropped and written again.
"""

import os
import sys

from pyspark.sql import SparkSession

HERE = os.path.dirname(os.path.abspath(__file__))

SCHEMAS = {
    "customers": "customer_id INT, customer_number STRING, full_name STRING, "
    "email STRING, phone STRING, street STRING, city STRING, zip STRING, "
    "date_of_birth DATE, ssn STRING, card_number STRING, income INT, "
    "segment STRING, signup_date DATE, notes STRING",
    "orders": "order_id INT, customer_id INT, order_date DATE, product_id INT, "
    "quantity INT, amount DECIMAL(10,2), status STRING, ship_city STRING",
    "products": "product_id INT, name STRING, category STRING, price DECIMAL(10,2)",
    "tickets": "ticket_id INT, customer_id INT, opened_at TIMESTAMP, "
    "channel STRING, subject STRING, body STRING",
}


def session(warehouse, metastore):
    return (
        SparkSession.builder.master("local[1]")
        .appName("sqlveil sample data")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.sql.catalogImplementation", "hive")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={metastore};create=true",
        )
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={metastore}-home")
        .enableHiveSupport()
        .getOrCreate()
    )


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: spark_load.py WAREHOUSE_DIR METASTORE_DIR")
    warehouse, metastore = sys.argv[1], sys.argv[2]
    spark = session(warehouse, metastore)
    spark.sparkContext.setLogLevel("ERROR")
    for table, schema in SCHEMAS.items():
        csv = os.path.join(HERE, table + ".csv")
        if os.path.exists(csv):
            df = spark.read.csv(csv, schema=schema, header=True, multiLine=True, escape='"')
        else:
            df = spark.read.json(os.path.join(HERE, table + ".ndjson"), schema=schema,
                                 timestampFormat="yyyy-MM-dd HH:mm:ss")
        spark.sql(f"DROP TABLE IF EXISTS default.{table}")
        df.write.format("parquet").saveAsTable(f"default.{table}")
        n = spark.table(f"default.{table}").count()
        print(f"{table}: {n} rows")
    spark.stop()


if __name__ == "__main__":
    main()
