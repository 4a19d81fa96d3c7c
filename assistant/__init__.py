"""Offline Danish assistant for municipal codes of conduct and personnel policies."""
__version__ = "0.1.0"
