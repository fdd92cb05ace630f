"""A secret in crosswalk.toml named by a Prefect Secret block, resolved through the Prefect
API (the session's temporary server)."""

import pytest

from crosswalk.config import ConfigError


@pytest.mark.flow
def test_prefect_secret_block_reference(prefect_server):
    from prefect.blocks.system import Secret

    from crosswalk.config import SecretRef

    Secret(value="from-the-block").save("crosswalk-test-key", overwrite=True)
    ref = SecretRef(prefect_secret="crosswalk-test-key")
    assert ref.resolve("systems.operate.api_key").get_secret_value() == "from-the-block"
    missing = SecretRef(prefect_secret="no-such-block")
    with pytest.raises(
        ConfigError,
        match=r"systems\.operate\.api_key: Prefect Secret block 'no-such-block' not found",
    ):
        missing.resolve("systems.operate.api_key")
