"""``python -m pie``: the ``pie`` command."""

import sys

from pie.cli import main

sys.exit(main())
