"""Test support for the SQL backends: typed tables in DuckDB, PostgreSQL and Spark, a real
PostgreSQL server and a local Spark session.

`postgres_server()` starts a throwaway PostgreSQL cluster on loopback (initdb into a temporary
folder, pg_ctl start on a free port, trust authentication for the local user only) and stops
it afterwards. Where the server binaries are absent the tests that need it are skipped with
the reason, except in CI (CI or STAGELANG_REQUIRE_POSTGRES set), where that is a failure:
.ci/run installs them.

`spark_session()` starts one local Spark session (pyspark, on the machine's Java) and stops it
afterwards. Where pyspark or Java is absent the Spark tests are skipped with the reason, unless
STAGELANG_REQUIRE_SPARK is set (.ci/run sets it and installs both), where that is a failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest

from stagelang.analysis.model import CheckedPolicy
from stagelang.analysis.types import Type

_SQL_TYPES = {
    "duckdb": {
        "bool": "BOOLEAN",
        "int": "BIGINT",
        "decimal": "DECIMAL(38, 9)",
        "string": "VARCHAR",
        "date": "DATE",
        "datetime": "TIMESTAMPTZ",
    },
    "postgres": {
        "bool": "BOOLEAN",
        "int": "BIGINT",
        "decimal": "NUMERIC",
        "string": "TEXT",
        "date": "DATE",
        "datetime": "TIMESTAMPTZ",
    },
}


def sql_type(kind: Type, dialect: str) -> str:
    if kind.is_list:
        assert kind.item is not None
        return sql_type(kind.item, dialect) + "[]"
    return _SQL_TYPES[dialect][kind.name]


def create_table(policy: CheckedPolicy, dialect: str, table: str = "records") -> str:
    """CREATE TABLE for the policy's columns with the dialect's types (names are test names)."""
    columns = ", ".join(
        f'"{field.column}" {sql_type(field.type, dialect)}' for field in policy.fields.values()
    )
    return f'CREATE TABLE "{table}" ({columns})'


def insert_rows(
    policy: CheckedPolicy, records: Sequence[dict[str, Any]], mark: str = "%s"
) -> tuple[str, list[tuple[Any, ...]]]:
    """A parameterised INSERT and the rows: typed values, empty text kept, wrong types NULL."""
    fields = list(policy.fields.values())
    marks = ", ".join([mark] * len(fields))
    rows = [tuple(_cell(record.get(f.name), f.type) for f in fields) for record in records]
    return f'INSERT INTO "records" VALUES ({marks})', rows


def _cell(value: Any, kind: Type) -> Any:
    if value == "" and kind.name != "string":
        return None  # empty text in a typed column can only be NULL
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


# A real PostgreSQL server ---------------------------------------------------------------------


def _binaries() -> str | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return os.path.dirname(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(candidates[-1]) if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cannot(reason: str) -> None:
    if os.environ.get("CI") or os.environ.get("STAGELANG_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL is needed in CI: {reason}")
    pytest.skip(f"PostgreSQL server not available: {reason}")


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A connection URL to a fresh PostgreSQL server on 127.0.0.1, stopped on exit."""
    binaries = _binaries()
    if binaries is None:
        _cannot("no initdb/pg_ctl found (Debian: apt-get install postgresql)")
    assert binaries is not None
    # PostgreSQL refuses to run as root; as root, the cluster belongs to the postgres user.
    run_as: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _cannot("running as root and there is no postgres user to run the server")
        run_as, user = ["runuser", "-u", "postgres", "--"], "postgres"

    folder = tempfile.mkdtemp(prefix="stagelang-pg-")
    data = os.path.join(folder, "data")
    if run_as:
        shutil.chown(folder, user="postgres")
    port = _free_port()
    initdb = [os.path.join(binaries, "initdb"), "-D", data, "-U", user, "-A", "trust"]
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -k {folder} -c fsync=off"
    # The server's output goes to a log file: a server holding our pipes open would keep
    # subprocess.run waiting for ever.
    log = os.path.join(folder, "server.log")
    start = [os.path.join(binaries, "pg_ctl"), "-D", data, "-l", log, "-o", options, "-w"]
    start.append("start")
    stop = [os.path.join(binaries, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]
    try:
        for command in (initdb, start):
            done = subprocess.run(
                [*run_as, *command],
                capture_output=True,
                text=True,
                check=False,
                cwd=folder,
                stdin=subprocess.DEVNULL,
                timeout=120,
            )
            if done.returncode != 0:
                _cannot(f"{os.path.basename(command[0])} failed: {done.stderr.strip()[-300:]}")
        yield f"postgresql://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, *stop], capture_output=True, check=False, cwd=folder, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


# A local Spark session -----------------------------------------------------------------------


def _cannot_spark(reason: str) -> None:
    if os.environ.get("STAGELANG_REQUIRE_SPARK"):
        pytest.fail(f"Spark is needed here (STAGELANG_REQUIRE_SPARK is set): {reason}")
    pytest.skip(f"Spark not available: {reason}")


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


@contextlib.contextmanager
def spark_session() -> Iterator[Any]:
    """A local Spark session on one core, the way a test wants it: quick to start and quiet."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        _cannot_spark("pyspark is not installed (pip install 'stagelang[spark]')")
    if _java() is None:
        _cannot_spark(
            "no java found on PATH or in JAVA_HOME (Debian: apt-get install default-jre-headless)"
        )

    builder = (
        SparkSession.builder.master("local[1]")
        .appName("stagelang-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        # Adaptive planning pays off on big shuffles; on a test's few rows it only adds time.
        .config("spark.sql.adaptive.enabled", "false")
        # The Python engine and the other test databases run in UTC.
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=ERROR")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    # pyspark also logs every failed query, plan and Java stack included, as JSON on stderr;
    # the exception the test sees says the same in one line.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    try:
        yield session
    finally:
        session.stop()


def spark_schema(policy: CheckedPolicy) -> Any:
    """The Spark schema of the policy's columns, typed as the other test databases type them."""
    from pyspark.sql import types as spark

    scalars = {
        "bool": spark.BooleanType(),
        "int": spark.LongType(),
        "decimal": spark.DecimalType(38, 9),
        "string": spark.StringType(),
        "date": spark.DateType(),
        "datetime": spark.TimestampType(),
    }

    def spark_type(kind: Type) -> Any:
        if kind.is_list:
            assert kind.item is not None
            return spark.ArrayType(spark_type(kind.item))
        return scalars[kind.name]

    columns = [
        spark.StructField(field.column, spark_type(field.type), nullable=True)
        for field in policy.fields.values()
    ]
    return spark.StructType(columns)


def spark_rows(policy: CheckedPolicy, records: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The records as rows for `spark_schema`: the cells of `insert_rows`, with every number in
    a decimal column a Decimal (Spark's schema check takes no int or float there)."""
    fields = list(policy.fields.values())
    _, rows = insert_rows(policy, records)
    decimal = [field.type.name == "decimal" and not field.type.is_list for field in fields]
    return [
        tuple(
            Decimal(cell) if wanted and isinstance(cell, int) else cell
            for cell, wanted in zip(row, decimal, strict=True)
        )
        for row in rows
    ]


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
