"""Merchant Terminal: a desktop payment terminal for MOTO card payments and the back office."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("merchant-terminal")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
