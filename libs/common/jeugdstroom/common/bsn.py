"""BSN (burgerservicenummer) validation and keyed pseudonymisation.

The BSN is the child's national identifier. It must never leave intake in clear text: intake
replaces it by ``pseudonymise(bsn, key)`` before anything is stored or published.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import operator
import random

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)
_ZERO_OFFSET = ord("0") * sum(_WEIGHTS)


def is_valid_bsn(value: str) -> bool:
    """True when ``value`` is 9 digits that pass the elfproef (9·d1 + 8·d2 + … + 2·d8 − d9 ≡ 0 mod 11)."""
    if len(value) != 9 or not value.isascii() or not value.isdigit():
        return False
    # the digits' ASCII codes weighted in C (no per-digit Python code), less the weighted codes of "0"
    total = sum(map(operator.mul, _WEIGHTS, value.encode("ascii"))) - _ZERO_OFFSET
    return total % 11 == 0 and value != "000000000"


def complete_bsn(first8: str) -> str | None:
    """The valid BSN that starts with these 8 digits (the elfproef fixes the 9th), or None if none exists."""
    rest = sum(w * int(d) for w, d in zip(_WEIGHTS, first8, strict=False)) % 11
    if rest >= 10 or set(first8) == {"0"}:
        return None
    return first8 + str(rest)


def random_bsn(rng: random.Random) -> str:
    """A random valid BSN (test data and simulations)."""
    while True:
        bsn = complete_bsn(f"{rng.randrange(10**8):08d}")
        if bsn is not None:
            return bsn


def pseudonymise(bsn: str, key: bytes) -> str:
    """The keyed pseudonym of a BSN: HMAC-SHA256 under ``key``, hex. Stable per key, not reversible without it."""
    if not key:
        raise ValueError("pseudonym key must not be empty")
    mac = _keyed_hmac(key).copy()  # = hmac.new(key, bsn, sha256) without preparing the key again for every BSN
    mac.update(bsn.encode("ascii"))
    return mac.hexdigest()


@functools.lru_cache(maxsize=4)
def _keyed_hmac(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)
