"""Peak memory of this process and its children (dbt runs as a subprocess), sampled with psutil."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left, bisect_right

import psutil


def tree_rss(process: psutil.Process) -> int:
    """Resident set size of ``process`` plus all its live descendants, in bytes."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # exited between listing and reading: its memory is gone anyway
    return total


class RssSampler:
    """Samples the RSS of this process tree every ``interval`` seconds in a daemon thread.

    Samples are kept as (epoch seconds, bytes) so a stage's peak is the maximum over
    the samples taken between its start and end (``peak_between``).
    """

    def __init__(self, interval: float = 0.1, pid: int | None = None) -> None:
        self.interval = interval
        self.process = psutil.Process(pid)
        self.times: list[float] = []
        self.values: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        try:
            value = tree_rss(self.process)
        except psutil.Error:
            return
        self.times.append(time.time())
        self.values.append(value)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def peak_between(self, start: float, end: float) -> int | None:
        """Highest sample in [start, end]; the nearest sample when the span fell between two."""
        if not self.times:
            return None
        lo, hi = bisect_left(self.times, start), bisect_right(self.times, end)
        if lo < hi:
            return max(self.values[lo:hi])
        nearest = min(max(lo, 0), len(self.times) - 1)
        return self.values[nearest]

    @property
    def peak(self) -> int | None:
        return max(self.values) if self.values else None
