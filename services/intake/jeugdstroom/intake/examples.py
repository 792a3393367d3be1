"""One valid example of each event type, for the OpenAPI documentation (checked by a unit test): each kind's own
(``contracts.kinds``) and the correctie's.

The BSN ``111222333`` passes the elfproef but is a documentation value, not a person."""

from __future__ import annotations

from typing import Any

from jeugdstroom.common.contracts import correctie
from jeugdstroom.common.contracts.kinds import KINDS

EXAMPLES: dict[str, dict[str, Any]] = {**{k.name: k.example for k in KINDS}, "correctie": correctie.EXAMPLE}
