"""Benchmark: is `Policy.check` as fast as a handwritten checker, and is loading a policy quick?

    .venv/bin/python bench/bench_check.py [--n 100000] [--rounds 7] [--seed 42]

What it does, on `policies/japan.stage`:

1. Agreement. Generates `--n` typed records with an answer key (bench/records.py) and checks
   that `policy.check(r).conforms` agrees with the handwritten checker (bench/handwritten.py)
   returning None, and that `policy.check(r).first_unmet_stage` (ignoring case) names the same
   stage as the handwritten checker and the answer key. Any mismatch: exit status 1, no timing.
2. Checking speed. Times a loop calling `policy.check(r)` over all records, and the same loop
   calling the handwritten function, interleaved in `--rounds` rounds whose order alternates,
   so that drift in the machine's speed hits both alike. Reports medians over the rounds of
   the time per record and records per second, and the median of the per-round ratios
   check / handwritten. The garbage collector is off inside the timed loops (`--gc` keeps it
   on): a collection would walk all the records and land on whichever loop it happens in.
3. Loading speed: `stagelang.load` on the file (read, parse, analyse, compile). Three figures:
   the first load in a fresh interpreter (a subprocess per sample, `--cold-runs` of them,
   import time reported apart), loads in this process with the cached Lark parser dropped
   before each one, and warm loads that reuse the cached parser (`--load-repeats` each).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

# bench/ is not a package: run as a script, its own folder is first on sys.path.
from handwritten import first_failure
from records import STAGES, Record, Sample, generate

import stagelang
from stagelang.syntax import parser as stagelang_parser

POLICY_FILE = Path(__file__).resolve().parent.parent / "policies" / "japan.stage"

CHECK = "Policy.check"
HANDWRITTEN = "handwritten"

# Run in a fresh interpreter: how long the import and the first load take there.
COLD_LOAD = """
import json, sys, time
start = time.perf_counter()
import stagelang
imported = time.perf_counter()
stagelang.load(sys.argv[1])
loaded = time.perf_counter()
print(json.dumps({"import": imported - start, "load": loaded - imported}))
"""


def main(argv: Sequence[str] | None = None) -> int:
    options = _parse_options(argv)
    _print_setup(options)

    policy = stagelang.load(POLICY_FILE)
    sample = generate(options.n, options.seed)
    _print_sample(sample)

    if not verify(policy, sample):
        return 1

    time_checking(policy, sample.records, options.rounds, options.gc)
    time_loading(options.load_repeats, options.cold_runs)
    return 0


def _parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="records to generate")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    parser.add_argument("--seed", type=int, default=42, help="seed of the record generator")
    parser.add_argument("--load-repeats", type=int, default=30, help="in-process loads timed")
    parser.add_argument("--cold-runs", type=int, default=10, help="fresh interpreters timed")
    parser.add_argument("--gc", action="store_true", help="keep the GC on in timed loops")
    return parser.parse_args(argv)


def _print_setup(options: argparse.Namespace) -> None:
    print(f"policy:  {POLICY_FILE}")
    print(f"python:  {platform.python_implementation()} {platform.python_version()}")
    print(f"machine: {_cpu_model()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"lark:    {metadata.version('lark')}")
    if sys.dont_write_bytecode:
        # Then nothing imported from source is cached as bytecode: it slows the import only.
        print("note:    PYTHONDONTWRITEBYTECODE is set")
    gc_state = "on" if options.gc else "off"
    print(f"options: n={options.n} rounds={options.rounds} seed={options.seed} gc={gc_state}")
    print()


def _cpu_model() -> str:
    # platform.processor() is often empty on Linux; /proc/cpuinfo names the model there.
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _print_sample(sample: Sample) -> None:
    stages = Counter(record["lifecycle_stage"] for record in sample.records)
    failures = Counter(stage for stage in sample.expected if stage is not None)
    japan = sum(record["country"] == "JP" for record in sample.records)
    n = len(sample.records)

    print(f"records: {n:,}, in Japan {japan / n:.1%}, failing {sum(failures.values()):,}")
    for stage in STAGES:
        print(f"  {stage:<15} at stage {stages[stage]:>7,}   fail here first {failures[stage]:>6,}")
    print()


# Agreement


@dataclass
class Mismatches:
    """How many records each pair of answers disagrees on."""

    conforms: int = 0
    check_vs_handwritten: int = 0
    check_vs_key: int = 0
    handwritten_vs_key: int = 0

    def total(self) -> int:
        return (
            self.conforms + self.check_vs_handwritten + self.check_vs_key + self.handwritten_vs_key
        )


def verify(policy: stagelang.Policy, sample: Sample) -> bool:
    """Whether stagelang, the handwritten checker and the answer key agree on every record."""
    found = Mismatches()
    examples: list[str] = []

    for record, expected in zip(sample.records, sample.expected, strict=True):
        verdict = policy.check(record)
        handwritten = first_failure(record)
        stage = verdict.first_unmet_stage
        checked = None if stage is None else stage.casefold()

        found.conforms += verdict.conforms != (handwritten is None)
        found.check_vs_handwritten += checked != handwritten
        found.check_vs_key += checked != expected
        found.handwritten_vs_key += handwritten != expected
        if len(examples) < 5 and not checked == handwritten == expected:
            examples.append(
                f"  {record}: check {checked}, handwritten {handwritten}, key {expected}"
            )

    print("agreement (mismatching records):")
    print(f"  check.conforms vs handwritten is None:       {found.conforms}")
    print(f"  check.first_unmet_stage vs handwritten:      {found.check_vs_handwritten}")
    print(f"  check.first_unmet_stage vs answer key:       {found.check_vs_key}")
    print(f"  handwritten vs answer key:                   {found.handwritten_vs_key}")
    for example in examples:
        print(example)
    print()
    return found.total() == 0


# Checking speed


def time_checking(
    policy: stagelang.Policy, records: list[Record], rounds: int, keep_gc: bool
) -> None:
    """Time both checkers over all records, interleaved, and print medians and the ratio."""
    contenders: dict[str, Callable[[Record], Any]] = {
        CHECK: policy.check,
        HANDWRITTEN: first_failure,
    }
    for check in contenders.values():
        _time_pass(check, records, keep_gc)  # warm-up: caches, branch predictors, allocator

    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    ratios: list[float] = []
    for round_number in range(rounds):
        order = _rotated(list(contenders), round_number)
        for name in order:
            seconds[name].append(_time_pass(contenders[name], records, keep_gc))
        ratios.append(seconds[CHECK][-1] / seconds[HANDWRITTEN][-1])

    n = len(records)
    print(f"checking {n:,} records, {rounds} interleaved rounds (median, min-max):")
    for name, samples in seconds.items():
        per_record = [s / n * 1e9 for s in samples]
        rate = n / statistics.median(samples)
        print(
            f"  {name:<13} {statistics.median(per_record):7.1f} ns/record "
            f"({min(per_record):.1f}-{max(per_record):.1f})   {rate:>12,.0f} records/s"
        )
    print(
        f"  ratio check / handwritten: {statistics.median(ratios):.2f} "
        f"({min(ratios):.2f}-{max(ratios):.2f}), target at most 1.30"
    )
    print()


def _rotated(items: list[str], by: int) -> list[str]:
    shift = by % len(items)
    return items[shift:] + items[:shift]


def _time_pass(check: Callable[[Record], Any], records: list[Record], keep_gc: bool) -> float:
    was_enabled = gc.isenabled()
    if not keep_gc:
        gc.disable()
    try:
        start = time.perf_counter()
        for record in records:
            check(record)
        return time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()


# Loading speed


def time_loading(repeats: int, cold_runs: int) -> None:
    """Time `stagelang.load` cold (fresh interpreter), with the parser rebuilt, and warm."""
    cold = [_cold_load() for _ in range(cold_runs)]
    imports = [sample["import"] for sample in cold]
    first_loads = [sample["load"] for sample in cold]

    drop_parser = _parser_cache_clearer()
    rebuilt = [_timed_load(drop_parser) for _ in range(repeats)] if drop_parser else []
    warm = [_timed_load(None) for _ in range(repeats)]

    print("loading + compiling policies/japan.stage (median, min-max), target under 50 ms:")
    _print_load("import stagelang, fresh process", imports)
    _print_load("first load, fresh process", first_loads)
    if rebuilt:
        _print_load("load, parser from disk cache", rebuilt)
    else:
        print("  load, parser from disk cache     (skipped: no cached _parser to drop)")
    _print_load("load, Lark parser cached", warm)
    print(f"  ({cold_runs} fresh processes, {repeats} in-process loads each)")


def _cold_load() -> dict[str, float]:
    command = [sys.executable, "-c", COLD_LOAD, str(POLICY_FILE)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    timings: dict[str, float] = json.loads(output)
    return timings


def _parser_cache_clearer() -> Callable[[], None] | None:
    """What drops the Lark parser that stagelang.syntax.parser caches with functools.cache."""
    build = getattr(stagelang_parser, "_parser", None)
    clear: Callable[[], None] | None = getattr(build, "cache_clear", None)
    return clear


def _timed_load(drop_parser: Callable[[], None] | None) -> float:
    if drop_parser is not None:
        drop_parser()  # so that this load builds the parser anew, as the first one does
    start = time.perf_counter()
    stagelang.load(POLICY_FILE)
    return time.perf_counter() - start


def _print_load(label: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(f"  {label:<32} {statistics.median(ms):7.2f} ms ({min(ms):.2f}-{max(ms):.2f})")


if __name__ == "__main__":
    sys.exit(main())
