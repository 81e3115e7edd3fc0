"""The das2 <-> das3 stream converters (``das2_to_das3``, ``das3_to_das2``).

:mod:`.to_das3` up-converts, :mod:`.to_das2` down-converts (its
:class:`~.to_das2.AsDas2` also feeds das2_cdf and das2_png), :mod:`.wire`
holds the re-framing both share.
"""
