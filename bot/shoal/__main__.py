"""``python -m shoal``: the same as the ``shoal`` console script."""

from __future__ import annotations

import sys

from shoal.cli import main

if __name__ == "__main__":
    sys.exit(main())
