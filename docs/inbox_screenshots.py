"""Takes the screenshots of the operators' inbox in docs/ (docs/inbox-*.png), with the
system's headless Chromium, of the inbox served over a warehouse the demo built.

    make demo   # or: .venv/bin/crosswalk demo --scale small --data data/demo
    .venv/bin/python docs/inbox_screenshots.py --config data/demo/crosswalk.toml

The warehouse is copied first, and one conflict is raised on the copy when the demo left
none (a demo's first run has nothing to disagree on yet), so the Conflicts page shows what
an operator settles.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from crosswalk import decisions
from crosswalk.config import load_settings
from crosswalk.inbox import make_server
from crosswalk.warehouse import Warehouse

HERE = Path(__file__).resolve().parent
PAGES = {
    "today": "/",
    "conflicts": "/conflicts",
    "suggestions": "/suggestions",
    "links": "/links",
    "waiting": "/waiting",
}


def with_a_conflict(warehouse: Warehouse) -> None:
    """A conflict on the phone and the city of the first linked customer, unless one waits."""
    with warehouse.transaction() as con:
        (waiting,) = con.execute(
            "SELECT count(*) FROM sync.conflicts WHERE settled_at IS NULL"
        ).fetchone()
        if waiting:
            return
        pair = con.execute(
            "SELECT f.customer_number, f.target_key, f.field, f.erp_value, f.psa_value "
            "FROM marts.customer_field_sync AS f WHERE f.link_kind = 'customer' "
            "AND f.field IN ('phone', 'city') AND f.erp_value IS NOT NULL ORDER BY 1, 3 LIMIT 2"
        ).fetchall()
        agreed = {"phone": "(941) 555-0100", "city": "Venice"}
        changed = {"phone": "(941) 555-0199", "city": "North Port"}
        for number, target, field, erp, _ in pair:
            decisions.raise_conflict(
                con, kind="customer", source_key=number, target_key=target, field=field,
                base_value=agreed[field], erp_value=erp, psa_value=changed[field],
                run_id="screenshots",
            )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("data/demo/crosswalk.toml"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    settings = load_settings(args.config)
    with tempfile.TemporaryDirectory(prefix="inbox-shots-") as folder:
        copy = Path(folder) / "warehouse.duckdb"
        shutil.copy(settings.warehouse.path, copy)
        with_a_conflict(Warehouse(copy))
        copied = settings.model_copy(
            update={"warehouse": settings.warehouse.model_copy(update={"path": copy})}
        )
        server = make_server(copied, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            for name, path in PAGES.items():
                target = args.out / f"inbox-{name}.png"
                subprocess.run(
                    [args.chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                     "--hide-scrollbars", "--window-size=1280,1000",
                     f"--screenshot={target}", f"http://127.0.0.1:{server.server_port}{path}"],
                    check=True, capture_output=True, timeout=120,
                )  # fmt: skip
                print(target)
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
