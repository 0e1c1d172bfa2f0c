"""``python -m fusionblocks ...`` runs the ``fusionblocks`` command (also under ``torchrun -m fusionblocks``)."""

import sys

from .cli import main

sys.exit(main())
