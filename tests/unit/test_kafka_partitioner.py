"""The producers' partitioner: the same partition as aiokafka's default (Kafka's murmur2 of the key), so a key's
records stay on the partition every other Kafka client would choose."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from pydantic import SecretStr

from jeugdstroom.common.kafka import make_producer, murmur2, murmur2_many, partition_of
from jeugdstroom.common.settings import Settings


def test_murmur2_equals_aiokafka_for_every_tail_length() -> None:
    rng = random.Random(26)
    for length in range(0, 130):
        for _ in range(20):
            key = rng.randbytes(length)
            assert murmur2(key) == aiokafka_murmur2(key), key
    assert murmur2(b"ijw_in_zorg|month|2026-01-01|gemeente=GM0268") == aiokafka_murmur2(
        b"ijw_in_zorg|month|2026-01-01|gemeente=GM0268"
    )


def test_murmur2_many_equals_murmur2_key_by_key() -> None:
    """The lane-parallel hash (the relay's path) against the scalar one: every tail length, groups of one length
    and of one key, keys in any order, an empty key, the pseudonym keys of the changes topic."""
    rng = random.Random(126)
    keys = [rng.randbytes(rng.randint(0, 140)) for _ in range(3000)] + [b"", b"\xff" * 64]
    keys += [rng.randbytes(32).hex().encode() for _ in range(500)]
    rng.shuffle(keys)
    assert murmur2_many(keys) == [murmur2(k) for k in keys]
    assert murmur2_many([b"x"]) == [aiokafka_murmur2(b"x")]
    assert murmur2_many([]) == []


def test_partition_of_equals_the_default_partitioner() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        key = rng.randbytes(rng.randint(1, 100))
        partitions = list(range(rng.randint(1, 16)))
        assert partition_of(key, partitions, partitions) == DefaultPartitioner()(key, partitions, partitions)
    assert partition_of(None, [0, 1, 2], [1]) == 1  # no key: one of the available partitions, as aiokafka's


async def test_producers_use_it() -> None:
    producer = make_producer(Settings(operator_token=SecretStr("t")))
    assert producer._partitioner is partition_of
