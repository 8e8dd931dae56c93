"""Runnable examples (``python -m mdnc.examples.seed``)."""
