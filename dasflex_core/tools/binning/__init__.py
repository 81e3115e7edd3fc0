"""The binning family: das2_bin_avgsec, das2_bin_peakavgsec, das2_bin_avg,
das2_bin_ratesec and das2_histo.

:mod:`.core` bins arrays (numpy), :mod:`.stream` turns das2 events into the
binned stream, :mod:`.rate` and :mod:`.histo` count; :mod:`.props` and
:mod:`.units` are the das2C-style header and unit edits they share with
das2_psd and das2_hapi.
"""
