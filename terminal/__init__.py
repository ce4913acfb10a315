"""Merchant Terminal: a desktop payment terminal for MOTO card payments and the back office."""

# Kept equal to pyproject.toml's version by tests/unit/test_version.py. A literal, not
# importlib.metadata: that import costs about 60 ms of every start-up, and a frozen build has no metadata.
__version__ = "0.1.0"
