"""After `make demo`: the summary says how to call crosswalk when it is not on the PATH."""

import sys
from pathlib import Path

from crosswalk.cli.runs import _command
from crosswalk.config import PROJECT_ROOT


def test_the_demo_names_crosswalk_by_its_path_when_the_path_lacks_it(monkeypatch, tmp_path):
    monkeypatch.chdir(PROJECT_ROOT)
    bin_dir = Path(sys.executable).parent
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert _command() == str((bin_dir / "crosswalk").absolute().relative_to(PROJECT_ROOT))
    monkeypatch.chdir(tmp_path)
    assert _command() == str(bin_dir / "crosswalk")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert _command() == "crosswalk"
