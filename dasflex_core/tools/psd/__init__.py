"""The spectral family: das2_psd.

:mod:`.core` computes Hann-windowed power spectral densities, :mod:`.stream`
turns das2 events into the spectral stream, :mod:`.units` is its unit algebra.
"""
