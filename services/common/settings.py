"""Typed settings for every service, built from an environment mapping that tests pass in."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, TypeVar, get_type_hints

from services.common.errors import InvalidArgument

DEFAULT_PORTS = {"dataset": 50051, "catalog": 50052, "jobs": 50053, "trainer": 50054}
GATEWAY_PORTS = (8000, 8001, 3000)  # the guide's main API, training API and dashboard addresses: one app on all three
MB = 1024 * 1024


@dataclass(frozen=True)
class ServiceSettings:
    """What every gRPC service needs. Each field reads `FINETUNE_<SERVICE>_<FIELD>` then `FINETUNE_<FIELD>`."""

    service: str
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: sqlite+aiosqlite under data_dir, one file per service
    host: str = "127.0.0.1"
    port: int = 0
    max_message_bytes: int = 8 * MB
    grace_seconds: float = 5.0
    log_level: str = "INFO"
    api_token: str = ""  # empty: no authentication
    model_roots: str = ""  # directories local model paths may lie under, ':'-separated (services.common.model_ids)
    # Where the other services listen; used by services that call each other.
    dataset_address: str = f"127.0.0.1:{DEFAULT_PORTS['dataset']}"
    catalog_address: str = f"127.0.0.1:{DEFAULT_PORTS['catalog']}"
    jobs_address: str = f"127.0.0.1:{DEFAULT_PORTS['jobs']}"
    trainer_address: str = f"127.0.0.1:{DEFAULT_PORTS['trainer']}"
    extra: Mapping[str, str] = field(default_factory=dict)  # service-specific raw values

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service}.db').resolve()}"

    def get(self, key: str, default: Any, cast=str) -> Any:
        """A service-specific setting, typed by `cast`; a bad value names the variable to fix."""
        raw = self.extra.get(key)
        if raw is None:
            return default
        return _cast(f"FINETUNE_{self.service.upper()}_{key.upper()}", raw, cast)


T = TypeVar("T", bound=ServiceSettings)


def _cast(name: str, raw: str, cast) -> Any:
    try:
        if cast is bool:
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        return cast(raw)
    except (TypeError, ValueError):
        raise InvalidArgument(f"Setting {name}={raw!r} is not a valid {getattr(cast, '__name__', cast)}", reason="BAD_SETTING")


def load_settings(service: str, env: Mapping[str, str] | None = None, cls: type[T] = ServiceSettings, **overrides) -> T:
    """Settings for `service` from `env` (default: os.environ), then keyword overrides."""
    env = os.environ if env is None else env
    hints = get_type_hints(cls)
    values: dict[str, Any] = {"service": service}
    prefix = f"FINETUNE_{service.upper()}_"
    for f in dataclasses.fields(cls):
        if f.name in ("service", "extra"):
            continue
        for name in (prefix + f.name.upper(), "FINETUNE_" + f.name.upper()):
            if name in env:
                typ = hints[f.name]
                cast = Path if typ is Path else typ if typ in (int, float, bool) else str
                values[f.name] = _cast(name, env[name], cast)
                break
    if "port" not in values:
        values["port"] = DEFAULT_PORTS.get(service, 0)
    values["extra"] = {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix)}
    values.update(overrides)
    return cls(**values)
