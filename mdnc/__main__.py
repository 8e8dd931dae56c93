"""``python -m mdnc``: the ``mdnc`` command (also usable as ``torchrun -m mdnc train ...``)."""

import sys

from mdnc.cli import main

if __name__ == "__main__":
    sys.exit(main())
