"""crosswalk.toml: validation names the key; secrets are references, never values."""

from pathlib import Path

import pytest

from crosswalk.config import PROJECT_ROOT as PROJECT
from crosswalk.config import ConfigError, load_settings, parse_settings

MINIMAL = {
    "systems": {
        "operate": {"base_url": "http://127.0.0.1:8702/", "api_key": {"env": "OPERATE_KEY"}}
    }
}


def test_example_config_is_valid_and_resolves_every_secret(credentials):
    settings = load_settings(PROJECT / "crosswalk.example.toml")
    secrets = settings.resolve_secrets(["connectwise", "eautomate", "operate", "connect"])
    assert secrets["connectwise"]["private_key"].get_secret_value() == "demo-private"
    assert "demo-private" not in repr(secrets)  # never printed by accident
    assert settings.warehouse.path == (PROJECT / "data" / "warehouse.duckdb").resolve()


def test_unknown_key_is_named(tmp_path, make_config):
    path = make_config(tmp_path, warehouse='[warehouse]\npaht = "x.duckdb"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(path) in str(error.value)
    assert "warehouse.paht: unknown key" in str(error.value)


def test_every_bad_key_is_named_in_one_error():
    raw = {
        "systems": {
            "operate": {"base_url": "ftp://nowhere", "api_key": {"env": "K"}, "page_size": 5000}
        },
        "extract": {"overlap_minutes": "soon"},
        "warehouse": {"memory_limit": "lots"},
    }
    with pytest.raises(ConfigError) as error:
        parse_settings(raw)
    message = str(error.value)
    assert "systems.operate.base_url: not an http(s) URL: 'ftp://nowhere'" in message
    assert "systems.operate.page_size:" in message and "1000" in message
    assert "extract.overlap_minutes:" in message
    assert "warehouse.memory_limit:" in message


def test_field_owners_for_all_or_one_customer_and_a_wrong_one_is_named():
    def owners(value):
        raw = {**MINIMAL, "flows": {"customer_sync": {"field_owners": value}}}
        return parse_settings(raw).flows.customer_sync.field_owners

    assert owners({"website": "psa", "C1001": {"address": "erp"}}) == {
        "website": "psa", "C1001": {"address_line1": "erp", "address_line2": "erp"}}  # fmt: skip
    for value, named in (
        ({"webiste": "psa"}, "field_owners.webiste: not a field"),
        ({"website": {"phone": "psa"}}, "field_owners.website: a field's owner is erp or psa"),
        ({"website": "both"}, "flows.customer_sync.field_owners.website"),
    ):
        with pytest.raises(ConfigError, match=named):
            owners(value)


def test_missing_required_key_is_named():
    raw = {"systems": {"connect": {"base_url": "http://127.0.0.1:8703/"}}}
    with pytest.raises(ConfigError, match=r"systems\.connect\.api_key: required key is missing"):
        parse_settings(raw)


def test_secret_written_into_the_file_is_refused():
    raw = {"systems": {"operate": {"base_url": "http://h/", "api_key": "s3cr3t"}}}
    with pytest.raises(ConfigError) as error:
        parse_settings(raw)
    assert "systems.operate.api_key: give a reference" in str(error.value)
    assert "s3cr3t" not in str(error.value)


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ({"base_url": "https://api:Tr0ub4dor-3@cw.example.com/"}, "systems.operate.base_url"),
        ({"api_key": {"prefect_secret": "Tr0ub4dor-3 pasted"}}, "api_key.prefect_secret"),
    ],
)
def test_a_secret_in_a_url_or_a_block_name_is_refused_without_showing_it(section, where):
    raw = {"systems": {"operate": {**MINIMAL["systems"]["operate"], **section}}}
    with pytest.raises(ConfigError) as error:
        parse_settings(raw)
    assert where in str(error.value) and "not shown" in str(error.value)
    assert "Tr0ub4dor" not in str(error.value)


def test_a_secret_value_written_in_any_setting_is_refused_without_showing_it(tmp_path, monkeypatch):
    monkeypatch.setenv("OPERATE_KEY", "k3y-0f-the-operator")
    raw = {
        **MINIMAL,
        "report": {"recipients": ["ops@example.com"]},
        "flows": {"charge_import": {"reference_text": "calls k3y-0f-the-operator"}},
    }
    settings = parse_settings(raw, source=tmp_path / "crosswalk.toml")
    with pytest.raises(ConfigError) as error:
        settings.resolve_secrets(["operate"])
    message = str(error.value)
    assert "flows.charge_import.reference_text: holds the value of the secret " in message
    assert "systems.operate.api_key" in message and "k3y-0f" not in message
    monkeypatch.setenv("OPERATE_KEY", "another-key")
    assert settings.resolve_secrets(["operate"])["operate"]["api_key"].get_secret_value()


def test_secret_reference_needs_exactly_one_place():
    raw = {"systems": {"operate": {"base_url": "http://h/", "api_key": {}}}}
    with pytest.raises(ConfigError, match=r"api_key: set exactly one of 'env' or 'prefect_secret'"):
        parse_settings(raw)


def test_missing_secret_names_the_variable_and_the_key(monkeypatch):
    monkeypatch.delenv("OPERATE_KEY", raising=False)
    settings = parse_settings(MINIMAL)
    with pytest.raises(ConfigError) as error:
        settings.resolve_secrets(["operate"])
    assert str(error.value) == (
        "systems.operate.api_key: environment variable OPERATE_KEY is not set"
    )


def test_invalid_toml_names_file_and_line(tmp_path):
    path = tmp_path / "crosswalk.toml"
    path.write_text('[warehouse]\npath = "unterminated\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"crosswalk\.toml: not valid TOML: .*line 2"):
        load_settings(path)


def test_missing_file_says_how_to_name_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="CROSSWALK_CONFIG"):
        load_settings()


def test_config_path_from_environment_and_paths_relative_to_the_file(
    tmp_path, monkeypatch, make_config
):
    path = make_config(tmp_path)
    monkeypatch.setenv("CROSSWALK_CONFIG", str(path))
    monkeypatch.chdir(PROJECT)
    settings = load_settings()
    assert settings.source == path.resolve()
    assert settings.warehouse.path == (tmp_path / "warehouse.duckdb").resolve()


def test_warehouse_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSWALK_WAREHOUSE", str(tmp_path / "other.duckdb"))
    settings = parse_settings(MINIMAL, source=Path("crosswalk.toml"))
    assert settings.warehouse.path == (tmp_path / "other.duckdb").resolve()


def test_at_least_one_system():
    with pytest.raises(ConfigError, match=r"systems: .*configure at least one"):
        parse_settings({"systems": {}})


def test_a_flow_names_the_system_it_misses():
    settings = parse_settings(MINIMAL)
    with pytest.raises(ConfigError, match=r"systems\.connectwise: missing, and customer-sync"):
        settings.system("connectwise", "customer-sync")


def test_report_settings_and_recipients_per_flow(tmp_path, make_config):
    report = (
        '[report]\nmax_times = 2\noutbox = "mail/out"\nrecipients = ["ops@example.com"]\n'
        '[report.smtp]\nhost = "smtp.example.com"\ntls = "ssl"\nuser = "cw"\n'
        'password = { env = "SMTP_PASSWORD" }\nsender = "crosswalk <cw@example.com>"\n'
    )
    flow = '[flows.charge_import]\nrecipients = ["billing@example.com", "ar@example.com"]\n'
    settings = load_settings(make_config(tmp_path, report=report, **{"flows.charge_import": flow}))
    assert settings.report.max_times == 2
    assert settings.report.outbox == (tmp_path / "mail" / "out").resolve()
    assert settings.report.smtp.effective_port == 465
    assert settings.recipients("charge-import") == ["billing@example.com", "ar@example.com"]
    assert settings.recipients("customer-sync") == ["ops@example.com"]


def test_bad_report_settings_are_named():
    raw = {
        **MINIMAL,
        "report": {
            "max_times": 0,
            "recipients": ["ops@example.com", "not an address"],
            "smtp": {"host": "mail", "tls": "tls", "sender": "x", "user": "u", "passwrd": "p"},
        },
        "flows": {"service_sync": {"recipients": ["@nowhere"]}},
    }
    with pytest.raises(ConfigError) as error:
        parse_settings(raw)
    message = str(error.value)
    assert "report.max_times:" in message
    assert "report.recipients.1: not an e-mail address: 'not an address'" in message
    assert "report.smtp.tls:" in message and "starttls" in message
    assert "report.smtp.sender: not an e-mail address: 'x'" in message
    assert "report.smtp.passwrd: unknown key" in message
    assert "flows.service_sync.recipients.0: not an e-mail address: '@nowhere'" in message


def test_smtp_password_is_a_reference_and_needs_its_user():
    smtp = {"host": "mail", "sender": "cw@example.com", "user": "cw", "password": "hunter2"}
    with pytest.raises(ConfigError) as error:
        parse_settings({**MINIMAL, "report": {"smtp": smtp}})
    assert "report.smtp.password: give a reference" in str(error.value)
    assert "hunter2" not in str(error.value)
    lonely = {"host": "mail", "sender": "cw@example.com", "password": {"env": "P"}}
    with pytest.raises(ConfigError, match=r"report\.smtp: .*set both 'user' and 'password'"):
        parse_settings({**MINIMAL, "report": {"smtp": lonely}})


def test_missing_smtp_password_names_its_variable(monkeypatch):
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    smtp = {"host": "m", "sender": "a@b.c", "user": "u", "password": {"env": "SMTP_PASSWORD"}}
    settings = parse_settings({**MINIMAL, "report": {"smtp": smtp}})
    with pytest.raises(ConfigError, match=r"report\.smtp\.password: environment variable SMTP"):
        settings.smtp_password()


def test_the_example_reads_every_system_through_its_api():
    settings = load_settings(PROJECT / "crosswalk.example.toml")
    assert [name for name, system in settings.systems if system] == [
        "connectwise", "eautomate", "operate", "connect",
    ]  # fmt: skip
    assert settings.read_from_files() == {}


def test_config_check_names_every_missing_secret(config_file, monkeypatch):
    from typer.testing import CliRunner

    from crosswalk.cli import app

    for name in ("CROSSWALK_EA_PASSWORD", "CROSSWALK_CONNECT_KEY", "CROSSWALK_CW_PUBLIC_KEY"):
        monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config_file)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    for name in ("CROSSWALK_EA_PASSWORD", "CROSSWALK_CONNECT_KEY", "CROSSWALK_CW_PUBLIC_KEY"):
        assert f"{name} is not set" in output
    assert "CROSSWALK_CW_PRIVATE_KEY" not in output


def test_a_system_read_from_files_is_named_by_config_check_and_the_run_summary(config_file):
    from typer.testing import CliRunner

    from crosswalk.cli import app

    from ..conftest import FIXTURES, land

    result = CliRunner().invoke(app, ["config", "check", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    for system in ("connectwise", "eautomate", "operate"):
        assert f"{system} (read from files in {FIXTURES}, not its API)" in output
    assert "connect (read from files" not in output
    run = land(config_file, "customer-sync")
    assert run.notes == [
        f"connectwise read from files in {FIXTURES}, not from its API",
        f"eautomate read from files in {FIXTURES}, not from its API",
    ]
