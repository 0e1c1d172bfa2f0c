"""Former home of CaptionedShapes, kept so that existing imports keep working.

Everything here is re-exported from the ``fusionblocks.data.shapes`` package; import from there (or from
``fusionblocks.data``) in new code.
"""

from __future__ import annotations

from .shapes import *  # noqa: F401,F403
from .shapes import __all__  # noqa: F401
