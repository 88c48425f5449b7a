"""Hypothesis strategies, one module per area (``keys``, ``auth``, ``xml``, ...)."""
