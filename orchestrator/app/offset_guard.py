"""Read every offset: a fetch that jumps over offsets of a partition is read again from the first one missing.

A broker can hand a consumer records past a hole it has not filled yet: the embedded Tansu did, under two
producers on one partition (``python -m bench.broker_probe``), and a re-read from the first missing offset
returned the skipped records. Without this guard the worker would process the records after the hole,
commit past it, and an event would be lost without a trace.

Some gaps are real: a compacted topic, or a transaction's commit marker, leaves offsets no record has. So a
gap is read again once; if the re-read jumps over the same offsets, they are taken to be empty (and the
consumer logs it).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

P = TypeVar("P", bound=Hashable)


@dataclass
class Checked(Generic[P]):
    """A fetch with each partition's records up to its first gap, where to read the gapped ones again, and the
    gaps passed because a second read found them empty too (partition, first and last offset)."""

    records: dict[P, list[Any]] = field(default_factory=dict)
    read_again: dict[P, int] = field(default_factory=dict)
    passed: list[tuple[P, int, int]] = field(default_factory=list)


class OffsetGuard(Generic[P]):
    def __init__(self) -> None:
        self._next: dict[P, int] = {}  # the offset each partition's next record must have
        self._reread: dict[P, int] = {}  # a gap already read again, by where it starts

    def check(self, fetched: Mapping[P, Sequence[Any]]) -> Checked[P]:
        """Keep each partition's records in offset order up to a gap not read again yet; drop records below
        the next offset expected (they were processed)."""
        checked: Checked[P] = Checked()
        for partition, records in fetched.items():
            kept = checked.records[partition] = []
            expected = self._next.get(partition)
            for record in records:
                if expected is not None and record.offset < expected:
                    continue
                if expected is not None and record.offset > expected:
                    if self._reread.get(partition) != expected:
                        checked.read_again[partition] = expected
                        break
                    checked.passed.append((partition, expected, record.offset - 1))
                kept.append(record)
                expected = record.offset + 1
        return checked

    def processed(self, checked: Checked[P]) -> None:
        """Remember where each partition goes on, after its kept records were processed and committed."""
        for partition, records in checked.records.items():
            if records:
                self._next[partition] = records[-1].offset + 1
                self._reread.pop(partition, None)
        for partition, offset in checked.read_again.items():
            self._next[partition] = offset
            self._reread[partition] = offset

    def forget(self, partitions: Iterable[P]) -> None:
        """Partitions assigned or revoked: another worker may have moved them on, so expect nothing."""
        for partition in partitions:
            self._next.pop(partition, None)
            self._reread.pop(partition, None)
