"""Test reader: INTERVAL BEGIN END; one record every INTERVAL seconds, its value the interval."""

import sys
from datetime import datetime, timedelta

from das2packets import packet


def main():
    step = float(sys.argv[1])
    begin = datetime.fromisoformat(sys.argv[2].rstrip("Z"))
    end = datetime.fromisoformat(sys.argv[3].rstrip("Z"))
    out = sys.stdout.buffer
    out.write(packet("00", '<stream version="2.2"></stream>\n'))
    out.write(packet("01", '<packet><x type="time24" units="us2000"></x>'
                           '<y type="ascii10" name="value" units="s"></y></packet>\n'))
    moment = begin
    while moment < end:
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z").encode()
        out.write(b":01:" + stamp + b"%9.3f\n" % step)
        moment += timedelta(seconds=step)


if __name__ == "__main__":
    main()
