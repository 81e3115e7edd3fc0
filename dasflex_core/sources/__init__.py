"""Data source definitions (DSDF and JSON) loaded into one model, and the catalog.

``model`` holds the dataclasses, ``dsdf`` and ``jsondef`` read the two
definition formats, ``loader.load_site`` walks a site directory and
``catalog`` builds everything clients fetch.  Import submodules directly.
"""
