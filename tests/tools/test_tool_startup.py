"""A tool program answers --help and usage errors without loading its family.

Program modules (``dasflex_core/tools/das*.py``) hold the command line only;
the family (numpy, the codecs; for ``dasflex_fetch`` also the remote library
:mod:`dasflex_core.remote`) is imported when the tool runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dasflex_core.tools

#: The program modules (das2_csv is das3_csv under another name).
PROGRAMS = sorted(path.stem for path in Path(dasflex_core.tools.__file__).parent.glob("das*.py"))

PROBE = """
import contextlib, importlib, io, json, sys
statuses = {}
for program in sys.argv[1:]:
    module = importlib.import_module("dasflex_core.tools." + program)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            module.main(["--help"])
        except SystemExit as exit:
            statuses[program] = [exit.code]
        statuses[program].append(module.main(["--no-such-option"]))
heavy = [name for name in ("numpy", "matplotlib", "cdflib", "lxml", "pyarrow", "netCDF4")
         if name in sys.modules]
families = sorted({name.split(".")[2] for name in sys.modules
                   if name.startswith("dasflex_core.tools.") and "." in name[19:]}
                  | {name for name in sys.modules if name.startswith("dasflex_core.remote")})
print(json.dumps({"statuses": statuses, "heavy": heavy, "families": families}))
"""


def test_every_program_is_found() -> None:
    assert len(PROGRAMS) == 21 and "das2_bin_avgsec" in PROGRAMS and "das3_csv" in PROGRAMS
    assert "dasflex_fetch" in PROGRAMS and "das2_parquet" in PROGRAMS


def test_help_and_usage_errors_load_no_family_and_no_numpy() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, *PROGRAMS], capture_output=True,
                          text=True, check=True, timeout=120)
    found = json.loads(done.stdout)
    assert found["statuses"] == {program: [0, 2] for program in PROGRAMS}
    assert found["heavy"] == []
    assert found["families"] == []
