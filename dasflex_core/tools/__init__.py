"""Stream tools: drop-in Python versions of the das2C command line programs.

Each program is a thin module here (``das2_ascii``, ``das2_bin_avgsec``, ...):
its command line and a call into its family, which the program imports only
when it runs (so ``--help`` and usage errors answer at once):

* :mod:`.binning`: time and x binning, rates, histograms (das2_bin_*, das2_histo);
* :mod:`.psd`: power spectral densities (das2_psd);
* :mod:`.text`: das2 text, das3 text and CSV output (das2_ascii, das3_text, das3_csv);
* :mod:`.convert`: das2 <-> das3 (das2_to_das3, das3_to_das2);
* :mod:`.hapi`: HAPI CSV and info (das2_hapi);
* :mod:`.cdf`: ISTP CDF files (das2_cdf);
* :mod:`.png`: quick-look plots (das2_png);
* :mod:`.cacheread`: reading pre-binned cache blocks (das2_cache_rdr).

Shared by all: :mod:`.program` (the command line and exit status, light) and
:mod:`.streamio` (input, output and run loops); the event dispatch is
:class:`dasflex_core.codecs.events.EventStream`.
"""
