"""The catalog service's process: `python -m services.catalog.server` (port 50052 by default).

Catalog settings (`FINETUNE_CATALOG_<KEY>`): HUB_ENDPOINT (default: the real hub), HUB_TOKEN,
OFFLINE (also honoured: HF_HUB_OFFLINE), HUB_TIMEOUT_S (3), HF_CACHE_DIR (default: the
huggingface_hub cache), BUILD_BUILTIN (1: build the tiny built-in model at start so it is ready),
TRAINER_ADDRESSES (more trainers, comma-separated, besides TRAINER_ADDRESS, whose fine-tuned models' files
it may delete), BUILD_PRETRAINED (0; `make run` sets 1: after the start, pretrain the demo's built-in model in the background if
this machine has not yet, about a minute of one core, so that the first job or check that names it does not wait).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from finetune.catalog.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from services.catalog.builtin_models import PRETRAINED_MODEL_ID, TINY_MODEL_ID, ensure_builtin_model
from services.catalog.hub import HubClient
from services.catalog.saved_models import SavedModelFiles
from services.catalog.service import CatalogServicer
from services.catalog.store import CollectionStore
from services.common.db import create_engine
from services.common.job_users import JobsUsers
from services.common.model_ids import model_roots
from services.common.server import ServiceHost, create_host, run_service
from services.common.settings import ServiceSettings

log = logging.getLogger("finetune.catalog")
SERVICE_NAME = catalog_service_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name


def default_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def build_server(settings: ServiceSettings) -> tuple[ServiceHost, int]:
    engine = create_engine(settings.effective_database_url)
    store = CollectionStore(engine)
    cache_dir = Path(settings.get("hf_cache_dir", "", str) or default_cache_dir())
    hub = HubClient(
        endpoint=settings.get("hub_endpoint", "", str) or None,
        token=settings.get("hub_token", "", str) or None,
        offline=settings.get("offline", False, bool),
        timeout_s=settings.get("hub_timeout_s", 3.0, float),
        cache_dir=cache_dir,
    )
    job_users = JobsUsers(settings.jobs_address, settings.api_token, "FINETUNE_CATALOG_JOBS_ADDRESS") if settings.jobs_address else None
    trainers = [settings.trainer_address] + [a.strip() for a in settings.get("trainer_addresses", "", str).split(",") if a.strip()]
    saved_models = SavedModelFiles(trainers, settings.api_token)
    servicer = CatalogServicer(store, hub, data_dir=settings.data_dir, cache_dir=cache_dir, model_roots=model_roots(settings),
                               job_users=job_users, saved_models=saved_models)
    host = create_host(settings, [(catalog_service_pb2_grpc.add_CatalogServiceServicer_to_server, servicer)], [SERVICE_NAME])
    host.on_start.append(store.prepare)
    if settings.get("build_builtin", True, bool):

        async def build_tiny_model() -> None:
            await asyncio.to_thread(ensure_builtin_model, settings.data_dir, TINY_MODEL_ID)

        host.on_start.append(build_tiny_model)
    if settings.get("build_pretrained", False, bool):
        background: set[asyncio.Task] = set()

        async def build_pretrained_model() -> None:
            async def build() -> None:
                try:
                    await asyncio.to_thread(ensure_builtin_model, settings.data_dir, PRETRAINED_MODEL_ID)
                except Exception:  # noqa: BLE001 - the first check that needs it builds it again, saying why it cannot
                    log.exception("pretraining %s in the background failed", PRETRAINED_MODEL_ID)

            task = asyncio.create_task(build(), name="pretrain-builtin")
            background.add(task)
            task.add_done_callback(background.discard)

        host.on_start.append(build_pretrained_model)
    host.on_stop.append(saved_models.close)
    if job_users is not None:
        host.on_stop.append(job_users.close)
    host.on_stop.append(engine.dispose)
    return host, host.port


def main() -> None:
    run_service("catalog", build_server)


if __name__ == "__main__":
    main()
