"""The embedded runtime: Tansu and Valkey from PyPI wheels, every part as its own process."""
