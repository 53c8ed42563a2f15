"""The jobs service's secrets at rest: sealed with a key from the settings or a 0600 key file made once."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidArgument
from services.jobs.secrets import SecretBox, SecretUnreadable


def test_the_key_file_is_made_once_and_opens_what_it_sealed(tmp_path):
    first, second = SecretBox.from_settings("", tmp_path), SecretBox.from_settings("", tmp_path)
    sealed = first.seal("hf_secret")
    assert "hf_secret" not in sealed and second.open(sealed, "the token") == "hf_secret"
    assert first.seal("") == "" and first.open("", "the token") == ""
    assert (tmp_path / "jobs" / "secrets.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(SecretUnreadable, match="the token cannot be decrypted"):
        SecretBox.from_settings("", tmp_path / "elsewhere").open(sealed, "the token")


def test_a_bad_key_setting_names_the_setting(tmp_path):
    with pytest.raises(InvalidArgument, match="FINETUNE_JOBS_SECRETS_KEY") as err:
        SecretBox.from_settings("not a key", tmp_path)
    assert err.value.reason == "BAD_SETTING"
