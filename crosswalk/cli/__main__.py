"""``python -m crosswalk.cli``: the ``crosswalk`` command."""

from crosswalk.cli import app

app(prog_name="crosswalk")
