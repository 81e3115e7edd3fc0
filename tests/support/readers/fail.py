"""Test reader that fails before writing anything (exit 3, a path on stderr)."""

import sys

if __name__ == "__main__":
    sys.stderr.write("cannot open /secret/path/data.dat\n")
    sys.exit(3)
