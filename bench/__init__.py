"""Saldo benchmarks: `make bench` (or `python -m bench.run`); results in docs/BENCHMARKS.md.

Never imported by the tests, and no timing is ever asserted: these are measurements to read.
"""
