"""Run every benchmark (or those named on the command line), print a table, write bench-results/latest.json.

python -m tests.bench            # all of them
python -m tests.bench sandbox    # only tests/bench/bench_sandbox.py
python -m tests.bench --full     # the issue's full sizes (BENCH_FULL=1: 10,000 orders, 1,000,000 events)
python -m tests.bench --postgres URL reports   # on PostgreSQL (the same as FLASK_TEST_DATABASE_URI=URL)

Benchmarks are the tests/bench/bench_*.py modules, each with a run() returning its figures:
bench_delivery, bench_bulk_refunds, bench_bulk_change (the bulk status change itself, Pixel Plus alone and every module
enabled, at 1,000 and 10,000 orders: ms, CPU ms and SQL statements per order), bench_event_log,
bench_sandbox, bench_reports (the reports at 100,000 orders, 1,000,000 with --full).
"""

import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import tests.bench as package

RESULTS = Path(__file__).resolve().parents[2] / "bench-results" / "latest.json"


def benchmark_names(wanted: list[str]) -> list[str]:
    """Return the benchmark modules to run, in name order."""
    names = sorted(info.name for info in pkgutil.iter_modules(package.__path__) if info.name.startswith("bench_"))
    if wanted:
        unknown = [name for name in wanted if f"bench_{name.removeprefix('bench_')}" not in names]
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; have {', '.join(names)}")
        names = [name for name in names if name.removeprefix("bench_") in {w.removeprefix("bench_") for w in wanted}]
    return names


def main(argv: list[str]) -> int:
    """Run the benchmarks and report."""
    if "--full" in argv:
        os.environ["BENCH_FULL"] = "1"
        argv = [arg for arg in argv if arg != "--full"]
    if "--postgres" in argv:
        at = argv.index("--postgres")
        if at + 1 >= len(argv):
            raise SystemExit("--postgres needs the database URL (postgresql+psycopg://user@host:port/name)")
        os.environ["FLASK_TEST_DATABASE_URI"] = argv[at + 1]
        argv = argv[:at] + argv[at + 2 :]
    results: dict[str, dict] = {}
    for name in benchmark_names(argv):
        module = importlib.import_module(f"tests.bench.{name}")
        started = time.perf_counter()
        figures = module.run()
        figures["wall_s"] = round(time.perf_counter() - started, 2)
        results[name.removeprefix("bench_")] = figures
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": _cpus(),
        "results": results,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")
    return 0


def print_table(results: dict[str, dict]) -> None:
    """Print one row per figure: benchmark, figure, value."""
    rows = [(bench, key, _show(value)) for bench, figures in results.items() for key, value in figures.items()]
    widths = [max(len(str(row[i])) for row in [("benchmark", "figure", "value"), *rows]) for i in range(3)]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    print(line.format("benchmark", "figure", "value"))
    print(line.format(*("-" * width for width in widths)))
    for row in rows:
        print(line.format(*row))


def _show(value) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


def _cpus() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
