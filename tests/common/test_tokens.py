"""The one Bearer check of the gateway and the gRPC servers."""

import pytest

from services.common.tokens import bearer_matches


@pytest.mark.parametrize(("header", "ok"), [
    ("Bearer s3cret", True), ("bearer s3cret", True), (b"BEARER  s3cret ", True),
    ("Bearer s3cre", False), ("Bearer s3cretx", False), ("Basic s3cret", False), ("s3cret", False), ("", False),
    ("Bearer", False), ("Bearer \u00e9", False),
])
def test_bearer_matches(header, ok):
    assert bearer_matches(header, "s3cret") is ok


def test_no_token_configured_matches_nothing():
    assert not bearer_matches("Bearer ", "") and not bearer_matches("", "")
