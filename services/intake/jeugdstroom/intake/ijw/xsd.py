"""Optional validation of incoming iJw messages against the official iJw 3.2 XSDs (``JEUGDSTROOM_IJW_XSD_DIR``).

jeugdstroom does not ship the XSDs: an operator downloads them from iStandaarden (``JW301.xsd``, ``JW305.xsd``,
``JW307.xsd``, ``JW315.xsd`` and the ``basisschema.xsd`` they import) into one folder and names it. Validation needs
the PyPI package ``xmlschema`` (``pip install 'jeugdstroom[ijw-xsd]'``); when the folder is configured and the
package or a file is missing, intake refuses to start with a message that says which. Without the setting the
project's own structural check (``message.py``) is the only one; it is never stricter than the XSDs.

Every problem names the element path and the kind of violation, never the element's value (a value may be a BSN):
xmlschema's own reasons quote values, so they are not passed on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final
from xml.etree.ElementTree import Element

from jeugdstroom.intake.ijw.message import SPECS, Problem

ENV_VAR: Final = "JEUGDSTROOM_IJW_XSD_DIR"


class XsdSetupError(RuntimeError):
    """The configured XSD folder cannot be used; the message says why."""


def _schema_file(folder: Path, kind: str) -> Path:
    wanted = f"{kind}.xsd"
    for candidate in folder.iterdir():
        if candidate.name.lower() == wanted:
            return candidate
    raise XsdSetupError(f"{ENV_VAR}={folder}: {kind.upper()}.xsd is missing (download the iJw 3.2 XSDs from "
                        "iStandaarden: JW301, JW305, JW307, JW315 and basisschema)")


def _path(raw: str | None) -> str:
    """An xmlschema error path as local names (``/jw305:Bericht/ijw:Product`` → ``/Bericht/Product``)."""
    if not raw:
        return "/Bericht"
    local = re.sub(r"\{[^}]*\}", "", raw)
    return "/" + "/".join(re.sub(r"^[A-Za-z0-9_]+:", "", part) for part in local.strip("/").split("/"))


class XsdValidator:
    """Validates a parsed message against the XSD of its type; one schema per message type, loaded once."""

    def __init__(self, folder: str | Path) -> None:
        try:
            import xmlschema
        except ImportError:
            raise XsdSetupError(f"{ENV_VAR} is set but the package xmlschema is not installed: install it with "
                                "pip install 'jeugdstroom[ijw-xsd]' (or unset the variable)") from None
        root = Path(folder)
        if not root.is_dir():
            raise XsdSetupError(f"{ENV_VAR}={root}: not a folder")
        self._children_error: Any = xmlschema.XMLSchemaChildrenValidationError
        self._schemas: dict[str, Any] = {}
        for kind in sorted(SPECS):
            try:
                self._schemas[kind] = xmlschema.XMLSchema(str(_schema_file(root, kind)))
            except XsdSetupError:
                raise
            except Exception as exc:  # an unreadable or invalid schema file: say which
                raise XsdSetupError(f"{ENV_VAR}={root}: {kind.upper()}.xsd cannot be loaded "
                                    f"({type(exc).__name__})") from None

    def __call__(self, kind: str, root: Element) -> list[Problem]:
        problems: list[Problem] = []
        for err in self._schemas[kind].iter_errors(root):
            where = _path(getattr(err, "path", None))
            if isinstance(err, self._children_error):
                reason = f"has unexpected, misplaced or missing child elements ({kind.upper()}.xsd)"
            else:
                validator = getattr(err, "validator", None)
                type_name = getattr(validator, "local_name", None) or getattr(
                    getattr(validator, "parent", None), "local_name", None)
                reason = (f"does not match its XSD type {type_name}" if type_name
                          else f"is not valid against {kind.upper()}.xsd")
            problem = Problem(where, reason)
            if problem not in problems:
                problems.append(problem)
        return problems
