"""Configuration UIDs: the guide's field order, deterministic, and decodable back to the values."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidArgument
from services.jobs import uid

GUIDE = {"learning_rate": 0.0002, "batch_size": 8, "epochs": 3, "lora_r": 16, "lora_alpha": 32}


def test_the_guides_values_give_a_readable_uid():
    assert uid.encode(GUIDE) == "0003000200000000800160320m"
    assert uid.encode(GUIDE, "automated") == "0003000200000000800160320a"
    assert len(uid.encode(GUIDE)) == uid.CORE_LENGTH == 26


@pytest.mark.parametrize("values,mode", [
    (GUIDE, "manual"),
    ({"epochs": 10, "learning_rate": 1.5e-5, "batch_size": 64, "lora_r": 8, "lora_alpha": 12.5}, "automated"),
    ({"epochs": 1, "learning_rate": 0.000123456789, "batch_size": 1, "lora_r": 1024, "lora_alpha": 999.9}, "manual"),
])
def test_round_trip(values, mode):
    code = uid.encode(values, mode)
    decoded = uid.decode(code)
    assert decoded.mode == mode and decoded.complete
    assert decoded.values == {k: uid.normalize(values)[k] for k in uid.UID_FIELDS}
    assert uid.encode(uid.normalize(values) | decoded.values, mode) == code


def test_same_values_same_uid_and_defaults_do_not_matter():
    assert uid.encode(GUIDE) == uid.encode(dict(GUIDE, weight_decay=0.01, optimizer="adamw"))  # the defaults
    assert uid.encode({"batch_size": 8.0, **{k: v for k, v in GUIDE.items() if k != "batch_size"}}) == uid.encode(GUIDE)


def test_other_parameters_add_a_stable_digest():
    a = uid.encode(dict(GUIDE, weight_decay=0.0, target_modules=["q_proj", "k_proj"]))
    b = uid.encode(dict(GUIDE, target_modules=["q_proj", "k_proj"], weight_decay=0))
    c = uid.encode(dict(GUIDE, weight_decay=0.1))
    assert a == b and a != c
    core, digest = a.split("-")
    assert core == uid.encode(GUIDE) and len(digest) == uid.DIGEST_LENGTH
    decoded = uid.decode(a)
    assert not decoded.complete and decoded.digest == digest and decoded.values["epochs"] == 3


def test_values_are_rounded_to_what_the_uid_holds():
    full = uid.normalize({"learning_rate": 0.00012345678949, "lora_alpha": 16.26})
    assert full["learning_rate"] == 0.000123457 and full["lora_alpha"] == 16.3


@pytest.mark.parametrize("bad", [
    "", "0003000200000000800160320", "0003000200000000800160320x", "00000005k0008000300100002s",  # the guide's sample
    "0000000200000000800160320m", "0003000200000000800160320m-short", "0003000200000000800160320M",
])
def test_malformed_uids_are_refused(bad):
    with pytest.raises(InvalidArgument) as err:
        uid.decode(bad)
    assert err.value.reason == "INVALID_CONFIGURATION_UID"


def test_values_a_uid_cannot_hold_are_refused():
    with pytest.raises(InvalidArgument, match="lora_alpha 1500.0 cannot be stored"):
        uid.encode(dict(GUIDE, lora_alpha=1500))
