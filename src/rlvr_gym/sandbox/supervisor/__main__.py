"""Entry point, run as a directory (``python3 -I /opt/rlvr/supervisor``) or as a module.

Run as a directory, ``__package__`` is empty and ``sys.path[0]`` is this directory, so
relative imports would fail: the parent directory goes first on ``sys.path`` and the
package is imported under its directory name. The path entry is removed again (see
``pyfork``, which rebuilds a program's ``sys.path``).
"""

from __future__ import annotations

import importlib
import os
import sys

if __package__:
    from .server import main
else:
    _here = os.path.abspath(sys.path[0])
    sys.path[0] = os.path.dirname(_here)
    main = importlib.import_module(os.path.basename(_here) + ".server").main

if __name__ == "__main__":
    sys.exit(main())
