"""A fine-tuned model's files live with its run on the trainer that trained it; deleting the model deletes them
there (the trainer's DeleteSavedModel), with the caller's token."""

from __future__ import annotations

import grpc

from finetune.trainer.v1 import trainer_service_pb2, trainer_service_pb2_grpc
from services.common.errors import FailedPrecondition, NotFound, Unavailable
from services.common.grpc_errors import from_rpc_error
from services.common.server import channel_options
from services.common.settings import MB


class SavedModelFiles:
    """Only the trainers the catalog is configured with are called (the address comes from a registry entry,
    which any caller with the token can write: the token must never go to a host of their choosing)."""

    def __init__(self, trainers: list[str], api_token: str = ""):
        self.trainers = set(trainers)
        self.metadata = (("authorization", f"Bearer {api_token}"),) if api_token else ()
        self._channels: dict[str, grpc.aio.Channel] = {}

    def check(self, trainer: str) -> None:
        """FailedPrecondition unless `trainer` is one this catalog is configured to call."""
        if trainer not in self.trainers:
            raise FailedPrecondition(f"the model's files are on trainer {trainer!r}, which is not one this catalog calls "
                                     f"({', '.join(sorted(self.trainers)) or 'none'}): add it to FINETUNE_CATALOG_TRAINER_ADDRESSES; "
                                     "the model is kept", reason="TRAINER_NOT_CONFIGURED", metadata={"trainer": trainer})

    async def delete(self, trainer: str, run: str) -> None:
        self.check(trainer)
        channel = self._channels.get(trainer)
        if channel is None:
            channel = self._channels[trainer] = grpc.aio.insecure_channel(trainer, options=channel_options(4 * MB))
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        try:
            await stub.DeleteSavedModel(trainer_service_pb2.DeleteSavedModelRequest(name=run), timeout=30.0, metadata=self.metadata)
        except grpc.RpcError as err:
            exc = from_rpc_error(err)
            if isinstance(exc, NotFound):
                return  # the run is gone already, and its files with it
            if isinstance(exc, Unavailable) or err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise Unavailable(f"the trainer at {trainer} that holds {run}'s files cannot be reached; the model is kept "
                                  "until they can be deleted: try again when it is up", reason="TRAINER_UNAVAILABLE",
                                  metadata={"trainer": trainer}) from None
            raise exc from None

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()
