"""Benchmark of the warehouse against the machine's raw-scan limit and a pandas peer.

`python -m benchmarks.run --scale small|medium|large` (see benchmarks/run.py and
docs/BENCHMARKS.md).
"""
