"""The CDF data type codes the cdf family writes (numbers from the CDF specification).

Kept apart from :mod:`dasflex_core.tools.cdf.write` so the ISTP attribute rules
(which the png family reads for time units) never load cdflib.
"""

CDF_INT8 = 8
CDF_FLOAT = 44
CDF_DOUBLE = 45
CDF_TIME_TT2000 = 33
