"""A job's secrets at rest: the hub token a job brings is stored with the job, encrypted (Fernet: AES-128-CBC
with an HMAC-SHA256), and erased when the job ends, so a restarted jobs service still pushes with the job's
own token and no secret outlives its job.

The key is the `FINETUNE_JOBS_SECRETS_KEY` setting (a Fernet key: 32 url-safe base64-encoded bytes, e.g. from
`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`); without it, one
is made on first use in `<data_dir>/jobs/secrets.key` (mode 0600). Jobs services sharing a database share the key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from services.common.errors import FailedPrecondition, InvalidArgument

KEY_FILE = Path("jobs") / "secrets.key"


class SecretUnreadable(FailedPrecondition):
    """A stored secret that this service's key did not seal."""


class SecretBox:
    def __init__(self, key: bytes):
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise InvalidArgument(f"FINETUNE_JOBS_SECRETS_KEY is not a Fernet key (32 url-safe base64-encoded bytes): {exc}",
                                  reason="BAD_SETTING") from None

    @classmethod
    def from_settings(cls, key: str, data_dir: Path) -> "SecretBox":
        return cls(key.encode() if key else _key_file(Path(data_dir) / KEY_FILE))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode() if secret else ""

    def open(self, sealed: str, what: str) -> str:
        """The secret; FailedPrecondition (reason SECRET_UNREADABLE) when this key did not seal it."""
        if not sealed:
            return ""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(f"{what} cannot be decrypted with this jobs service's key: it was stored under another "
                                     "FINETUNE_JOBS_SECRETS_KEY (or key file); set that key again, or create the job anew",
                                     reason="SECRET_UNREADABLE") from None


def _key_file(path: Path) -> bytes:
    """The key in `path`, made (0600) when there is none; two services starting at once agree on one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as f:
            f.write(Fernet.generate_key())
        try:
            os.link(partial, path)  # whole or not at all; the first one made wins
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    return path.read_bytes().strip()
