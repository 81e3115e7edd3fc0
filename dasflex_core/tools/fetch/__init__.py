"""The fetch family: ``dasflex_fetch`` (:mod:`.run`: one remote source onto stdout).

The remote servers' client, limits and protocols are the library
:mod:`dasflex_core.remote`; this family only runs one fetch as a stream tool.
"""
