"""A small live demo feed for ``jeugdstroom up``: separatie episodes from one closed-care institution."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, date, datetime, timedelta

import httpx

log = logging.getLogger(__name__)

RIJK_VAN_NIJMEGEN = ("GM1945", "GM0209", "GM0225", "GM0252", "GM0944", "GM0268", "GM0296")
VORMEN = ("separeerruimte", "afzonderingsruimte", "eigen_kamer_op_slot", "leeggemaakte_kamer")


def random_bsn(rng: random.Random) -> str:
    """A random 9-digit number that passes the elfproef."""
    while True:
        digits = [rng.randrange(10) for _ in range(8)]
        rest = sum(w * d for w, d in zip(range(9, 1, -1), digits, strict=True)) % 11
        if rest < 10 and (digits[0] or rest):
            return "".join(map(str, [*digits, rest]))


async def feed(url: str, token: str, sender: str, rate: float = 2.0, seed: int = 7) -> None:
    """Post separatie events to intake forever (start and end as separate events)."""
    rng = random.Random(seed)
    children = [(random_bsn(rng), date(2008 + rng.randrange(8), 1 + rng.randrange(12), 1 + rng.randrange(28)),
                 rng.choice(RIJK_VAN_NIJMEGEN)) for _ in range(60)]
    n = 0
    async with httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=10) as client:
        while True:
            n += 1
            bsn, born, gemeente = rng.choice(children)
            start = datetime.now(UTC) - timedelta(days=rng.randrange(0, 300), minutes=rng.randrange(1440))
            end = start + timedelta(minutes=rng.randrange(10, 600))
            base = {"type": "separatie", "schema_version": 1, "sender": sender,
                    "child": {"bsn": bsn, "birth_date": born.isoformat(), "gemeente": gemeente}}
            data = {"separatie_id": f"demo-{seed}-{n}", "vorm": rng.choice(VORMEN), "start": start.isoformat()}
            batch = [
                {**base, "id": f"demo-{seed}-{n}-start", "occurred_at": start.isoformat(), "data": data},
                {**base, "id": f"demo-{seed}-{n}-end", "occurred_at": end.isoformat(),
                 "data": {**data, "end": end.isoformat()}},
            ]
            try:
                resp = await client.post("/v1/events", json=batch)
                if resp.status_code >= 300:
                    log.warning("demo feed: intake answered %s", resp.status_code)
            except httpx.HTTPError as exc:
                log.warning("demo feed: %s", type(exc).__name__)
            await asyncio.sleep(1.0 / rate)
