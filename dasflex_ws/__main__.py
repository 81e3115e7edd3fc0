"""``python -m dasflex_ws [options]``: the same as ``dasflex ws [options]``."""

import sys

from dasflex_core.cli import main

sys.exit(main(["ws", *sys.argv[1:]]))
