"""Test support for the SQL backends: typed tables in DuckDB and PostgreSQL, and a real server.

`postgres_server()` starts a throwaway PostgreSQL cluster on loopback (initdb into a temporary
folder, pg_ctl start on a free port, trust authentication for the local user only) and stops
it afterwards. Where the server binaries are absent the tests that need it are skipped with
the reason, except in CI (CI or STAGELANG_REQUIRE_POSTGRES set), where that is a failure:
.ci/run installs them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
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


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
