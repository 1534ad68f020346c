"""Lugx: an open-source, Steam-like digital game store platform."""

__version__ = "0.1.0"
