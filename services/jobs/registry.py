"""The catalog's registry of models fine-tuned here, as the jobs service uses it: whether a name is taken
(at job creation) and, when a job that saves its model under a name completes, registering that model
(`finetune-models/<name>`: base model, job, dataset, run, trainer, file locations, final numbers)."""

from __future__ import annotations

import logging
import math
from pathlib import PurePosixPath

import grpc

from services.common.errors import AlreadyExists, NotFound, Unavailable
from services.common.grpc_errors import from_rpc_error
from services.common.model_ids import fine_tuned_id
from services.jobs.clients import ServiceChannel
from services.jobs.states import JobState
from services.jobs.store import JobRow, loads

log = logging.getLogger("finetune.jobs.registry")
METRICS = ("final_loss", "final_validation_loss", "best_validation_loss", "training_time_seconds", "tokens_per_second")


class CatalogRegistry(ServiceChannel):
    async def is_registered(self, model_id: str) -> bool:
        from finetune.catalog.v1 import catalog_service_pb2 as pb, catalog_service_pb2_grpc

        stub = catalog_service_pb2_grpc.CatalogServiceStub(self.channel())
        try:
            await stub.GetModel(pb.GetModelRequest(name=f"models/{model_id}"), timeout=30.0, metadata=self.metadata)
        except grpc.RpcError as err:
            exc = from_rpc_error(err)
            if isinstance(exc, NotFound):
                return False
            if isinstance(exc, Unavailable):
                raise Unavailable(f"the catalog at {self.address} cannot be reached to check that the model name is free; "
                                  "try again when it is up", reason="CATALOG_UNAVAILABLE") from None
            raise exc from None
        return True

    async def register(self, job: JobRow) -> None:
        """A final hook: a completed job that saved its model under a name registers it (once)."""
        if job.job_state != JobState.COMPLETED or not job.saved_model_name:
            return
        from finetune.catalog.v1 import catalog_service_pb2 as pb, catalog_service_pb2_grpc, model_pb2

        artifacts = PurePosixPath(job.output_dir) if job.output_dir else None
        metrics = {k: float(v) for k, v in job.metrics_dict.items()
                   if k in METRICS and isinstance(v, (int, float)) and math.isfinite(v)}
        origin = model_pb2.FineTunedOrigin(
            base_model=job.model, job=f"jobs/{job.id}", dataset=f"datasets/{job.dataset}", run=f"runs/{job.id}",
            trainer=job.trainer, model_dir=str(artifacts / "model") if artifacts and loads(job.model_saving, {}).get("save_model") else "",
            adapter_dir=str(artifacts / "adapter") if artifacts else "", metrics=metrics)
        model = model_pb2.Model(id=fine_tuned_id(job.saved_model_name), display_name=job.saved_model_name, fine_tuned=origin,
                                description=f"{job.model} fine-tuned by job {job.display_name!r} ({job.id}) on {job.dataset_name or job.dataset}")
        stub = catalog_service_pb2_grpc.CatalogServiceStub(self.channel())
        try:
            await stub.CreateModel(pb.CreateModelRequest(model=model), timeout=30.0, metadata=self.metadata)
        except grpc.RpcError as err:
            exc = from_rpc_error(err)
            if not isinstance(exc, AlreadyExists):  # registered before (a repeated hook): nothing to do
                log.warning("job %s: its model %s was not registered in the catalog: %s", job.id, model.id, exc.message)
                return
        log.info("job %s: registered %s", job.id, model.id)
