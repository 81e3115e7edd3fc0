"""Test reader: BEGIN END; one binary das2 record per 10 s over [BEGIN, END).

It appends "start|end BEGIN UNIX-TIME PID" lines to builds.log in the site
(the parent of its folder), sleeps the seconds written in the site's "delay"
file, and fails (exit 3) for the hour named in its "fail" file.
"""

import os
import struct
import sys
import time
from datetime import datetime

from das2packets import packet

SITE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCH = datetime(2000, 1, 1)


def us2000(text):
    moment = datetime.fromisoformat(text.strip().rstrip("Z").replace(" ", "T"))
    return (moment - EPOCH).total_seconds() * 1e6


def setting(name, default=""):
    try:
        with open(os.path.join(SITE, name)) as handle:
            return handle.read().strip()
    except OSError:
        return default


def note(word, begin):
    line = f"{word} {begin} {time.time():.6f} {os.getpid()}\n".encode()
    descriptor = os.open(os.path.join(SITE, "builds.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(descriptor, line)
    os.close(descriptor)


def main():
    begin, end = sys.argv[1], sys.argv[2]
    note("start", begin)
    if setting("fail") and begin.startswith(setting("fail")):
        sys.stderr.write("tiny reader: cannot read /secret/path/data.dat\n")
        return 3
    time.sleep(float(setting("delay", "0") or 0))
    out = sys.stdout.buffer
    out.write(packet("00", '<stream version="2.2"><properties Datum:xTagWidth="10 s"/></stream>'))
    out.write(packet("01", '<packet><x type="little_endian_real8" units="us2000"/>'
                           '<y type="little_endian_real8" name="v" units=""/></packet>'))
    first, last = us2000(begin), us2000(end)
    step = 10e6
    count = max(0, int((last - first + step - 1) // step))
    records = b"".join(b":01:" + struct.pack("<dd", first + i * step,
                                             ((first + i * step) / step) % 97.0)
                       for i in range(count))
    out.write(records)
    out.flush()
    note("end", begin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
