"""A contestant's worker as its own process: started, sampled (CPU time, peak RSS), stopped.

CPU is user + system time of the process (psutil); peak RSS is the kernel's high-water mark (VmHWM) of the
process, read just before it is stopped, so that it covers everything it did."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import subprocess
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from bench.config import REPO
from orchestrator.adapters.servers import terminate

SAMPLE_S = 0.05


class WorkerProc:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._ps: psutil.Process | None = None
        self._times: list[float] = []
        self._cpu: list[float] = []
        self._sampler: asyncio.Task[None] | None = None
        self.peak_rss = 0

    def start(self) -> WorkerProc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(self.argv, env=self.env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)
        self._ps = psutil.Process(self._process.pid)
        self._sampler = asyncio.get_running_loop().create_task(self._sample())
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def cpu_now(self) -> float:
        """User + system CPU seconds so far."""
        assert self._ps is not None
        t = self._ps.cpu_times()
        return float(t.user + t.system)

    async def _sample(self) -> None:
        while self.running:
            with contextlib.suppress(psutil.Error):
                cpu = self.cpu_now()
                self._times.append(time.time())
                self._cpu.append(cpu)
                self.peak_rss = max(self.peak_rss, self._ps.memory_info().rss if self._ps else 0)
            await asyncio.sleep(SAMPLE_S)

    def cpu_at(self, when: float) -> float:
        """CPU seconds at wall-clock time ``when``, interpolated between samples."""
        i = bisect.bisect_left(self._times, when)
        if i <= 0:
            return self._cpu[0] if self._cpu else 0.0
        if i >= len(self._times):
            return self._cpu[-1]
        t0, t1, c0, c1 = self._times[i - 1], self._times[i], self._cpu[i - 1], self._cpu[i]
        return c0 + (c1 - c0) * ((when - t0) / (t1 - t0) if t1 > t0 else 0.0)

    def read_peak_rss(self) -> int:
        """The kernel's high-water mark of the process's resident set (Linux), else the sampled peak."""
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)
        return self.peak_rss

    def stop(self, timeout: float = 30.0) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            self.read_peak_rss()
            terminate(process, timeout)
        if self._sampler is not None:
            self._sampler.cancel()

    def lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.lines()[-n:]) or "(no output)"

    def json_logs(self, event: str) -> list[dict[str, object]]:
        out = []
        for line in self.lines():
            start = line.find("{")
            if start < 0:
                continue
            with contextlib.suppress(ValueError):
                record = json.loads(line[start:])
                if isinstance(record, dict) and record.get("event") == event:
                    out.append(record)
        return out
