"""Landing from exports, as a flow lands (``conftest.land``: no dbt, no Prefect server):
a run reads only what changed after the watermark, less the overlap, and a full refresh
reads everything again."""

from ..conftest import FIXTURES, counts, land


def test_only_changes_after_the_watermark_are_read(make_config, credentials, tmp_path):
    exports = tmp_path / "exports"
    (exports / "operate").mkdir(parents=True)
    original = (FIXTURES / "operate" / "accounts.json").read_text()
    (exports / "operate" / "accounts.json").write_text(original)
    config = make_config(tmp_path, fixtures=exports)
    assert counts(land(config, "charge-import"))["operate.accounts"] == (4, 3, 3, 0, 1)

    later = original.replace(
        '"updated_at": "2026-11-04T09:10:00Z"', '"updated_at": "2026-11-20T09:10:00Z"'
    )
    later = later.replace('"Café Hot Desk"', '"Café Hot Desk (renamed)"')
    (exports / "operate" / "accounts.json").write_text(later)
    # Watermark 09:15 less 5 minutes overlap: 09:10 and 09:15 rows are read again, not 09:00.
    read, _, inserted, updated, _ = counts(land(config, "charge-import"))["operate.accounts"]
    assert (inserted, updated) == (0, 1)
    assert read < 4

    full = land(config, "charge-import", full_refresh=True)
    assert counts(full)["operate.accounts"] == (4, 3, 0, 0, 1)
