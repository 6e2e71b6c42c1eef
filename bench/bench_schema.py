"""Benchmark: what validating JSON records with the record schema adds to `stagelang check`.

    .venv/bin/python bench/bench_schema.py [--n 50000] [--rounds 5]

Writes a JSON Lines export of `--n` synthetic records for policies/japan.stage into a
temporary folder (every record fits the schema, as in a healthy export), then checks it in
interleaved rounds, alternating the order:

- without: `Policy.check_file` with the schema validation switched off (the baseline);
- with: `Policy.check_file` as `stagelang check` runs it, each record validated.

Prints the median time of each and the median per-round ratio. A record that fits takes
only the plain Python test `RecordValidator.fits`; jsonschema runs only for the others, so a
third variant times jsonschema on every record, to show what the quick test saves.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import stagelang
from stagelang.schema import RecordValidator, SchemaError

ROOT = Path(__file__).resolve().parent.parent


def write_export(path: Path, n: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        for number in range(n):
            record = {
                "record_id": number,
                "lifecycle_stage": rng.choice(["Subscriber", "MQL", "SQL", "Opportunity"]),
                "country": rng.choice(["JP", "US", "DE"]),
                "icp_fit": rng.random() < 0.8,
                "engaged_sessions": rng.randint(0, 6),
                "need": True,
                "process": rng.random() < 0.7,
                "decision_makers": rng.sample(["Sato", "Ito", "Kim", "Lee"], rng.randint(0, 3)),
                "meeting_at": "2026-03-01T09:00:00+09:00" if rng.random() < 0.5 else None,
                "budget": f"{rng.randint(0, 90000)}.00",
                "stakeholder": rng.choice([None, "Kim (CFO)"]),
            }
            out.write(json.dumps(record) + "\n")


def timed(policy: stagelang.Policy, path: Path) -> float:
    start = time.perf_counter()
    for _ in policy.check_file(str(path)):
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    policy = stagelang.load(ROOT / "policies" / "japan.stage")
    as_shipped = RecordValidator.errors

    def switched_off(self: RecordValidator, record: Any) -> Iterator[SchemaError]:
        return iter(())

    def jsonschema_always(self: RecordValidator, record: Any) -> Iterator[SchemaError]:
        self._validator.is_valid(record)
        return iter(())

    variants: dict[str, Callable[..., Iterator[SchemaError]]] = {
        "without": switched_off,
        "with": as_shipped,
        "jsonschema on every record": jsonschema_always,
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.jsonl"
        write_export(path, args.n)
        for round_number in range(args.rounds):
            order = list(variants) if round_number % 2 == 0 else list(reversed(variants))
            for name in order:
                RecordValidator.errors = variants[name]  # type: ignore[method-assign]
                times[name].append(timed(policy, path))
    RecordValidator.errors = as_shipped  # type: ignore[method-assign]

    base = statistics.median(times["without"])
    print(f"{args.n} JSON Lines records, {args.rounds} rounds, medians:")
    for name, values in times.items():
        ratios = [value / floor for value, floor in zip(values, times["without"], strict=True)]
        print(
            f"  {name:28} {statistics.median(values):7.3f} s"
            f"  {statistics.median(values) / base * 1e0:5.2f}x"
            f"  (per-round ratio median {statistics.median(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
