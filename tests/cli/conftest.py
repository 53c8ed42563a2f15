"""Real gRPC services on port 0, on an event loop in a background thread, so that synchronous callers
(`CliRunner`, the SDK) can talk to them; and a runner for the `finetune` command."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finetune.channels import address_env
from finetune.cli.main import app
from tests.gateway.conftest import BackgroundLoop, Servers

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class BackgroundServices:
    """Services on the gateway tests' background loop (`tests.gateway.conftest`), remembered by name so that
    `env()` gives the FINETUNE_<SERVICE>_ADDRESS variables the CLI (and other services) read."""

    def __init__(self):
        self.loop = BackgroundLoop()
        self.servers = Servers(self.loop)
        self.addresses: dict[str, str] = {}

    def start(self, service: str, settings, build_server=None) -> str:
        """Builds `services.<service>.server` (or `build_server`) with `settings`, starts it, returns its address."""
        build_server = build_server or importlib.import_module(f"services.{service}.server").build_server
        _, self.addresses[service] = self.servers.start(build_server, settings)
        return self.addresses[service]

    def env(self) -> dict[str, str]:
        return {address_env(s): a for s, a in self.addresses.items()}

    def stop(self) -> None:
        self.servers.close()
        self.loop.close()


@pytest.fixture
def services():
    background = BackgroundServices()
    yield background
    background.stop()


@pytest.fixture
def catalog_env(tmp_path: Path) -> dict[str, str]:
    """An offline catalog that never touches the network or the user's Hugging Face cache."""
    return {
        "FINETUNE_CATALOG_OFFLINE": "1",
        "FINETUNE_CATALOG_HF_CACHE_DIR": str(tmp_path / "hf-cache"),
        "FINETUNE_CATALOG_BUILD_BUILTIN": "0",
    }


@pytest.fixture
def dataset_and_catalog(services, make_settings, catalog_env):
    services.start("dataset", make_settings("dataset"))
    services.start("catalog", make_settings("catalog", catalog_env))
    return services


@pytest.fixture
def jobs_without_trainer(dataset_and_catalog, make_settings):
    """The jobs service with no trainer to dispatch to: jobs it accepts stay queued."""
    services = dataset_and_catalog
    addresses = {f"{s}_address": a for s, a in services.addresses.items()}
    services.start("jobs", make_settings("jobs", {"FINETUNE_JOBS_POLL_INTERVAL_SECONDS": "0.5"}, trainer_address="127.0.0.1:9", **addresses))
    return services


@pytest.fixture
def platform(dataset_and_catalog, make_settings):
    """All four services, wired to each other: the demo's world."""
    services = dataset_and_catalog

    def settings(name: str, env: dict[str, str]):
        return make_settings(name, env, **{f"{s}_address": a for s, a in services.addresses.items()})

    # Few evaluation rows and tokens: the final BLEU evaluation dominates a 3-step run otherwise.
    trainer_env = {"FINETUNE_TRAINER_SAMPLE_GENERATIONS": "0", "FINETUNE_TRAINER_EVAL_ROWS": "2", "FINETUNE_TRAINER_EVAL_MAX_NEW_TOKENS": "4"}
    services.start("trainer", settings("trainer", trainer_env))
    services.start("jobs", settings("jobs", {"FINETUNE_JOBS_POLL_INTERVAL_SECONDS": "0.5"}))
    return services


@pytest.fixture
def finetune(services):
    """`finetune(*args)` runs the command in process with the started services' addresses in its environment."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str | None] | None = None):
        return runner.invoke(app, list(args), env={"COLUMNS": "200", "FINETUNE_API_TOKEN": None, **services.env(), **(env or {})})

    return invoke


def assert_clean_failure(result, phrase: str = "", code: int | None = None) -> None:
    """Failed with a one-line `error:` message, a non-zero exit, and no traceback."""
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "error: " in result.stderr, result.output
    assert phrase.lower() in result.stderr.lower(), result.stderr
