"""das2 and das3 stream codecs."""
