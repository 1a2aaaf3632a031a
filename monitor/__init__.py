"""Talks monitor: follows news feeds on the Russia–Ukraine negotiations and writes a daily digest."""

__version__ = "0.1.0"
