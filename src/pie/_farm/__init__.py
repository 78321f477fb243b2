"""The gem5 farm: remote gem5 hosts over SSH, one slot per gem5 process, every result cached.

- ``_config``: the farm YAML (hosts, slots, paths, budget, timeout, retries), validated before
  any work;
- ``_stats``: gem5 ``stats.txt`` parsing, strict about what a guest could forge;
- ``_hosts``: one SSH connection per host, uploads by content hash, one remote gem5 run;
- ``_outcome``: what a finished remote run means (simulated time or a typed failure), checked
  against gem5's exit report;
- ``_queue``: a job, and the queue a free slot takes the longest expected job from;
- ``_estimates``: expected host seconds of a job, from the runs that finished;
- ``_status``: per-host counts and the snapshot file ``pie farm status`` reads;
- ``_scheduler``: the farm: slots, shared runs, retries on other hosts, host health;
- ``_check``: whether every host is ready (``pie.check_farm``, ``pie farm check``).

The ``gem5`` timing backend on top of it is ``pie._timing._gem5``; ``pie farm check|status``
print ``pie.check_farm`` and ``pie.farm_status`` (``pie.cli._farm``).
"""

from pie._farm._config import FarmConfig, FarmConfigError, HostConfig, load_farm

__all__ = ["FarmConfig", "FarmConfigError", "HostConfig", "load_farm"]
