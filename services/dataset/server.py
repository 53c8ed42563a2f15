"""The dataset service's process: `python -m services.dataset.server` (port 50051 by default).

Before it deletes a dataset it asks the jobs service at JOBS_ADDRESS (`FINETUNE_DATASET_JOBS_ADDRESS`, else
`FINETUNE_JOBS_ADDRESS`, else 127.0.0.1:50053) which unfinished jobs need it; set it empty for a dataset
service that runs without a jobs service.
"""

from __future__ import annotations

from finetune.dataset.v1 import dataset_service_pb2, dataset_service_pb2_grpc
from services.common.db import create_engine
from services.common.server import ServiceHost, create_host, run_service
from services.common.settings import MB, ServiceSettings
from services.dataset.service import DatasetServicer
from services.dataset.store import DatasetStore
from services.common.job_users import JobsUsers

SERVICE_NAME = dataset_service_pb2.DESCRIPTOR.services_by_name["DatasetService"].full_name

def build_server(settings: ServiceSettings) -> tuple[ServiceHost, int]:
    """The dataset server, not started: `await host.start()` creates the schema and turns SERVING."""
    engine = create_engine(settings.effective_database_url)
    store = DatasetStore(engine, settings.data_dir)
    users = JobsUsers(settings.jobs_address, settings.api_token) if settings.jobs_address else None
    servicer = DatasetServicer(
        store,
        max_upload_bytes=settings.get("max_upload_mb", 50, int) * MB,
        max_cell_chars=settings.get("max_cell_chars", 100_000, int),
        users=users,
        max_response_bytes=settings.max_message_bytes // 2,
    )
    host = create_host(settings, [(dataset_service_pb2_grpc.add_DatasetServiceServicer_to_server, servicer)], [SERVICE_NAME])
    host.on_start.append(store.prepare)
    if users is not None:
        host.on_stop.append(users.close)
    host.on_stop.append(engine.dispose)
    return host, host.port

def main() -> None:
    run_service("dataset", build_server)

if __name__ == "__main__":
    main()
