"""``python -m fusionblocks.cli ...``: same as the ``fusionblocks`` command."""

import sys

from . import main

sys.exit(main())
