"""The shipped drug library as plain data, for tests that change one figure and load the copy."""

from __future__ import annotations

import json
from importlib import resources


def shipped_data() -> dict:
    """The shipped library's JSON object, read from the installed package (a fresh copy each call)."""
    text = resources.files("programmer").joinpath("data/drug_library.json").read_text(encoding="utf-8")
    return json.loads(text)
