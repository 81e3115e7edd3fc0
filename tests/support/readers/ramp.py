"""Test reader: MODE BEGIN END [OPTIONS]; a das2 text stream, one record a minute.

Records start at BEGIN rounded down to the minute (so a range that does not
start on a minute gets one record before it, as many real readers do).  Mode
"late" fails after 5 records (30000 for ranges of a day or more); "fail"
fails at once, "empty" reports no data.
"""

import sys
import time
from datetime import datetime, timedelta

from das2packets import packet


def parse(text):
    return datetime.fromisoformat(text.rstrip("Z").replace(" ", "T"))


def main():
    mode, begin, end = sys.argv[1], parse(sys.argv[2]), parse(sys.argv[3])
    if mode == "fail":
        sys.stderr.write("cannot open /secret/path/data.dat\n")
        return 3
    out = sys.stdout.buffer
    out.write(packet("00", '<stream version="2.2"><properties title="ramp" '
                           'Datum:xTagWidth="1 min"/></stream>\n'))
    if mode == "empty" or begin >= end:
        out.write(packet("xx", '<exception type="NoDataInInterval" message="nothing" />\n'))
        return 0
    out.write(packet("01", '<packet><x type="time24" units="us2000"></x>'
                           '<y type="ascii10" name="value" units="V"></y></packet>\n'))
    moment, index = begin.replace(second=0, microsecond=0), 0
    fail_at = 5 if end - begin < timedelta(days=1) else 30000
    while moment < end:
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"
        out.write(b":01:" + stamp.encode() + b"%9.3f\n" % index)
        moment += timedelta(minutes=1)
        index += 1
        if mode == "late" and index == fail_at:
            out.flush()
            time.sleep(0.5)
            sys.stderr.write("disk error at /secret/path\n")
            return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
