"""The one rule for what a model id may be; the catalog, the jobs service and the trainer all check it here.

A model id is one of:
- a built-in model, `finetune-builtin/<name>` (built offline on first use);
- a model fine-tuned here, `finetune-models/<name>` (the job's `model_saving.model_name`, registered in the
  catalog when the job completes; the trainer that trained it resolves it to its merged model);
- a Hugging Face Hub id, `name` or `org/name`: ASCII letters, digits, '-', '_' and '.', at most 96
  characters, no '--' or '..', each part starting and ending with a letter or digit (the hub's rule).
  A model in the catalog's collection is named by the same ids;
- a local model directory, as an absolute path under one of the configured model roots
  (`FINETUNE_MODEL_ROOTS`: directories separated by ':'; empty, the default, allows no local paths).
  No `~` expansion and no `..` parts; the path is resolved (symbolic links too) before it is compared
  with the roots, so a link cannot lead out of one.

Anything else is INVALID_ARGUMENT naming the field: empty, longer than MAX_MODEL_ID_CHARS, control
characters, relative paths, `~user`. A refusal never depends on what exists on the server's disk, so a
caller learns nothing about its files or users.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from services.common.errors import InvalidArgument

MAX_MODEL_ID_CHARS = 512  # the catalog stores ids in a column of this size
MAX_HUB_ID_CHARS = 96
BUILTIN_NAMESPACE = "finetune-builtin"
FINE_TUNED_NAMESPACE = "finetune-models"
ROOTS_SETTING = "FINETUNE_MODEL_ROOTS"
_HUB_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_HUB_ID = re.compile(rf"^(?:{_HUB_PART}/)?{_HUB_PART}$")
HUB_ID_FORM = (
    f"'org/name' (letters, digits, '-', '_', '.', no '--' or '..', at most {MAX_HUB_ID_CHARS} characters)"
)

Kind = Literal["builtin", "fine_tuned", "hub_id", "local_path"]


@dataclass(frozen=True)
class ModelRef:
    """A checked model id: what kind it is, the id as given (stripped), and for a local path its directory."""

    kind: Kind
    id: str
    path: Path | None = None


def parse_roots(raw: str) -> tuple[Path, ...]:
    """`FINETUNE_MODEL_ROOTS` as resolved absolute directories; relative entries are refused."""
    roots = []
    for part in (p.strip() for p in raw.split(os.pathsep)):
        if not part:
            continue
        if not os.path.isabs(part):
            raise InvalidArgument(f"{ROOTS_SETTING} entry {part!r} must be an absolute directory", reason="BAD_SETTING")
        roots.append(Path(os.path.realpath(part)))
    return tuple(roots)


def model_roots(settings) -> tuple[Path, ...]:
    """The model roots of a service's settings (`model_roots`, from FINETUNE_MODEL_ROOTS)."""
    return parse_roots(settings.model_roots)


def parse_model_id(value: str, *, field: str, local_roots: Sequence[Path] | None) -> ModelRef:
    """`value` checked against the rule above. `local_roots`: the roots a local path must lie under, or None
    where this service does not read model files (the jobs service): then a local path is checked only for
    its form, and the services that load it check the roots."""
    model_id = value.strip() if isinstance(value, str) else ""
    if not model_id:
        raise _invalid(f"{field} must not be empty: give a hub id like 'org/name' or a built-in model id",
                       "EMPTY_MODEL_ID", field, "")
    if len(model_id) > MAX_MODEL_ID_CHARS:
        raise _invalid(f"{field} is {len(model_id)} characters long; a model id has at most {MAX_MODEL_ID_CHARS}",
                       "INVALID_MODEL_ID", field, model_id)
    if not model_id.isprintable():
        raise _invalid(f"{field} {model_id!r} contains control or unprintable characters", "INVALID_MODEL_ID",
                       field, model_id)
    if model_id.startswith("/"):
        return ModelRef("local_path", model_id, _local_dir(model_id, field, local_roots))
    if _HUB_ID.match(model_id) and len(model_id) <= MAX_HUB_ID_CHARS and "--" not in model_id and ".." not in model_id:
        kind: Kind = ("builtin" if model_id.startswith(BUILTIN_NAMESPACE + "/") else
                      "fine_tuned" if model_id.startswith(FINE_TUNED_NAMESPACE + "/") else "hub_id")
        return ModelRef(kind, model_id)
    hint = " (home directories ('~') are not expanded)" if model_id.startswith("~") else ""
    raise _invalid(f"{field} {model_id!r} is not a valid model id{hint}: use {HUB_ID_FORM}, a built-in model id, or "
                   "an absolute path under a configured model root", "INVALID_MODEL_ID", field, model_id)


def _local_dir(model_id: str, field: str, roots: Sequence[Path] | None) -> Path | None:
    if ".." in Path(model_id).parts:
        raise _invalid(f"{field} {model_id!r} must not contain '..'", "MODEL_PATH_NOT_ALLOWED", field, model_id)
    if roots is None:
        return None
    if not roots:
        raise _invalid(f"{field} {model_id!r} is a local path, and this server accepts none: use a hub or built-in "
                       f"model id, or have the operator set {ROOTS_SETTING}", "MODEL_PATH_NOT_ALLOWED", field, model_id)
    resolved = Path(os.path.realpath(model_id))
    if not any(resolved == root or root in resolved.parents for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise _invalid(f"{field} {model_id!r} is not under a model root; local model directories are accepted only "
                       f"under: {allowed}", "MODEL_PATH_NOT_ALLOWED", field, model_id)
    return resolved


def _invalid(message: str, reason: str, field: str, model_id: str) -> InvalidArgument:
    return InvalidArgument(message, reason=reason, metadata={"field": field, "model_id": model_id[:200]})


def fine_tuned_id(model_name: str) -> str:
    """The model id a job's `model_saving.model_name` is registered under."""
    return f"{FINE_TUNED_NAMESPACE}/{model_name}"


def fine_tuned_name(model_id: str) -> str | None:
    """`finetune-models/<name>` -> name; None for any other id."""
    prefix = FINE_TUNED_NAMESPACE + "/"
    return model_id[len(prefix):] if model_id.startswith(prefix) and len(model_id) > len(prefix) else None
