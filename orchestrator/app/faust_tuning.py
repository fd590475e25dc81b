"""Consumer settings Faust does not expose.

Faust's aiokafka driver builds its consumer with ``fetch_max_wait_ms=1500`` hard-coded. A broker that holds
a fetch until that deadline when a partition is quiet (Tansu, the embedded default, does) then adds up to
1.5 s to every hop an event takes. We wrap the driver's factory to set the wait from our settings.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

_FACTORY = faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer


def set_fetch_max_wait(ms: int) -> None:
    """Every worker consumer created from now on waits at most ``ms`` for a fetch to fill."""

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = _FACTORY(self, transport)
        consumer._fetch_max_wait_ms = ms  # read when the consumer starts its fetcher
        return consumer

    faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer = create_worker_consumer  # type: ignore[method-assign]
