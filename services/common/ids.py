"""Resource ids and names: `dataset_<milliseconds>_<random>` ids, `datasets/{id}` names (AIP-122)."""

from __future__ import annotations

import re
import secrets
import string
import time

from services.common.errors import InvalidArgument

_ALPHABET = string.ascii_lowercase + string.digits
MAX_ID_CHARS = 128
_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,%d}$" % (MAX_ID_CHARS - 1))


def new_id(prefix: str) -> str:
    """`<prefix>_<unix milliseconds>_<9 random lowercase chars>`, the guide's dataset id form."""
    rand = "".join(secrets.choice(_ALPHABET) for _ in range(9))
    return f"{prefix}_{int(time.time() * 1000)}_{rand}"


def parse_name(name: str, collection: str, field: str = "name") -> str:
    """The id in `<collection>/{id}`; a bare id is accepted too. Raises InvalidArgument naming the form
    and the request `field` it came from."""
    value = (name or "").strip()
    if value.startswith(collection + "/"):
        value = value[len(collection) + 1 :]
    if not _ID_RE.match(value):
        what = f"{field} {name!r}" if len(name) <= 80 else f"{field} ({len(name)} characters, starting {name[:40]!r})"
        raise InvalidArgument(
            f"{what} is not a valid resource name: expected '{collection}/{{id}}' with a lowercase id "
            f"(letters a-z, digits, '_' or '-', at most {MAX_ID_CHARS} characters)",
            reason="INVALID_NAME",
            metadata={"field": field, "name": name[:200]},
        )
    return value


def page_offset(page_token: str) -> int:
    """Our page tokens are opaque to clients but are an offset inside; a bad one is INVALID_ARGUMENT."""
    if not page_token:
        return 0
    try:
        offset = int(page_token, 36)
    except ValueError:
        offset = -1
    if offset < 0:
        raise InvalidArgument("page_token is not one this service issued; start again without it", reason="INVALID_PAGE_TOKEN")
    return offset


def next_page_token(offset: int, page_size: int, returned: int, total: int) -> str:
    end = offset + returned
    return _b36(end) if returned == page_size and end < total else ""


def _b36(n: int) -> str:
    digits = string.digits + string.ascii_lowercase
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def clamp_page_size(page_size: int, default: int = 50, maximum: int = 1000) -> int:
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative", reason="INVALID_PAGE_SIZE")
    return min(page_size or default, maximum)
