"""Disclosure control of public output: keyed noise on every published count, then small-cell suppression
(docs/privacy.md).

Every public number that counts children or items (a count, distinct or stock value, a duration's ``n``, a ratio's
numerator and denominator) gets an integer noise ``e`` added to its exact value before anything else happens. ``e``
is two-sided geometric (``P(e = k)`` proportional to ``ALPHA ** |k|``: 0 a third of the time, standard deviation 2)
and is not random at each request but derived from a keyed hash (HMAC-SHA256 under a secret) of the cell: its
quantity, its dimension values (group_by and filters together), its value and, for flows, its period. The same cell
therefore always shows the same public value (asking again teaches nothing), and the same level of a stock on
different days shows the same noise (averaging days teaches nothing). Then a cell whose noisy value is 0 or less is
not published (like an empty cell) and one below the suppression threshold keeps its ``suppressed`` marker with its
numbers hidden. Totals are noised from their own exact value, never summed from noised parts.

Why this and not rounding or secondary suppression: with primary suppression alone, a published total minus its
published parts is the hidden part. Secondary suppression must be planned over all tables at once, and the API's
tables are unbounded (every group_by, four period lengths, any date range and as_of). Rounding to multiples of 5 gives
every number a bounded interval, and bounded intervals pin cells: on a simulated region-year, rounding lets an
attacker who combines the tables recover hundreds of small cells exactly (a stock of 12 made of parts shown as 10 and
5, split again by instelling ...). Noise whose support is unbounded leaves every value possible whatever is
combined, so no linear combination of published cells determines a hidden one; tests/integration/test_disclosure.py
plays that attacker even with the largest noise actually used handed to it as a bound.

Durations: the median and the 90th percentile are order statistics of the items' own durations, not sums; they are
published only where the noisy ``n`` reaches the threshold. A ratio's value is computed from its noisy numerator and
denominator (an exact ratio next to a noisy denominator would give the numerator back).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jeugdstroom.common.settings import Settings

Row = dict[str, Any]

#: Ratio of P(|e| = k + 1) to P(|e| = k): 0.5 gives P(e = 0) = 1/3 and a standard deviation of 2.
ALPHA = 0.5
_P0 = (1 - ALPHA) / (1 + ALPHA)


def noise(secret: bytes, *parts: object) -> int:
    """The noise of a cell identified by ``parts``: two-sided geometric, from HMAC-SHA256(secret, parts)."""
    return _noise(_hmac_sha256(secret, "\x1f".join(map(str, parts)).encode()))


def _noise(digest: bytes) -> int:
    """The noise of an HMAC digest."""
    u1 = (int.from_bytes(digest[:8], "big") + 0.5) / 2**64
    if u1 < _P0:
        return 0
    u2 = (int.from_bytes(digest[8:16], "big") + 0.5) / 2**64
    magnitude = 1 + int(math.log(u2) / _LOG_ALPHA)
    return magnitude if digest[16] & 1 else -magnitude


_LOG_ALPHA = math.log(ALPHA)


@lru_cache(maxsize=16)
def _pads(secret: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 states after HMAC's inner and outer padded key (RFC 2104), made once per key."""
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key))


_BLOCK = 64  # SHA-256's block size


def _hmac_sha256(secret: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (``hmac.digest(secret, message, "sha256")``, the same bytes) from the padded key's states copied:
    the key is not padded and hashed again for every cell, nor the digest looked up by name."""
    inner, outer = _pads(secret)
    h, o = inner.copy(), outer.copy()
    h.update(message)
    o.update(h.digest())
    return o.digest()


def _dims(row: Row, filters: Mapping[str, str]) -> str:
    return noise_dims({**filters, **row["dims"]})


def noise_dims(dims: Mapping[str, str]) -> str:
    """The cell's dimension values (group_by and filters together) for the noise key. A gemeente determines its
    jeugdregio, so the jeugdregio is left out next to a gemeente: ``group_by=gemeente`` and
    ``group_by=gemeente,jeugdregio`` (or a jeugdregio filter) name the same cell and get the same noise (two noises
    of one value would narrow it). A caller that protects many rows of the same dims may compute it once and pass
    it to :func:`protect` as ``where``."""
    dims = dict(dims)
    if "gemeente" in dims:
        dims.pop("jeugdregio", None)
    return ";".join(f"{k}={v}" for k, v in sorted(dims.items()))


def protect(
    kind: str,
    quantity: tuple[str, str],
    stock: bool,
    row: Row,
    threshold: int,
    secret: bytes,
    filters: Mapping[str, str] | None = None,
    per: int = 1,
    where: str | None = None,
) -> Row:
    """The public version of an exact row. ``quantity`` names what the row's numbers count (a series, or a ratio's
    numerator and denominator parts); ``stock`` leaves the period out of the noise key (a level, not a flow). A row
    for which :func:`published` is false is not published. ``per``: a ratio's scale (×100, ×1000). ``where``: the
    row's :func:`noise_dims` with ``filters``, when the caller has it already."""
    if where is None:
        where = _dims(row, filters or {})
    # noise(secret, part, *when, where, value), the key's middle joined once for the row's parts
    middle = where if stock else "\x1f".join(map(str, (row["period"], row["start"], where)))

    def noisy(part: str, value: int) -> int:
        return max(0, value + _noise(_hmac_sha256(secret, f"{part}\x1f{middle}\x1f{value}".encode())))

    if kind in ("duration", "waiting"):
        n = noisy(quantity[0], int(row["n"]))
        if n == 0:
            return {**row, "value": None, "n": 0, "p90": None, "suppressed": False}
        if n < threshold:
            return {**row, "value": None, "n": None, "p90": None, "suppressed": True}
        return {**row, "n": n, "suppressed": False}
    if kind == "ratio":
        den = noisy(quantity[1], int(row["denominator"]))
        num = min(den, noisy(quantity[0], int(row["numerator"])))
        if den == 0:
            return {**row, "value": None, "numerator": 0, "denominator": 0, "suppressed": False}
        if den < threshold:
            return {**row, "value": None, "numerator": None, "denominator": None, "suppressed": True}
        return {**row, "value": round(num * per / den, 4), "numerator": num, "denominator": den, "suppressed": False}
    value = noisy(quantity[0], int(row["value"]))
    if 0 < value < threshold:
        return {**row, "value": None, "suppressed": True}
    return {**row, "value": value, "suppressed": False}


def published(kind: str, row: Row) -> bool:
    """Whether a public row is shown at all (rows whose noisy size is 0 are left out, like empty cells)."""
    if row.get("suppressed"):
        return True
    if kind in ("duration", "waiting"):
        return bool(row["n"])
    if kind == "ratio":
        return bool(row["denominator"])
    return bool(row["value"])


def noise_secret(settings: Settings) -> bytes:
    """The key of the public output's noise."""
    own, pk, op = settings.disclosure_key, settings.pseudonym_key, settings.operator_token
    base = own.get_secret_value() if own else pk.get_secret_value() if pk else None
    return secret_of(base, op.get_secret_value() if op else None)


def secret_of(pseudonym_key: str | None, operator_token: str | None) -> bytes:
    """The noise secret: derived from the pseudonym key (or, where a monitor has none, the operator token); public
    output cannot be computed without one (a known key would let anyone strip the noise)."""
    base = pseudonym_key or operator_token
    if not base:
        raise RuntimeError("public output needs JEUGDSTROOM_PSEUDONYM_KEY or JEUGDSTROOM_OPERATOR_TOKEN (noise key)")
    return hmac.new(base.encode(), b"jeugdstroom monitor disclosure noise v1", hashlib.sha256).digest()
