"""The keyboard letters (``&X`` mnemonics) of a screen's labels and buttons. No Qt.

One place to give a control a letter no other control on its screen uses, and to read back which
letter a text marks, so screens and the tests that check their letters agree on the rules.
"""

from __future__ import annotations

import re


def mnemonic(text: str, taken: set[str]) -> str:
    """``text`` with ``&`` before a letter no other control uses (the start of a word if one is free, else
    any letter), that letter added to ``taken``; without a mnemonic when every letter is taken. Two
    controls sharing a letter make Qt only move the focus between them, never act, so a letter is given
    once or not at all."""
    starts = [m.start() for m in re.finditer(r"\b[A-Za-z]", text)]
    for index in starts + [i for i, c in enumerate(text) if c.isalpha() and c.isascii() and i not in starts]:
        letter = text[index].lower()
        if letter not in taken:
            taken.add(letter)
            return text[:index].replace("&", "&&") + "&" + text[index:].replace("&", "&&")
    return text.replace("&", "&&")


def mnemonic_letter(text: str) -> str | None:
    """The letter ``&`` marks in ``text`` (lower case), or None; ``&&`` is a literal ampersand."""
    marked = re.search(r"&([^&])", text.replace("&&", ""))
    return None if marked is None else marked[1].lower()
