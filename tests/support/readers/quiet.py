"""Test reader that writes nothing for 30 s (for first-byte timeouts)."""

import time

if __name__ == "__main__":
    time.sleep(30)
