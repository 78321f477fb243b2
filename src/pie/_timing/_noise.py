"""Host settings that make wall-clock timings noisy, read once per call (for doctor and results)."""

from __future__ import annotations

import os
from pathlib import Path

import psutil


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return "unknown"


def facts() -> dict[str, str]:
    """What a reader of a wall-clock number needs to judge it."""
    thp = _read("/sys/kernel/mm/transparent_hugepage/enabled")
    chosen = thp[thp.find("[") + 1 : thp.find("]")] if "[" in thp else thp
    no_turbo = _read("/sys/devices/system/cpu/intel_pstate/no_turbo")
    boost = _read("/sys/devices/system/cpu/cpufreq/boost")
    if no_turbo == "1" or boost == "0":
        turbo = "off"
    elif no_turbo == "0" or boost == "1":
        turbo = "on"
    else:
        turbo = "unknown"
    aslr = _read("/proc/sys/kernel/randomize_va_space")
    return {
        "aslr": {"0": "off", "1": "partial", "2": "on"}.get(aslr, aslr),
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "turbo": turbo,
        "smt": {"1": "on", "0": "off"}.get(_read("/sys/devices/system/cpu/smt/active"), "unknown"),
        "thp": chosen,
        "swap": "on" if psutil.swap_memory().total else "off",
        "load": f"{os.getloadavg()[0]:.2f}",
    }


# Settings of the host, part of a wall timing's config; the load average is left out because it
# changes from one minute to the next and two timings taken minutes apart must still compare.
TRANSIENT = ("load",)


def summary() -> str:
    return ",".join(f"{key}={value}" for key, value in facts().items() if key not in TRANSIENT)
