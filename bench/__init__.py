"""Benchmarks, run with ``nox -s bench`` (never in CI)."""
