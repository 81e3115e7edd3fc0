"""dasflex core: source definitions, planning, running, codecs and stream tools.

This package never imports a web framework.
"""

__version__ = "0.1.0"
