"""Benchmarks of the terminal (issue 11): run them all with `python benchmarks/run_all.py`."""
