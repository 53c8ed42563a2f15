"""The API token check, one for the gateway and every gRPC server: `Authorization: Bearer <token>`."""

from __future__ import annotations

import hmac


def bearer_matches(header: str | bytes, token: str) -> bool:
    """True when `header` carries `token` in the Bearer scheme. The scheme name is case-insensitive
    (RFC 9110, section 11.1: `bearer x` is `Bearer x`); the token is compared in constant time, so how
    long a wrong guess takes says nothing about how much of it was right."""
    raw = header if isinstance(header, bytes) else header.encode("utf-8", "replace")
    scheme, _, given = raw.strip().partition(b" ")
    return bool(token) and scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), token.encode("utf-8"))
