"""``jeugdstroom asyncapi [--out FILE]``: write the AsyncAPI 3.0 document of every topic (YAML or JSON).

The document is generated from the contracts (:mod:`jeugdstroom.common.contracts.asyncapi`); the checked-in copy
is ``docs/asyncapi.yaml`` (a test fails when it drifts). Without ``--out`` it goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jeugdstroom.common.contracts.asyncapi import DEFAULT_PARTITIONS, DEFAULT_PREFIX, document, to_json, to_yaml


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="file to write (default: stdout); .json writes JSON, else YAML")
    parser.add_argument("--format", choices=["yaml", "json"], help="output format (default: from --out, else yaml)")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="topic prefix (default: %(default)s)")
    parser.add_argument(
        "--partitions", type=int, default=DEFAULT_PARTITIONS, help="partitions per topic (default: %(default)s)"
    )


def render(fmt: str, prefix: str = DEFAULT_PREFIX, partitions: int = DEFAULT_PARTITIONS) -> str:
    doc = document(prefix, partitions)
    return to_json(doc) if fmt == "json" else to_yaml(doc)


def cmd_asyncapi(args: argparse.Namespace) -> int:
    out: Path | None = args.out
    fmt = args.format or ("json" if out is not None and out.suffix.lower() == ".json" else "yaml")
    text = render(fmt, args.prefix, args.partitions)
    if out is None:
        sys.stdout.write(text)
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(out)
    return 0
