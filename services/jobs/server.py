"""The jobs service's process: `python -m services.jobs.server` (port 50053 by default).

Service-specific settings (`FINETUNE_JOBS_<NAME>`): TRAINER_ADDRESSES (comma-separated `host:port`
list; default the trainer_address setting), MAX_ATTEMPTS (3), POLL_INTERVAL_SECONDS (2),
TRAINER_LOST_AFTER_SECONDS (60), TIMEOUT_GRACE_SECONDS (30), METRICS_INTERVAL_SECONDS (2),
SWEEP_POLL_SECONDS (5), RPC_TIMEOUT_SECONDS (30), SECRETS_KEY (the Fernet key that encrypts jobs' hub tokens
at rest; empty: a key file made in the data dir, see `services.jobs.secrets`).
"""

from __future__ import annotations

from finetune.jobs.v1 import jobs_service_pb2, jobs_service_pb2_grpc
from services.common.memory import machine_memory
from services.common.db import create_engine
from services.common.server import ServiceHost, create_host, run_service
from services.common.settings import ServiceSettings
from services.jobs.clients import DatasetLookup, GrpcDatasetLookup, GrpcModelChecker, ModelChecker
from services.jobs.ensembles import EnsembleManager
from services.jobs.registry import CatalogRegistry
from services.jobs.dispatcher import DispatchOptions, Dispatcher
from services.jobs.manager import JobManager
from services.jobs.secrets import SecretBox
from services.jobs.service import JobsServicer
from services.jobs.store import JobStore
from services.jobs.sweeps import SweepManager
from services.jobs.trainers import TrainerPool

SERVICE_NAME = jobs_service_pb2.DESCRIPTOR.services_by_name["JobsService"].full_name


def trainer_addresses(settings: ServiceSettings) -> list[str]:
    raw = settings.get("trainer_addresses", "", str)
    return [a.strip() for a in raw.split(",") if a.strip()] or [settings.trainer_address]


def build_server(settings: ServiceSettings, *, datasets: DatasetLookup | None = None,
                 models: ModelChecker | None = None) -> tuple[ServiceHost, int]:
    """The jobs server, not started: `await host.start()` creates the schema, picks up jobs and sweeps a
    previous process left, starts the queue, and turns SERVING. `datasets` / `models` replace the gRPC
    lookups of the dataset service and the catalog (tests)."""
    get = settings.get
    engine = create_engine(settings.effective_database_url)
    store = JobStore(engine)
    trainers = TrainerPool(trainer_addresses(settings), rpc_timeout=get("rpc_timeout_seconds", 30.0, float),
                           api_token=settings.api_token)
    secrets = SecretBox.from_settings(get("secrets_key", "", str), settings.data_dir)
    dispatcher = Dispatcher(store, trainers, secrets, DispatchOptions(
        poll_interval=get("poll_interval_seconds", 2.0, float),
        lost_after=get("trainer_lost_after_seconds", 60.0, float),
        timeout_grace=get("timeout_grace_seconds", 30.0, float),
        metrics_interval=get("metrics_interval_seconds", 2.0, float),
    ))
    dataset_client = GrpcDatasetLookup(settings.dataset_address, settings.api_token)
    catalog_client = GrpcModelChecker(settings.catalog_address, settings.api_token)
    registry = CatalogRegistry(settings.catalog_address, settings.api_token)
    dispatcher.final_hooks.append(registry.register)
    manager = JobManager(store, dispatcher, datasets=datasets or dataset_client, models=models or catalog_client,
                         memory=machine_memory, max_attempts=get("max_attempts", 3, int),
                         registry=registry.is_registered if models is None else None)
    sweeps = SweepManager(store, dispatcher, manager, settings.effective_database_url,
                          poll_interval=get("sweep_poll_seconds", 5.0, float))
    ensembles = EnsembleManager(store, manager, trainers, settings.dataset_address, settings.api_token)
    servicer = JobsServicer(store, manager, sweeps, ensembles)
    host = create_host(settings, [(jobs_service_pb2_grpc.add_JobsServiceServicer_to_server, servicer)], [SERVICE_NAME])

    async def start() -> None:
        await store.prepare()
        await dispatcher.start()
        await sweeps.start()

    async def stop() -> None:
        await sweeps.stop()
        await dispatcher.stop()
        await trainers.close()
        await dataset_client.close()
        await catalog_client.close()
        await registry.close()
        await ensembles.close()
        await engine.dispose()

    host.on_start.append(start)
    host.on_stop.append(stop)
    return host, host.port


def main() -> None:
    run_service("jobs", build_server)


if __name__ == "__main__":
    main()
