"""The key by which a patient's identifier or a user name is found and kept unique: ``MRN-001`` and ``mrn-001``, or
``Osei`` and ``osei``, are one record.

Why a key beside the spelling: people type identifiers from wristbands, letters and other systems in whatever case
and width their keyboard gives; two records that differ only so are one person told apart by accident (a second
chart, a second account). The spelling as first entered is kept for display; lookups and the unique constraint use
the key. The key is Unicode's compatibility form (NFKC: full-width ``ＭＲＮ`` is ``MRN``, a ligature is its
letters), case-folded (``ß`` is ``ss``, Greek final sigma is sigma), NFKC again (folding can leave a string
unnormalised), without surrounding white space of any script.
"""

from __future__ import annotations

import unicodedata

KEY_LENGTH = 256
"""The key column's length: NFKC and folding can lengthen text (a 64-character identifier stays far below it)."""


def record_key(text: str) -> str:
    """The key of an identifier or user name: NFKC, case-folded, NFKC, stripped."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()).strip()


def collisions(table: str, rows: list[tuple[int, str]]) -> list[str]:
    """The groups of ``rows`` (id, spelling) of ``table`` that share a key, each as one phrase naming them."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for row_id, spelling in rows:
        groups.setdefault(record_key(spelling), []).append((row_id, spelling))
    return [" and ".join(f"{spelling!r} ({table} id {row_id})" for row_id, spelling in group)
            for group in groups.values() if len(group) > 1]
