"""pie's benchmarks (``python -m bench.farm``, ``python bench/run.py``); not installed."""
