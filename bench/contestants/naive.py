"""The Faust agent a user would write first: one event at a time, every call awaited in turn.

Per event: GET the entity's state, SET the new one, XADD an audit entry, send one output event (to
``{prefix}.sink``). The consumer-group settings (commit interval, session) are the orchestrator's, so that the
difference measured is the shape of the processing, not the configuration.
Run by the harness: ``python -m bench.contestants.naive --bootstrap … --redis-url … --prefix … --group …``.
"""

from __future__ import annotations

from typing import Any, cast

import faust
from redis.asyncio import Redis

from bench.contestants.common import Args, audit_entry, next_state, output_event, parse, parse_args

AUDIT_MAXLEN = 1000


def create_app(args: Args) -> faust.App:
    app = faust.App(
        args.group, broker=[f"kafka://{h}" for h in args.bootstrap.split(",")], store="memory://",
        datadir=f"{args.data_dir}/{args.group}-data",
        autodiscover=False, web_enabled=False, topic_partitions=8, topic_replication_factor=1,
        consumer_auto_offset_reset="earliest", broker_commit_interval=0.5, broker_session_timeout=10.0,
        broker_rebalance_timeout=10.0, broker_heartbeat_interval=2.0,
    )
    events = app.topic(args.events_topic, value_serializer="raw", key_serializer="raw")
    sink = app.topic(args.sink_topic, value_serializer="raw", key_serializer="raw")

    @app.agent(events)
    async def handle(stream: Any) -> None:
        redis = Redis.from_url(args.redis_url)
        try:
            async for key, value in stream.items():
                event = parse(args.prefix, value)
                version, state = next_state(event, cast(bytes | None, await redis.get(event.state_key)))
                await redis.set(event.state_key, state)
                await redis.xadd(event.audit_key, {"r": audit_entry(event, version)}, maxlen=AUDIT_MAXLEN,
                                 approximate=True)
                await sink.send(key=key, value=output_event(event))
        finally:
            await redis.aclose()

    return app


def main() -> None:
    app = create_app(parse_args("the naive contestant: a first-try Faust agent"))
    worker = faust.Worker(app, loglevel="warn", redirect_stdouts=False, quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
