"""Benchmarks: real `passportoffice serve` processes under wrk, each figure a ratio to its floor.

`python -m benchmarks.run` (what `make bench` runs); see benchmarks/README.md for the method.
"""
