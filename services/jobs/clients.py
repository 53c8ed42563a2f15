"""What job creation asks other services: the dataset (dataset service GetDataset) and whether the model can
be fine-tuned, with its size and shape (catalog CheckModelAvailability, built-in models included: the catalog
owns what models are). Each answers plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable, Protocol

import grpc

from finetune.dataset.v1 import dataset_service_pb2, dataset_service_pb2_grpc
from services.common.errors import FinetuneError, InvalidArgument, NotFound, Unavailable
from services.common.grpc_errors import from_rpc_error
from services.common.ids import parse_name
from services.common.server import channel_options
from services.common.settings import MB

_RECONNECT = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.min_reconnect_backoff_ms", 200),
              ("grpc.max_reconnect_backoff_ms", 1000)]


@dataclass(frozen=True)
class DatasetInfo:
    id: str
    display_name: str
    train_rows: int
    validation_rows: int


@dataclass
class ModelCheck:
    """The catalog's verdict: every problem blocks the job; the rest (0 or empty: unknown) guides and checks the
    hyperparameters."""

    problems: list[str] = field(default_factory=list)
    parameters: int = 0
    target_modules: list[str] = field(default_factory=list)  # what LoRA can target in it
    hidden_size: int = 0
    num_layers: int = 0
    vocab_size: int = 0


class DatasetLookup(Protocol):
    async def __call__(self, dataset_id: str) -> DatasetInfo: ...


ModelChecker = Callable[[str, dict], Awaitable[ModelCheck]]


class ServiceChannel:
    """A lazily made channel to another service, with the API token as metadata (the calls this service makes)."""

    def __init__(self, address: str, api_token: str = ""):
        self.address = address
        self.metadata = (("authorization", f"Bearer {api_token}"),) if api_token else ()
        self._channel: grpc.aio.Channel | None = None

    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.address, options=channel_options(16 * MB) + _RECONNECT)
        return self._channel

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None


def dataset_id_of(reference: str) -> str:
    """`dataset_...` or `datasets/dataset_...` -> the id; InvalidArgument naming the form otherwise."""
    return parse_name(reference, "datasets")


class GrpcDatasetLookup(ServiceChannel):
    """GetDataset on the dataset service."""

    async def __call__(self, dataset_id: str) -> DatasetInfo:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(self.channel())
        try:
            found = await stub.GetDataset(dataset_service_pb2.GetDatasetRequest(name=f"datasets/{dataset_id}"),
                                          timeout=10.0, metadata=self.metadata)
        except grpc.RpcError as err:
            exc = from_rpc_error(err)
            if isinstance(exc, Unavailable):
                raise Unavailable(f"the dataset service at {self.address} cannot be reached to check the dataset; try again "
                                  "when it is up", reason="DATASET_SERVICE_UNAVAILABLE") from None
            raise exc from None
        return DatasetInfo(dataset_id, found.display_name, int(found.train_rows), int(found.validation_rows))


class GrpcModelChecker(ServiceChannel):
    """CheckModelAvailability on the catalog."""

    async def __call__(self, model_id: str, values: dict) -> ModelCheck:
        from finetune.catalog.v1 import catalog_service_pb2, catalog_service_pb2_grpc

        stub = catalog_service_pb2_grpc.CatalogServiceStub(self.channel())
        # The smallest batch: only a model that cannot be trained here at all is a problem; a batch size too large
        # for the memory is a warning of the hyperparameter validation, which suggests one that fits.
        request = catalog_service_pb2.CheckModelAvailabilityRequest(model_id=model_id, batch_size=1, seq_len=16,
                                                                    lora_r=int(values.get("lora_r") or 0))
        try:
            answer = await stub.CheckModelAvailability(request, timeout=30.0, metadata=self.metadata)
        except grpc.RpcError as err:
            exc = from_rpc_error(err)
            if isinstance(exc, InvalidArgument):
                return ModelCheck([exc.message])
            if isinstance(exc, Unavailable):
                raise Unavailable(f"the catalog at {self.address} cannot be reached to check model {model_id!r}; try again "
                                  "when it is up", reason="CATALOG_UNAVAILABLE") from None
            raise exc from None
        return ModelCheck(list(answer.problems), int(answer.parameter_count), list(answer.lora_target_modules),
                          answer.hidden_size, answer.num_layers, answer.vocab_size)


async def lookup_or_problem(lookup: DatasetLookup, reference: str) -> tuple[DatasetInfo | None, str]:
    """(the dataset, "") or (None, what is wrong with the reference). Unavailable propagates."""
    try:
        return await lookup(dataset_id_of(reference)), ""
    except NotFound:
        return None, f"dataset {reference!r} does not exist: upload it first or pick one from ListDatasets"
    except InvalidArgument as exc:
        return None, exc.message
    except Unavailable:
        raise
    except FinetuneError as exc:
        return None, f"dataset {reference!r} could not be checked: {exc.message}"
