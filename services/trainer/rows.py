"""A run's inputs: dataset rows from the dataset service, and the model as a local directory with valid LoRA targets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from finetune.dataset.v1 import dataset_pb2, dataset_service_pb2, dataset_service_pb2_grpc
from services.catalog.builtin_models import ensure_builtin_model, is_builtin
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.common.grpc_errors import from_rpc_error
from services.common.hyperparameters import ALL_LINEAR, target_modules_error
from services.common.lora import lora_target_modules_at
from services.common.model_ids import fine_tuned_name
from services.common.server import channel_options
from services.common.settings import MB


async def fetch_dataset_rows(address: str, dataset: str, *, api_token: str = "",
                             timeout: float = 600.0) -> tuple[list[dict], list[dict]]:
    """The dataset's train and validation rows from the dataset service's ReadDatasetRows stream (with the
    suite's API token, which the dataset service requires when it is set); the validation list is empty when
    the dataset has no validation split."""
    metadata = (("authorization", f"Bearer {api_token}"),) if api_token else ()
    async with grpc.aio.insecure_channel(address, options=channel_options(64 * MB)) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        train = await _read_split(stub, dataset, dataset_pb2.SPLIT_TRAIN, timeout, metadata)
        if not train:
            raise FailedPrecondition(f"dataset {dataset!r} has no training rows", reason="EMPTY_TRAINING_SPLIT",
                                     metadata={"dataset": dataset})
        try:
            validation = await _read_split(stub, dataset, dataset_pb2.SPLIT_VALIDATION, timeout, metadata)
        except FailedPrecondition:
            validation = []  # no validation split: train without evaluation
    return train, validation


async def _read_split(stub, dataset: str, split: int, timeout: float, metadata) -> list[dict]:
    rows: list[dict] = []
    request = dataset_service_pb2.ReadDatasetRowsRequest(name=dataset, split=split, batch_size=2048)
    try:
        async for response in stub.ReadDatasetRows(request, timeout=timeout, metadata=metadata):
            rows.extend({"input": r.input, "output": r.output} for r in response.rows)
    except grpc.aio.AioRpcError as err:
        if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise Unavailable(f"the dataset service cannot be reached to read {dataset!r}; try again when it is up",
                              reason="DATASET_SERVICE_UNAVAILABLE") from err
        raise from_rpc_error(err) from err
    return rows


def resolve_model(model: str, data_dir: Path, *, hub_endpoint: str = "", hub_token: str = "") -> Path:
    """A local directory holding the model: built-in ids are built on first use, local paths are checked,
    anything else is a Hugging Face Hub id downloaded into the data dir's cache. Blocking: run it in a thread."""
    model = (model or "").strip()
    if not model:
        raise InvalidArgument("run.model is required: a built-in id, a local model directory or a hub id",
                              reason="MODEL_REQUIRED")
    if is_builtin(model):
        return ensure_builtin_model(data_dir, model)
    path = Path(model).expanduser()
    if path.is_absolute() or model.startswith("."):
        if not (path / "config.json").is_file():
            raise InvalidArgument(f"model directory {model!r} does not exist or has no config.json", reason="MODEL_NOT_FOUND",
                                  metadata={"model": model})
        return path.resolve()
    return _download(model, data_dir, hub_endpoint, hub_token)


def _download(repo_id: str, data_dir: Path, endpoint: str, token: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError

    try:
        return Path(snapshot_download(
            repo_id,
            cache_dir=str(Path(data_dir) / "models" / "hub"),
            endpoint=endpoint or None,
            token=token or None,
            allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.py", "tokenizer*"],
        ))
    except HFValidationError as exc:
        raise InvalidArgument(f"{repo_id!r} is neither a built-in model, a local directory nor a hub id: {exc}",
                              reason="MODEL_NOT_FOUND", metadata={"model": repo_id}) from exc
    except GatedRepoError as exc:
        raise InvalidArgument(f"model {repo_id!r} is gated: accept its terms on the hub and set a hub token",
                              reason="MODEL_GATED", metadata={"model": repo_id}) from exc
    except RepositoryNotFoundError as exc:
        raise NotFound(f"model {repo_id!r} does not exist on the hub (or is private)", reason="MODEL_NOT_FOUND",
                       metadata={"model": repo_id}) from exc
    except Exception as exc:  # noqa: BLE001 - offline: LocalEntryNotFoundError, connection and timeout errors
        raise Unavailable(f"model {repo_id!r} is not in the local cache and the hub cannot be reached "
                          f"({type(exc).__name__}); use a built-in model or a local directory, or try again online",
                          reason="HUB_UNAVAILABLE", metadata={"model": repo_id}) from exc


_linear_names: dict[str, list[str]] = {}


def check_model_targets(model_dir: Path, target_modules: list[str]) -> None:
    """InvalidArgument naming the model's real Linear modules when LoRA targets one it lacks. The model is
    built on the meta device (no weights read), once per directory. Blocking: run it in a thread."""
    if target_modules == [ALL_LINEAR]:
        return
    key = str(model_dir)
    if key not in _linear_names:
        try:
            _linear_names[key] = lora_target_modules_at(model_dir)
        except (OSError, ValueError, KeyError) as exc:
            raise InvalidArgument(f"the model in {model_dir} cannot be loaded as a causal language model: {exc}",
                                  reason="MODEL_UNSUPPORTED") from exc
    error = target_modules_error(target_modules, _linear_names[key])
    if error is not None:
        raise error


async def fine_tuned_model_dir(store, model_id: str) -> Path | None:
    """The merged model folder of `finetune-models/<name>` on this trainer; None for any other id."""
    name = fine_tuned_name(model_id.strip())
    if name is None:
        return None
    row = await store.find_saved_model(name)
    folder = Path(row.run_dir) / "artifacts" / "model" if row is not None else None
    if folder is None or not (folder / "config.json").is_file():
        raise NotFound(f"model {model_id!r} is not on this trainer: a completed run that saved its merged model (save_model) "
                       f"as {name!r} is needed", reason="FINE_TUNED_MODEL_NOT_FOUND", metadata={"model": model_id})
    return folder


def make_preparer(data_dir: Path, dataset_address: str, hub_endpoint: str = "", api_token: str = "", store=None):
    """The supervisor's `prepare`: the model as a directory (LoRA targets checked) and the rows, inline or
    from the dataset service. A model fine-tuned here (`finetune-models/<name>`) is its run's merged model."""
    from services.trainer.supervisor import PreparedInputs

    async def prepare(request, config) -> PreparedInputs:
        model_path = await fine_tuned_model_dir(store, request.model) if store is not None else None
        if model_path is None:
            model_path = await asyncio.to_thread(resolve_model, request.model, data_dir, hub_endpoint=hub_endpoint,
                                                 hub_token=request.hub_token)
        await asyncio.to_thread(check_model_targets, model_path, config.target_modules)
        if request.dataset:
            train, validation = await fetch_dataset_rows(dataset_address, request.dataset, api_token=api_token)
        else:
            train, validation = request.train_rows, request.validation_rows
        return PreparedInputs(model_path, train, validation)

    return prepare
