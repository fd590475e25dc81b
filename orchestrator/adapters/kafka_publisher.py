"""Publisher on aiokafka: enqueue a whole batch, then wait for every acknowledgement together."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from orchestrator.ports import Record


class KafkaPublisher:
    def __init__(self, bootstrap: str, linger_ms: int = 2, client_id: str = "orchestrator") -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            linger_ms=linger_ms,
            max_batch_size=1 << 20,
            max_request_size=4 << 20,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def __aenter__(self) -> KafkaPublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish(self, records: Sequence[Record]) -> None:
        if not records:
            return
        send = self._producer.send
        futures: list[Any] = [
            await send(r.topic, value=r.value, key=r.key, headers=list(r.headers) or None) for r in records
        ]
        await asyncio.gather(*futures)
