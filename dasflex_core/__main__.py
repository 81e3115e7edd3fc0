"""Allow ``python -m dasflex_core``."""

import sys

from dasflex_core.cli import main

sys.exit(main())
