"""``python -m pie.cli``: the ``pie`` command."""

import os
import sys

from pie.cli import command

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(command())
