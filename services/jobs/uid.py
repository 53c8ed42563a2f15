"""Configuration UIDs in the guide's form `[epochs][learning_rate][batch_size][lora_r][lora_alpha][mode]`.

Layout (26 characters, then an optional suffix):

    field          width  content                               example (the guide's defaults)
    epochs           4    epochs                                0003
    learning_rate    9    learning rate x 1e9 (nine decimals)   000200000   (2e-4)
    batch_size       4    batch size                            0008
    lora_r           4    LoRA rank                             0016
    lora_alpha       4    LoRA alpha x 10 (one decimal)         0320        (32.0)
    mode             1    `m` manual, `a` automated             m
    -> 0003000200000000800160320m

When any other training parameter differs from the trainer's default, `-` and a 10-character base-36
digest of those parameters follow (`...0320m-0k3j9x2a7q`). The same values and mode always give the same
UID; the first 26 characters decode back to the five values and the mode, the suffix names the rest
(stored with the saved configuration). Values are normalised to what the UID holds: the learning rate to
nine decimals, LoRA alpha to one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from services.common.errors import InvalidArgument
from services.common.hyperparameters import TrainingConfig

MODE_LETTERS = {"manual": "m", "automated": "a"}
MODES = tuple(MODE_LETTERS)
# (field, width, scale): the stored integer is round(value * scale).
LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("epochs", 4, 1),
    ("learning_rate", 9, 1_000_000_000),
    ("batch_size", 4, 1),
    ("lora_r", 4, 1),
    ("lora_alpha", 4, 10),
)
UID_FIELDS = tuple(name for name, _, _ in LAYOUT)
CORE_LENGTH = sum(width for _, width, _ in LAYOUT) + 1
DIGEST_LENGTH = 10
_UID_RE = re.compile(r"^(\d{4})(\d{9})(\d{4})(\d{4})(\d{4})([ma])(?:-([0-9a-z]{%d}))?$" % DIGEST_LENGTH)
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def defaults() -> dict[str, Any]:
    """The trainer's defaults: the one definition of what an unset parameter means."""
    return TrainingConfig().to_dict()


PARAMETERS: tuple[str, ...] = tuple(defaults())


def representable_range(field: str) -> tuple[float, float]:
    """The smallest and largest value the UID can hold for one of its five fields."""
    width, scale = next((w, s) for name, w, s in LAYOUT if name == field)
    return 1 / scale, (10**width - 1) / scale


def normalize(values: dict[str, Any]) -> dict[str, Any]:
    """Every parameter with its trainer type, defaults filled in, the UID's fields rounded to what the UID
    holds. Raises the trainer's InvalidArgument for an impossible value (validate first to get them all)."""
    full = TrainingConfig.from_dict({k: v for k, v in values.items() if k in PARAMETERS and v is not None}).to_dict()
    for name, _, scale in LAYOUT:
        if scale != 1:
            full[name] = round(full[name] * scale) / scale
    return full


def encode(values: dict[str, Any], mode: str = "manual") -> str:
    """The UID of a set of values (normalised first). InvalidArgument if a value does not fit its field."""
    full = normalize(values)
    if mode not in MODE_LETTERS:
        raise InvalidArgument(f"mode must be one of {', '.join(MODES)}, got {mode!r}", reason="INVALID_MODE")
    parts = []
    for name, width, scale in LAYOUT:
        number = round(full[name] * scale)
        if not 1 <= number < 10**width:
            low, high = representable_range(name)
            raise InvalidArgument(
                f"{name} {full[name]} cannot be stored in a configuration UID: it must be between {low:g} and {high:g}",
                reason="INVALID_HYPERPARAMETERS",
                metadata={"field": name},
            )
        parts.append(f"{number:0{width}d}")
    uid = "".join(parts) + MODE_LETTERS[mode]
    rest = _non_default_rest(full)
    return f"{uid}-{_digest(rest)}" if rest else uid


@dataclass(frozen=True)
class DecodedUid:
    values: dict[str, Any]  # the five UID fields
    mode: str
    digest: str  # "" when every other parameter is at its default

    @property
    def complete(self) -> bool:
        """True when the UID alone gives every value (no digest of other parameters)."""
        return not self.digest


def decode(uid: str) -> DecodedUid:
    """The five values and the mode a UID holds. InvalidArgument (reason INVALID_CONFIGURATION_UID) otherwise."""
    text = (uid or "").strip()
    match = _UID_RE.match(text)
    if not match:
        raise InvalidArgument(
            f"{uid!r} is not a configuration UID: expected 26 characters "
            "[epochs:4][learning_rate x 1e9:9][batch_size:4][lora_r:4][lora_alpha x 10:4][m|a], "
            f"optionally followed by '-' and {DIGEST_LENGTH} lowercase letters or digits",
            reason="INVALID_CONFIGURATION_UID",
            metadata={"uid": str(uid)},
        )
    values: dict[str, Any] = {}
    for (name, _, scale), digits in zip(LAYOUT, match.groups()[:5]):
        number = int(digits)
        if number == 0:
            raise InvalidArgument(f"configuration UID {uid!r} has {name} 0, which no configuration can have",
                                  reason="INVALID_CONFIGURATION_UID", metadata={"uid": uid, "field": name})
        values[name] = number if scale == 1 else number / scale
    mode = next(m for m, letter in MODE_LETTERS.items() if letter == match.group(6))
    return DecodedUid(values, mode, match.group(7) or "")


def _non_default_rest(full: dict[str, Any]) -> dict[str, Any]:
    base = defaults()
    return {k: full[k] for k in PARAMETERS if k not in UID_FIELDS and full.get(k) != base.get(k)}


def _digest(rest: dict[str, Any]) -> str:
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":"))
    number = int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big")
    out = ""
    for _ in range(DIGEST_LENGTH):
        number, r = divmod(number, 36)
        out = _BASE36[r] + out
    return out
