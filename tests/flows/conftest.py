"""Fixtures of the flow modules that run on a small world of their own (seed 7), which their
tests change in order: a module names its world's folder (``WORLD``) and its warehouse's
(``FOLDER``), and gives ``configure(world, folder)``, its flow's configuration."""

import os

import pytest

from crosswalk.config import load_settings
from crosswalk.connectwise import ConnectWise
from crosswalk.eautomate import EAutomate
from emulators import serve

from ..conftest import seeded


@pytest.fixture(scope="module", autouse=True)
def dbt_as_flows_run():
    """dbt's unit tests check the models' code on fixture rows, and its data tests check
    what the models hold; tests/dbt runs every one of them, test_flows.py's twice-run test
    of each flow runs them inside the flow as a scheduled run does, and test_reliability.py
    runs the data tests in every flow's runs on the small world. Every other flow run of
    this layer leaves both out (more than half of each dbt build: 202 data tests beside 86
    models) and writes no dbt JSON artifacts or file log (no test reads them).
    Module-scoped: it holds for the runs a module's fixtures make as well."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test test")
        patch.setenv("DBT_WRITE_JSON", "false")
        patch.setenv("DBT_LOG_LEVEL_FILE", "none")
        yield


@pytest.fixture(scope="module")
def world(request, tmp_path_factory, prefect_server, small_world):
    os.environ.update(serve.CREDENTIALS)
    data = seeded(tmp_path_factory.mktemp(request.module.WORLD), small_world)
    with serve.start(data, seed=7, scale="small", port_base=0) as running:
        yield running


@pytest.fixture(scope="module")
def folder(request, tmp_path_factory):
    return tmp_path_factory.mktemp(request.module.FOLDER)


@pytest.fixture(scope="module")
def apis(request, world, folder):
    """The module's ConnectWise and e-automate clients, on its world."""
    settings = load_settings(request.module.configure(world, folder))
    secrets = settings.resolve_secrets(["connectwise", "eautomate"])
    return (
        ConnectWise.from_settings(settings.systems.connectwise, secrets["connectwise"]),
        EAutomate.from_settings(settings.systems.eautomate, secrets["eautomate"]),
    )
