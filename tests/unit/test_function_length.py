"""No function in services and libs is longer than 60 lines (issue 21, "thin edges"): a longer one does more than
one thing, and is split by meaning."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 60


def _lengths(path: Path) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                assert child.end_lineno is not None
                out.append((child.end_lineno - child.lineno + 1, f"{path.relative_to(ROOT)}::{prefix}{child.name}"))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return out


def test_no_function_in_services_and_libs_is_longer_than_60_lines() -> None:
    files = [p for base in ("services", "libs") for p in (ROOT / base).rglob("*.py")]
    assert len(files) > 50  # the scan sees the code
    too_long = sorted((n, name) for p in files for n, name in _lengths(p) if n > LIMIT)
    assert too_long == [], too_long
