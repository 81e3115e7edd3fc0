"""The plotting family: das2_png.

:mod:`.builder` bins das2 events into panels, :mod:`.bins` holds the
one-column-per-pixel bins, :mod:`.plot` renders the PNG (matplotlib).
"""
