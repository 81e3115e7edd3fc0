"""``python -m dasflex_ws [options]``: the same as ``dasflex ws [options]``."""

import sys

from dasflex_ws.ws_cmd import main

sys.exit(main())
