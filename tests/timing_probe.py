"""Print the ``qemu`` backend's counts of one binary on one test as JSON (one line).

``python -m tests.timing_probe BINARY INPUT EXPECTED CACHE_DIR``, with the checkout (and its
``src``) on ``PYTHONPATH``: run from another user, PID namespace, environment or temporary
directory to show that the counts do not change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import attrs

from pie._cache import ResultCache
from pie._model import Limits, TestCase
from tests.timing_support import qemu_backend


async def counts(binary: Path, given: Path, expected: Path, cache: Path) -> dict[str, object]:
    # a store of its own: every probe simulates, none reads another's result
    async with qemu_backend(cache, ResultCache(cache / "probe.sqlite"), slots=1) as backend:
        emulation_counts = await backend.count(binary, TestCase(0, given, expected), Limits())
    if isinstance(emulation_counts, str):
        return {"error": emulation_counts}
    return attrs.asdict(emulation_counts)


def main() -> None:
    binary, given, expected, cache = (Path(a) for a in sys.argv[1:5])
    print(json.dumps(anyio.run(counts, binary, given, expected, cache), sort_keys=True))


if __name__ == "__main__":
    main()
