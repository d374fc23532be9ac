"""Which check codes the code can emit, and with which severity, read from its source (no tests here).

docs/cli.md lists every check code with its severity, and the application words every one of them: both
are compared with this list (tests/docs/test_docs.py, tests/ui/view_models/test_wording.py), so a new
code cannot be emitted without being documented and worded. It is read from the source rather than from
a list in the code, because such a list could forget a code as easily as the documents.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _strings(node: ast.expr, assigned: dict[str, list[ast.expr]], prefixes: set[str]) -> list[str] | None:
    """Every code string ``node`` can evaluate to; None for a plain parameter (a generic constructor)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body, assigned, prefixes) + _strings(node.orelse, assigned, prefixes)
    if isinstance(node, ast.Name):
        if node.id not in assigned:
            return None
        return [code for value in assigned[node.id] for code in _strings(value, assigned, prefixes)]
    if isinstance(node, ast.JoinedStr):
        literal = [part for part in node.values if isinstance(part, ast.Constant)]
        holes = [part for part in node.values if isinstance(part, ast.FormattedValue)]
        if len(holes) == 1 and isinstance(node.values[0], ast.FormattedValue) and prefixes:
            tail = "".join(part.value for part in literal)
            return [prefix + tail for prefix in sorted(prefixes)]
    raise AssertionError(f"cannot tell which check codes line {node.lineno} emits: teach tests/support/check_codes.py")


def emitted_check_codes() -> dict[str, str]:
    """code -> severity of every finding programmer/checks.py, review.py, refill.py and bolus.py can produce.

    Findings come from ``report.error(CODE, ...)`` / ``report.warn(CODE, ...)`` and ``Finding(CODE,
    "error" | "warning", ...)``; a code is a literal, a conditional of literals, a local name bound to
    those, or ``f"{prefix}_ABOVE_..."`` inside ``_limit_change``, whose prefixes are its callers' literals.
    """
    codes: dict[str, str] = {}
    for path in (ROOT / "programmer" / name for name in ("checks.py", "review.py", "refill.py", "bolus.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prefixes = {call.args[0].value for call in ast.walk(tree)
                    if isinstance(call, ast.Call) and _call_name(call.func) == "_limit_change"
                    and call.args and isinstance(call.args[0], ast.Constant)}
        for function in (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)):
            assigned: dict[str, list[ast.expr]] = {}
            for node in ast.walk(function):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            assigned.setdefault(target.id, []).append(node.value)
            for call in (node for node in ast.walk(function) if isinstance(node, ast.Call) and node.args):
                name = _call_name(call.func)
                if name in ("error", "warn") and isinstance(call.func, ast.Attribute):
                    severity = "error" if name == "error" else "warning"
                elif name == "Finding" and len(call.args) > 1 and isinstance(call.args[1], ast.Constant):
                    severity = call.args[1].value
                else:
                    continue
                found = _strings(call.args[0], assigned, prefixes if function.name == "_limit_change" else set())
                for code in found or ():
                    assert re.fullmatch(r"[A-Z][A-Z0-9_]+", code), code
                    assert codes.setdefault(code, severity) == severity, f"{code} is both an error and a warning"
    return codes
