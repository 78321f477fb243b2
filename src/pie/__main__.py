"""``python -m pie``: the ``pie`` command."""

import sys

from pie.cli import command

sys.exit(command())
