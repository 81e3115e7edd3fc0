"""Test reader: BEGIN END [OPTIONS]; one record a minute, value 7 with --seven, else 1."""

import sys
from datetime import datetime, timedelta

from das2packets import packet


def main():
    begin = datetime.fromisoformat(sys.argv[1].rstrip("Z"))
    end = datetime.fromisoformat(sys.argv[2].rstrip("Z"))
    value = 7 if "--seven" in sys.argv[3:] else 1
    out = sys.stdout.buffer
    out.write(packet("00", '<stream version="2.2"></stream>\n'))
    out.write(packet("01", '<packet><x type="time24" units="us2000"></x>'
                           '<y type="ascii10" name="value" units="V"></y></packet>\n'))
    moment = begin.replace(second=0, microsecond=0)
    while moment < end:
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z").encode()
        out.write(b":01:" + stamp + b"%9.3f\n" % value)
        moment += timedelta(minutes=1)


if __name__ == "__main__":
    main()
