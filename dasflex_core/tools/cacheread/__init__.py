"""Reading pre-binned cache blocks (``das2_cache_rdr``).

:mod:`.levels` picks the cache level of a definition that answers a request
and checks the request; :mod:`.merge` streams the blocks that cover it as
one das2 stream.  The block layout is :mod:`dasflex_core.cache.layout`.
"""
