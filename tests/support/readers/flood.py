"""Test reader that writes incompressible records forever (for backpressure tests)."""

import os
import sys

from das2packets import packet


def main():
    out = sys.stdout.buffer
    out.write(packet("00", '<stream version="2.2"><properties title="flood"/></stream>\n'))
    out.write(packet("01", '<packet><x type="little_endian_real8" units="us2000"></x>'
                           '<y type="little_endian_real8" name="v" units=""></y></packet>\n'))
    block = b"".join(b":01:" + os.urandom(16) for _ in range(4096))  # incompressible
    while True:
        out.write(block)


if __name__ == "__main__":
    main()
