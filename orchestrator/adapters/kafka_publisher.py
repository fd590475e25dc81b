"""Publisher on aiokafka: enqueue a whole batch, then wait for every acknowledgement together."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from orchestrator.ports import Record


class KafkaPublisher:
    def __init__(self, bootstrap: str, linger_ms: int = 2, client_id: str = "orchestrator") -> None:
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "client_id": client_id,
            "acks": "all",
            "linger_ms": linger_ms,
            "max_batch_size": 1 << 20,
            "max_request_size": 4 << 20,
        }
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect; the producer is made here because aiokafka binds it to the running loop."""
        self._producer = AIOKafkaProducer(**self._options)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def __aenter__(self) -> KafkaPublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish(self, records: Sequence[Record]) -> None:
        if not records:
            return
        if self._producer is None:
            raise RuntimeError("KafkaPublisher.publish before start()")
        send = self._producer.send
        futures: list[Any] = [
            await send(r.topic, value=r.value, key=r.key, headers=list(r.headers) or None) for r in records
        ]
        await asyncio.gather(*futures)
