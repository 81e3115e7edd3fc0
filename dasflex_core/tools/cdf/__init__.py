"""The CDF family: das2_cdf.

:mod:`.convert` feeds das2 events into a CDF file, :mod:`.istp` names the
ISTP variables and attributes, :mod:`.write` appends records in chunks.
"""
