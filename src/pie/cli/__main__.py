"""``python -m pie.cli``: the ``pie`` command."""

import os
import sys

from pie.cli import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(main())
