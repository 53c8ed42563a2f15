"""Push a finished run's model to the Hugging Face Hub: one commit with the model, a model card and the metrics.

What goes up, from `<run_dir>/artifacts/`: the merged model (`model/`, or `merged/`) when the run
saved one, else the LoRA adapter (`adapter/`), at the repo's root; a generated `README.md` (base
model, LoRA settings, final metrics, training configuration); `training_config.json`,
`metrics.json`, `metrics.csv` and `loss_curve.png` when present. Nothing under `artifacts_dir` is
written, moved or deleted, whatever happens.

Every hub call has a deadline (`services.common.bounded`): HfApi's client has no timeout and
retries network errors with backoff. The commit's deadline grows with the bytes to upload.
Pushing again is safe: the repo is reused (`exist_ok`) and files the hub already has are skipped.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.bounded import CallTimedOut, call_with_deadline
from services.common.errors import (
    FailedPrecondition,
    FinetuneError,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from services.common.hub_errors import describe_hub_error

DEFAULT_COMMIT_MESSAGE = "Upload fine-tuned model"
TOKEN_HINT = "set FINETUNE_TRAINER_HUB_TOKEN (or HF_TOKEN) to a Hugging Face write token"
# The commit's deadline is timeout_s plus the upload at this rate: slow links are fine, a hung hub is not.
MIN_UPLOAD_BYTES_PER_S = 1 * 2**20
MODEL_DIRS = ("model", "merged")  # the merged full model, as the trainer names it (and the older name)
ADAPTER_DIR = "adapter"
EXTRA_FILES = ("training_config.json", "metrics.json", "metrics.csv", "loss_curve.png")
# Final metrics the card shows, in this order, with their labels.
CARD_METRICS = (
    ("final_train_loss", "Final training loss"),
    ("final_validation_loss", "Final validation loss"),
    ("best_validation_loss", "Best validation loss"),
    ("final_perplexity", "Final perplexity"),
    ("bleu", "BLEU"),
    ("steps", "Steps"),
    ("epochs", "Epochs"),
    ("train_examples", "Training examples"),
    ("validation_examples", "Validation examples"),
    ("tokens_seen", "Tokens seen"),
    ("trainable_parameters", "Trainable parameters"),
    ("elapsed_seconds", "Training time (s)"),
    ("tokens_per_second", "Tokens per second"),
)


@dataclass(frozen=True)
class PushResult:
    repo_id: str
    url: str
    commit_sha: str
    files: tuple[str, ...]  # paths in the repo, sorted


def push_to_hub(
    artifacts_dir: Path,
    *,
    repo_name: str,
    private: bool,
    token: str | None,
    endpoint: str | None,
    timeout_s: float = 60,
    commit_message: str = DEFAULT_COMMIT_MESSAGE,
    base_model: str | None = None,
) -> PushResult:
    """Create (or reuse) the model repo `repo_name` and commit the run's model, card and metrics to it.

    `repo_name` is `name` (in the token owner's namespace) or `namespace/name`; `base_model` is the
    hub id of the model that was fine-tuned (else read from the adapter config when it is a hub id).
    Raises InvalidArgument (bad name), FailedPrecondition (no model in `artifacts_dir`),
    Unauthenticated (no token, or the hub rejects it), PermissionDenied, and Unavailable (reason
    HUB_UNREACHABLE) when the hub cannot be reached or answer in time.
    """
    artifacts_dir = Path(artifacts_dir)
    validate_repo_name(repo_name)
    model_dir = find_model_dir(artifacts_dir)
    if not token:
        raise Unauthenticated(
            f"Pushing to the Hugging Face Hub needs a token: {TOKEN_HINT}. "
            f"The trained model is kept at {artifacts_dir}.",
            reason="HUB_TOKEN_MISSING",
            metadata={"artifacts_dir": artifacts_dir},
        )
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token)
    where = endpoint or api.endpoint
    repo_id = repo_name
    context = {"artifacts_dir": artifacts_dir, "model_dir": model_dir, "repo_id": repo_name, "endpoint": where}
    try:
        if "/" not in repo_name:
            user = call_with_deadline(lambda: api.whoami()["name"], timeout_s, name="hub-whoami")
            repo_id = f"{user}/{repo_name}"
            context["repo_id"] = repo_id
            validate_repo_name(repo_id)
        repo_url = call_with_deadline(
            lambda: api.create_repo(repo_id, private=private, exist_ok=True), timeout_s, name="hub-create-repo"
        )
        operations = commit_operations(artifacts_dir, model_dir, repo_id, base_model)
        upload_bytes = sum(op.upload_info.size for op in operations)
        commit = call_with_deadline(
            lambda: api.create_commit(repo_id, operations, commit_message=commit_message),
            timeout_s + upload_bytes / MIN_UPLOAD_BYTES_PER_S,
            name="hub-commit",
        )
    except FinetuneError:
        raise
    except Exception as exc:
        raise hub_error(exc, context) from exc
    return PushResult(
        repo_id=repo_id,
        url=str(repo_url),
        commit_sha=commit.oid,
        files=tuple(sorted(op.path_in_repo for op in operations)),
    )


# -- checks -----------------------------------------------------------------------------------------


def validate_repo_name(repo_name: str) -> None:
    """InvalidArgument naming the hub's rule that `repo_name` breaks."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not repo_name or not repo_name.strip():
        raise InvalidArgument(
            "modelSaving.modelName must not be empty: give the hub repo name, e.g. 'my-model' or 'my-org/my-model'.",
            reason="INVALID_MODEL_NAME",
            metadata={"field": "modelSaving.modelName"},
        )
    try:
        validate_repo_id(repo_name)
    except HFValidationError as exc:
        raise InvalidArgument(
            f"modelSaving.modelName {repo_name!r} is not a valid Hugging Face repo name: {exc} "
            "Use letters, digits, '-', '_' and '.', optionally after 'namespace/'.",
            reason="INVALID_MODEL_NAME",
            metadata={"field": "modelSaving.modelName", "value": repo_name},
        ) from None


def find_model_dir(artifacts_dir: Path) -> Path:
    """The merged model when the run saved one, else the adapter; FailedPrecondition when neither is there."""
    for name in (*MODEL_DIRS, ADAPTER_DIR):
        candidate = artifacts_dir / name
        if candidate.is_dir() and any(p.is_file() for p in candidate.iterdir()):
            return candidate
    raise FailedPrecondition(
        f"There is no model to push in {artifacts_dir}: it has no {', '.join(MODEL_DIRS)} or {ADAPTER_DIR} "
        "folder. Only a run that finished and saved its adapter can be pushed.",
        reason="NO_MODEL_ARTIFACTS",
        metadata={"artifacts_dir": artifacts_dir},
    )


# -- what goes up -----------------------------------------------------------------------------------


def commit_operations(artifacts_dir: Path, model_dir: Path, repo_id: str, base_model: str | None) -> list:
    """CommitOperationAdds: the model folder's files at the root, the extra files, and the generated card."""
    from huggingface_hub import CommitOperationAdd

    files: dict[str, Path] = {}
    for path in sorted(model_dir.rglob("*")):
        relative = path.relative_to(model_dir).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in relative.split("/")):
            files[relative] = path
    files.pop("README.md", None)  # peft writes a template card; ours replaces it
    for name in EXTRA_FILES:
        if (artifacts_dir / name).is_file():
            files[name] = artifacts_dir / name
    card = model_card(artifacts_dir, model_dir, repo_id, base_model, sorted([*files, "README.md"]))
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)) for name, path in files.items()]
    operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode()))
    return operations


def model_card(artifacts_dir: Path, model_dir: Path, repo_id: str, base_model: str | None, files: list[str]) -> str:
    """README.md: hub metadata, then what the model is, its metrics, LoRA settings and training configuration."""
    from huggingface_hub import ModelCardData

    adapter_config = _read_json(artifacts_dir / ADAPTER_DIR / "adapter_config.json")
    training = _read_json(artifacts_dir / "training_config.json")
    config = training.get("config") if isinstance(training.get("config"), dict) else training
    summary = _read_json(artifacts_dir / "metrics.json").get("summary") or {}
    merged = model_dir.name != ADAPTER_DIR
    base = _hub_id(base_model) or _hub_id(adapter_config.get("base_model_name_or_path"))
    base_label = base or _local_name(adapter_config.get("base_model_name_or_path") or training.get("model_path"))

    metadata = ModelCardData(
        base_model=base,
        library_name="transformers" if merged else "peft",
        pipeline_tag="text-generation",
        tags=["lora", "fine-tuned", *([] if merged else ["peft"])],
    )
    base_text = f"[{base}](https://huggingface.co/{base})" if base else f"`{base_label or 'a base model'}`"
    what = (
        "the LoRA weights merged into the base model: load it as any causal LM."
        if merged
        else "the LoRA adapter only: load the base model, then this adapter on top with peft."
    )
    lines = [
        "---",
        metadata.to_yaml(),
        "---",
        "",
        f"# {repo_id.rpartition('/')[2]}",
        "",
        f"A LoRA fine-tune of {base_text}. This repo holds {what}",
        "",
        "## Results",
        "",
        *(_table(("Metric", "Value"), _metrics_rows(summary)) or ["No metrics were recorded for this run."]),
        "",
        "## LoRA settings",
        "",
        *(_table(("Setting", "Value"), _lora_rows(adapter_config, config)) or ["Not recorded."]),
        "",
        "## Training configuration",
        "",
        *(_table(("Option", "Value"), [(k, _fmt(v)) for k, v in sorted(config.items())]) or ["Not recorded."]),
        "",
        "## Usage",
        "",
        "```python",
        *_usage(repo_id, base, merged),
        "```",
        "",
        "## Files",
        "",
        *[f"- `{name}`" for name in files],
        "",
    ]
    return "\n".join(lines)


def _metrics_rows(summary: dict) -> list[tuple[str, str]]:
    return [(label, _fmt(summary[key])) for key, label in CARD_METRICS if summary.get(key) is not None]


def _lora_rows(adapter_config: dict, config: dict) -> list[tuple[str, str]]:
    values = {
        "Rank (r)": adapter_config.get("r", config.get("lora_r")),
        "Alpha": adapter_config.get("lora_alpha", config.get("lora_alpha")),
        "Dropout": adapter_config.get("lora_dropout", config.get("lora_dropout")),
        "Target modules": adapter_config.get("target_modules", config.get("target_modules")),
    }
    return [(name, _fmt(value)) for name, value in values.items() if value is not None]


def _usage(repo_id: str, base: str | None, merged: bool) -> list[str]:
    if merged:
        return [
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            f'model = AutoModelForCausalLM.from_pretrained("{repo_id}")',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}")',
        ]
    return [
        "from peft import PeftModel",
        "from transformers import AutoModelForCausalLM",
        "",
        f'base = AutoModelForCausalLM.from_pretrained("{base or "<base model>"}")',
        f'model = PeftModel.from_pretrained(base, "{repo_id}")',
    ]


def _table(header: tuple[str, str], rows: list[tuple[str, str]]) -> list[str]:
    if not rows:
        return []
    cell = lambda text: str(text).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return [f"| {header[0]} | {header[1]} |", "| --- | --- |", *[f"| {cell(k)} | {cell(v)} |" for k, v in rows]]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _read_json(path: Path) -> dict:
    """The file's JSON object, or {} when it is missing or unreadable: the card then says less."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _hub_id(name: Any) -> str | None:
    """`name` when it is a hub repo id ("org/model"), not a local path."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not isinstance(name, str) or name.count("/") != 1:
        return None
    try:
        validate_repo_id(name)
    except HFValidationError:
        return None
    return name


def _local_name(path: Any) -> str | None:
    """The last part of a local model path: the card names the model without the machine's paths."""
    if not isinstance(path, str) or not path:
        return None
    return Path(path).name or None


# -- errors -----------------------------------------------------------------------------------------


def hub_error(exc: BaseException, context: dict) -> FinetuneError:
    """The domain error for a failed hub call; each says the model is kept locally and how to retry."""
    from huggingface_hub.errors import HfHubHTTPError

    artifacts_dir, repo_id, endpoint = context["artifacts_dir"], context["repo_id"], context["endpoint"]
    kept = (
        f"The trained model is kept at {artifacts_dir}; push it again later (retrying is safe: the repo is "
        f"reused and files already there are skipped), or upload it yourself with "
        f"`hf upload {repo_id} {context['model_dir']}`."
    )
    metadata = {**context}
    if isinstance(exc, CallTimedOut):
        return Unavailable(
            f"The Hugging Face Hub at {endpoint} did not answer in time ({exc}). {kept}",
            reason="HUB_UNREACHABLE",
            metadata={**metadata, "cause": str(exc)},
        )
    cause = _root_cause(exc)
    if isinstance(cause, HfHubHTTPError) and cause.response is not None:
        status = cause.response.status_code
        said = _server_message(cause)
        metadata.update(http_status=status, hub_message=said)
        if status == 401:
            return Unauthenticated(
                f"The Hugging Face Hub rejected the token ({said}): {TOKEN_HINT}. {kept}",
                reason="HUB_TOKEN_INVALID",
                metadata=metadata,
            )
        if status == 403:
            return PermissionDenied(
                f"The Hugging Face Hub refused to let this token create or write {repo_id} ({said}): use a token "
                f"with write access to that namespace, or another modelName. {kept}",
                reason="HUB_PERMISSION_DENIED",
                metadata=metadata,
            )
        if status == 404:
            return NotFound(
                f"The Hugging Face Hub says {repo_id} does not exist or is not visible to this token ({said}). {kept}",
                reason="HUB_REPO_NOT_FOUND",
                metadata=metadata,
            )
        if status == 429:
            return ResourceExhausted(
                f"The Hugging Face Hub is rate-limiting this token ({said}). {kept}",
                reason="HUB_RATE_LIMITED",
                metadata=metadata,
            )
        if status >= 500 or status == 408:
            return Unavailable(
                f"The Hugging Face Hub at {endpoint} failed (HTTP {status}: {said}). {kept}",
                reason="HUB_UNREACHABLE",
                metadata={**metadata, "cause": f"HTTP {status}"},
            )
        return FailedPrecondition(
            f"The Hugging Face Hub refused the upload (HTTP {status}: {said}). {kept}",
            reason="HUB_REJECTED",
            metadata=metadata,
        )
    if _is_network_error(cause):
        return Unavailable(
            f"Could not reach the Hugging Face Hub at {endpoint} ({describe_hub_error(cause)}). {kept}",
            reason="HUB_UNREACHABLE",
            metadata={**metadata, "cause": describe_hub_error(cause)},
        )
    return Internal(f"Pushing to the Hugging Face Hub failed: {describe_hub_error(exc)}. {kept}",
                    reason="HUB_PUSH_FAILED", metadata=metadata)


def _root_cause(exc: BaseException) -> BaseException:
    """The hub's HTTP error or the network error behind `exc` (LFS uploads wrap theirs in RuntimeError)."""
    from huggingface_hub.errors import HfHubHTTPError

    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for candidate in chain:
        if isinstance(candidate, HfHubHTTPError):
            return candidate
    return next((c for c in chain if _is_network_error(c)), exc)


def _is_network_error(exc: BaseException) -> bool:
    import httpx2

    return isinstance(exc, (httpx2.RequestError, OSError))  # OSError: refused sockets, offline mode


def _server_message(error) -> str:
    message = error.server_message or error.response.headers.get("X-Error-Message") or ""
    return message.strip() or f"HTTP {error.response.status_code}"
