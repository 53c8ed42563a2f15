"""Who still needs a dataset or a model: the jobs service's unfinished jobs that train on it or from it (ListJobs
with `dataset` or `model`, and `unfinished`), asked before a delete. The jobs service is the one that knows;
nothing is copied here. Used by the dataset service and the catalog."""

from __future__ import annotations

import grpc

from finetune.jobs.v1 import jobs_service_pb2, jobs_service_pb2_grpc
from services.common.errors import FailedPrecondition, Unavailable
from services.common.grpc_errors import from_rpc_error
from services.common.server import channel_options
from services.common.settings import MB

SHOWN = 20  # jobs named in a refusal; the count says how many there are in all


class JobsUsers:
    """`await users(dataset="datasets/x")` or `await users(model="finetune-models/x")` -> (the first unfinished jobs
    that need it, how many there are). `setting` names the setting that points at the jobs service."""

    def __init__(self, address: str, api_token: str = "", setting: str = "FINETUNE_DATASET_JOBS_ADDRESS"):
        self.address = address
        self.setting = setting
        self.metadata = (("authorization", f"Bearer {api_token}"),) if api_token else ()
        self._channel: grpc.aio.Channel | None = None

    async def __call__(self, **needed: str) -> tuple[list[str], int]:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.address, options=channel_options(4 * MB))
        stub = jobs_service_pb2_grpc.JobsServiceStub(self._channel)
        request = jobs_service_pb2.ListJobsRequest(unfinished=True, page_size=SHOWN, **needed)
        (what,) = needed.values()
        try:
            answer = await stub.ListJobs(request, timeout=10.0, metadata=self.metadata)
        except grpc.RpcError as err:
            exc = from_rpc_error(err)
            if isinstance(exc, Unavailable) or err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise Unavailable(
                    f"the jobs service at {self.address} cannot be reached to check that no unfinished job needs "
                    f"'{what}'; try again when it is up (a service without one: set {self.setting} empty)",
                    reason="JOBS_SERVICE_UNAVAILABLE",
                    metadata={"jobs_address": self.address}) from None
            raise exc from None
        return [job.name for job in answer.jobs], answer.total_size

    async def refuse_if_needed(self, described: str, reason: str, **needed: str) -> None:
        """FailedPrecondition `reason` naming the unfinished jobs that still need `described` (say "dataset
        'datasets/x'"), if any: a delete waits until they end."""
        jobs, count = await self(**needed)
        if count:
            more = f" and {count - len(jobs)} more" if count > len(jobs) else ""
            raise FailedPrecondition(
                f"{described} is still needed by {count} unfinished job{'s' if count > 1 else ''}: {', '.join(jobs)}{more}; "
                "cancel them or let them end, then delete it", reason=reason, metadata={"jobs": ",".join(jobs), "count": str(count)})

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
