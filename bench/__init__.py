"""Benchmark of the Trantib SOP service: `python -m bench` (make bench)."""
