"""The README and ``docs/`` against the code."""
