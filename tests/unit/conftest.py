"""The unit layer, ``make test-fast``: no emulator, no dbt, no Prefect server. A test that
reaches for one fails at once, naming where it belongs, instead of slowing the layer."""

import pytest


@pytest.fixture(autouse=True)
def _pure(monkeypatch):
    from prefect.settings import temporary_settings

    def no_dbt(*args, **kwargs):
        raise AssertionError("unit tests run no dbt: this test belongs in tests/dbt or tests/flows")

    monkeypatch.setattr("crosswalk.dbt.build", no_dbt)
    # A flow or task run needs the Prefect API: without a URL and without a temporary
    # server it fails at once ("No Prefect API URL provided").
    with temporary_settings(updates={"api.url": None, "server.ephemeral.enabled": False}):
        yield


@pytest.fixture
def prefect_server():
    pytest.fail("unit tests run no Prefect server: this test belongs in tests/flows")


@pytest.fixture
def emulated():
    pytest.fail("unit tests run no emulator: this test belongs in tests/clients or tests/emulators")
