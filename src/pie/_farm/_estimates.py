"""How long a job is expected to take: the mean host seconds of finished runs on the same
input, else of the same binary (0 when neither ran: the queue then orders by input size)."""

from __future__ import annotations

from pie._farm._queue import Job


class Estimates:
    """Mean host seconds of finished runs by input and by binary."""

    def __init__(self) -> None:
        self._sums: dict[str, tuple[float, int]] = {}

    def expected(self, job: Job) -> float:
        for key in (job.input_digest, job.binary_sha256):
            if key in self._sums:
                total, count = self._sums[key]
                return total / count
        return 0.0

    def record(self, job: Job, seconds: float) -> None:
        for key in (job.input_digest, job.binary_sha256):
            total, count = self._sums.get(key, (0.0, 0))
            self._sums[key] = (total + seconds, count + 1)
