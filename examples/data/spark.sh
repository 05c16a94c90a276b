#!/usr/bin/env bash
# A Spark Connect server in local mode on loopback, with the sample data
# loaded as Parquet tables, for sqlveil's Spark engine (`--spark`).
#
#   eval "$(examples/data/spark.sh start)"    # sets SQLVEIL_SPARK_URL
#   cargo test --locked spark                  # or: sqlveil query --spark "$SQLVEIL_SPARK_URL" …
#   examples/data/spark.sh stop
#
# `start` needs Java 17 or later (`java` on PATH, or JAVA_HOME) and Python 3
# with venv; it installs pyspark (which ships Spark's jars, the Spark Connect
# server among them) into a virtual environment the first time. It then
# loads examples/data into a warehouse under the state directory, starts the
# server on a free loopback port and prints the `export` line for the URL.
# `stop` ends the server it started (by its process id) and removes the
# state directory.
#
# Environment:
#   SQLVEIL_SPARK_DIR    state directory (warehouse, metastore, log, pid);
#                        default /tmp/sqlveil-spark-$USER
#   SQLVEIL_SPARK_VENV   the virtual environment with pyspark; default
#                        ~/.cache/sqlveil/pyspark-$PYSPARK_VERSION
#   PYSPARK_VERSION      default 4.3.0
#   SPARK_DRIVER_MEMORY  default 2g
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# Spark binds its driver to this address too: everything stays on loopback.
export SPARK_LOCAL_IP=127.0.0.1
PYSPARK_VERSION=${PYSPARK_VERSION:-4.3.0}
DIR=${SQLVEIL_SPARK_DIR:-/tmp/sqlveil-spark-${USER:-$(id -un)}}
VENV=${SQLVEIL_SPARK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sqlveil/pyspark-$PYSPARK_VERSION}

say() { echo "spark.sh: $*" >&2; }

venv() {
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$PYSPARK_VERSION')" 2>/dev/null; then
        say "installing pyspark $PYSPARK_VERSION into $VENV (once)"
        rm -rf "$VENV"
        mkdir -p "$(dirname "$VENV")"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q "pyspark==$PYSPARK_VERSION" >&2
    fi
    SPARK_HOME=$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
    export SPARK_HOME
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    command -v java >/dev/null || [ -n "${JAVA_HOME:-}" ] || {
        say "Java 17 or later is needed (Debian: apt-get install openjdk-17-jre-headless)"
        exit 1
    }
    if [ -f "$DIR/server.pid" ] && kill -0 "$(cat "$DIR/server.pid")" 2>/dev/null; then
        say "a server is already running (pid $(cat "$DIR/server.pid")); run '$0 stop' first"
        exit 1
    fi
    venv
    rm -rf "$DIR"
    mkdir -p "$DIR"
    say "loading the sample data into $DIR/warehouse"
    "$VENV/bin/python" "$HERE/spark_load.py" "$DIR/warehouse" "$DIR/metastore" >"$DIR/load.log" 2>&1 || {
        cat "$DIR/load.log" >&2
        exit 1
    }
    local port
    port=$(free_port)
    say "starting the Spark Connect server on 127.0.0.1:$port (log: $DIR/server.log)"
    # The server runs in the foreground of its own process (no daemon), so
    # its pid is the one `stop` ends.
    setsid "$SPARK_HOME/bin/spark-submit" \
        --class org.apache.spark.sql.connect.service.SparkConnectServer \
        --name "sqlveil Spark Connect" \
        --master "local[2]" \
        --driver-memory "${SPARK_DRIVER_MEMORY:-2g}" \
        --driver-java-options "-Dderby.system.home=$DIR/metastore-home" \
        --conf spark.connect.grpc.binding.address=127.0.0.1 \
        --conf spark.connect.grpc.binding.port="$port" \
        --conf spark.ui.enabled=false \
        --conf spark.sql.catalogImplementation=hive \
        --conf spark.sql.warehouse.dir="$DIR/warehouse" \
        --conf "spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=$DIR/metastore;create=true" \
        --conf spark.sql.shuffle.partitions=4 \
        --conf spark.sql.session.timeZone=UTC \
        >"$DIR/server.log" 2>&1 </dev/null &
    echo $! >"$DIR/server.pid"
    local i
    for i in $(seq 1 180); do
        if ! kill -0 "$(cat "$DIR/server.pid")" 2>/dev/null; then
            tail -40 "$DIR/server.log" >&2
            say "the server exited during start"
            exit 1
        fi
        if python3 -c "import socket, sys; s = socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('127.0.0.1', $port)))" 2>/dev/null; then
            echo "sc://127.0.0.1:$port" >"$DIR/url"
            say "ready after ${i}s"
            echo "export SQLVEIL_SPARK_URL=sc://127.0.0.1:$port"
            return 0
        fi
        sleep 1
    done
    tail -40 "$DIR/server.log" >&2
    say "the server did not listen within 180 s"
    stop
    exit 1
}

stop() {
    if [ -f "$DIR/server.pid" ]; then
        local pid
        pid=$(cat "$DIR/server.pid")
        if kill -0 "$pid" 2>/dev/null; then
            # The process group the server leads (setsid): spark-submit and
            # its JVM.
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 30); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 1
            done
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$DIR"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
