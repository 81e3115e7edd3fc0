"""Front-end package (to be built)."""
