"""Talks monitor: follows news feeds on the Russia–Ukraine negotiations; writes a daily digest."""

__version__ = "0.1.0"
