"""Benchmarks: each `bench_*.py` module has `run() -> dict` of figures; `python -m tests.bench` runs them all."""
