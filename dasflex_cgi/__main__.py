"""``python -m dasflex_cgi``: answer one CGI request."""

import sys

from dasflex_cgi import main

sys.exit(main())
