"""The HAPI family: das2_hapi (:mod:`.stream`: HAPI CSV rows and the HAPI 1.1 info header)."""
