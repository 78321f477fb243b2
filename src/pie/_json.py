"""JSON as pie writes it: strict RFC 8259, which has no NaN or Infinity.

Python's ``json`` writes ``Infinity`` and ``NaN`` by default; JavaScript, Go and Rust parsers
reject them.  A quantity that could not be measured is ``null`` (the producer says why beside
it, e.g. ``Timing.error``), as pandas writes PIE's files.
"""

from __future__ import annotations

import json
import math
from typing import Any


def plain(value: Any) -> Any:
    """``value`` with every non-finite float (inside dicts, lists, tuples) as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` of ``plain(value)``, refusing anything still not strict JSON."""
    return json.dumps(plain(value), allow_nan=False, **options)
