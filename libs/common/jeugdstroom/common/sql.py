"""Named SQL statements kept in ``.sql`` files next to the repository that runs them.

A file holds blocks, each opened by a ``-- name: <identifier>`` line; the block's text up to the next such line is
the statement (comments and blank lines around it are kept as written, surrounding whitespace is stripped)::

    -- name: sender_by_code
    SELECT code, name FROM intake.senders WHERE code = $1 AND revoked_at IS NULL;

A repository loads its file once (``Q = load_queries(__package__, "queries.sql")``, cached) and runs
``Q.sender_by_code`` or ``Q["sender_by_code"]``. A name given twice, a block without a statement, text before the
first name, and an unknown name are errors, so a typo fails on import or on first use, never silently.
Statements built at run time from identifiers (schema or table names) stay in Python; their modules say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


class Queries(Mapping[str, str]):
    """The statements of one ``.sql`` file by name; also readable as attributes (``Q.name``)."""

    __slots__ = ("_source", "_statements")

    def __init__(self, statements: Mapping[str, str], source: str = "<sql>") -> None:
        self._statements = dict(statements)
        self._source = source

    def __getitem__(self, name: str) -> str:
        try:
            return self._statements[name]
        except KeyError:
            raise KeyError(f"no statement {name!r} in {self._source}") from None

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._statements[name]
        except KeyError:
            raise AttributeError(f"no statement {name!r} in {self._source}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._statements)

    def __len__(self) -> int:
        return len(self._statements)


def parse_queries(text: str, source: str = "<sql>") -> Queries:
    """The named statements of ``text`` (the format in the module docstring); raises ValueError when malformed."""
    parts = _NAME.split(text)
    if parts[0].strip() and any(not line.lstrip().startswith("--") for line in parts[0].strip().splitlines()):
        raise ValueError(f"{source}: SQL before the first '-- name:' line")
    statements: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        statement = body.strip().removesuffix(";").strip()
        if name in statements:
            raise ValueError(f"{source}: statement {name!r} is named twice")
        if not statement:
            raise ValueError(f"{source}: statement {name!r} is empty")
        statements[name] = statement
    return Queries(statements, source)


@cache
def load_queries(package: str, filename: str) -> Queries:
    """The named statements of the resource ``filename`` of ``package`` (read once per process)."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    return parse_queries(text, f"{package}/{filename}")
