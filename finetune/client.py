"""The Python SDK of the guide's "API Integration": `FinetuningClient` (main API, :8000) and `TrainingMonitor`
(training API, :8001) over the REST gateway, with the guide's methods and signatures.

    from finetune.client import FinetuningClient, TrainingMonitor

Failed requests raise `FinetuneAPIError`, which carries the gateway's JSON error body
(`{"error": {"code", "reason", "message", "metadata"}}`) and the HTTP status.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

TOKEN_ENV = "FINETUNE_API_TOKEN"
UPLOAD_TIMEOUT_S = 300.0
QUEUE_POLL_S = 0.5  # how often a stream of a queued job looks again for the job's run


class FinetuneAPIError(Exception):
    """A request the gateway refused or could not serve. `body` is its JSON error body (or the raw text)."""

    def __init__(self, status_code: int, body: Any, url: str = ""):
        self.status_code, self.body, self.url = status_code, body, url
        error = body.get("error", {}) if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
        self.code: str = error.get("code", "")
        self.reason: str = error.get("reason", "") or self.code or f"HTTP_{status_code}"
        self.message: str = error.get("message", "") or (body if isinstance(body, str) else json.dumps(body))
        self.metadata: dict = error.get("metadata", {}) or {}
        super().__init__(f"{self.message} ({self.reason})")


class DatasetValidationError(FinetuneAPIError):
    """The file was read but cannot be trained on; `preview` is the gateway's preview with its validation_errors."""

    def __init__(self, preview: dict, url: str = ""):
        self.preview = preview
        errors = preview.get("validation_errors") or ["the file has no 'input' and 'output' columns"]
        body = {"error": {"code": "INVALID_ARGUMENT", "reason": "VALIDATION_FAILED", "message": "; ".join(errors), "metadata": {}}}
        super().__init__(400, body, url)


class _Http:
    """One httpx client with the base URL, the optional bearer token, and errors as FinetuneAPIError."""

    def __init__(self, base_url: str, token: str | None, timeout: float):
        token = os.environ.get(TOKEN_ENV, "") if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kwargs) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            body = {"error": {"code": "UNAVAILABLE", "reason": "GATEWAY_UNREACHABLE",
                              "message": f"cannot reach the gateway at {self.base_url} ({exc}); start it with `make run`", "metadata": {}}}
            raise FinetuneAPIError(0, body, f"{self.base_url}{path}") from None
        if response.is_error:
            try:
                body = response.json()
            except ValueError:
                body = response.text
            raise FinetuneAPIError(response.status_code, body, str(response.request.url))
        return response.json() if response.content else None

    def close(self) -> None:
        self.http.close()


class FinetuningClient:
    """The main API: datasets, models, configurations and jobs."""

    def __init__(self, base_url: str = "http://127.0.0.1:8000", *, token: str | None = None, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self._http = _Http(self.base_url, token, timeout)

    # --- datasets -------------------------------------------------------------------------------
    def preview_csv(self, file_path: str) -> dict:
        """`POST /api/preview-csv`: the guide's preview (columns, first rows, validation_errors, statistics)."""
        path = Path(file_path)
        with path.open("rb") as f:
            return self._http.request("POST", "/api/preview-csv", files={"file": (path.name, f)}, timeout=UPLOAD_TIMEOUT_S)

    def upload_dataset(self, file_path: str, name: str, description: str) -> dict:
        """Upload and validate dataset: previews it, then saves it. Returns the saved dataset (with `uid`);
        raises DatasetValidationError (carrying the preview) when the file cannot be trained on."""
        preview = self.preview_csv(file_path)
        if not preview.get("statistics", {}).get("has_required_columns") or preview.get("validation_errors"):
            raise DatasetValidationError(preview, f"{self.base_url}/api/preview-csv")
        return self.save_dataset(file_path, name, description)

    def save_dataset(self, file_path: str, name: str, description: str = "", tags: Iterable[str] = (), validation_fraction: float = 0.0) -> dict:
        """`POST /api/datasets` (multipart: the file, name, description, tags): the saved dataset, with `uid`."""
        path = Path(file_path)
        form: dict[str, str | list[str]] = {"name": name, "description": description, "tags": list(tags)}
        if validation_fraction:
            form["validation_fraction"] = str(validation_fraction)
        with path.open("rb") as f:
            return self._http.request("POST", "/api/datasets", files={"file": (path.name, f)}, data=form, timeout=UPLOAD_TIMEOUT_S)

    def list_datasets(self, tag: str = "", page_size: int = 50) -> dict:
        return self._http.request("GET", "/api/datasets", params={k: v for k, v in {"tag": tag, "page_size": page_size}.items() if v})

    def get_dataset(self, dataset_uid: str) -> dict:
        return self._http.request("GET", f"/api/datasets/{dataset_uid.removeprefix('datasets/')}")

    # --- models ---------------------------------------------------------------------------------
    def search_models(self, query: str, limit: int = 10) -> list[dict]:
        """Search HuggingFace models: the guide's list of `{id, name, provider, category, parameters, ...}`."""
        return self._http.request("GET", "/api/models/search", params={"query": query, "limit": limit})

    def add_model(self, model_id: str, name: str = "", provider: str = "", category: str = "") -> dict:
        body = {k: v for k, v in {"id": model_id, "name": name, "provider": provider, "category": category}.items() if v}
        return self._http.request("POST", "/api/models", json=body)

    def check_model(self, model_id: str) -> dict:
        """Whether a model can be fine-tuned here: the catalog's availability report."""
        return self._http.request("GET", f"/api/models/check/{quote(model_id, safe='')}")

    # --- configurations and jobs ------------------------------------------------------------------
    def get_best_configuration(self, mode: str = "manual") -> dict:
        return self._http.request("GET", "/api/configurations/best", params={"mode": mode})

    def create_job(self, job_config: dict) -> dict:
        """Create fine-tuning job from the guide's body (the model may be a whole search result); the answer
        is the job, with the guide's `jobUid`."""
        return self._http.request("POST", "/api/jobs", json=job_config)

    def get_job(self, job_id: str) -> dict:
        return self._http.request("GET", f"/api/jobs/{job_id.removeprefix('jobs/')}")

    def list_jobs(self, page_size: int = 50) -> dict:
        return self._http.request("GET", "/api/jobs", params={"page_size": page_size})

    def cancel_job(self, job_id: str) -> dict:
        return self._http.request("POST", f"/api/jobs/{job_id.removeprefix('jobs/')}/cancel", json={})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FinetuningClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TrainingMonitor:
    """The training API: a job's status, the loss history, and the live WebSocket stream."""

    def __init__(self, training_url: str = "http://127.0.0.1:8001", *, token: str | None = None, timeout: float = 30.0):
        self.training_url = training_url.rstrip("/")
        self._http = _Http(self.training_url, token, timeout)

    def get_job_status(self, job_id: str) -> dict:
        """Get current training status of a job: its run's state and latest numbers."""
        return self._http.request("GET", f"/api/training/status/{job_id}")

    def get_training_metrics(self, last_n: int = 50) -> dict:
        """Get recent training metrics: the latest `last_n` losses of the active (else most recent) run."""
        return self._http.request("GET", "/api/training/losses", params={"last_n": last_n})

    def get_training_summary(self) -> dict:
        return self._http.request("GET", "/api/training/summary")

    def get_current_resources(self) -> dict:
        return self._http.request("GET", "/api/training/resources/current")

    def websocket_url(self, job_id: str, after: int | None = None) -> str:
        parts = urlsplit(self.training_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = f"after={after}" if after is not None else ""
        return urlunsplit((scheme, parts.netloc, f"{parts.path}/ws/training/{job_id}", query, ""))

    def stream_training_data(self, job_id: str, callback: Callable[[dict], Any], *, retry_seconds: float = 60.0) -> dict | None:
        """Stream real-time training data: calls `callback(message)` for each message of the job's run
        (`{"seq", "training": {"epoch", "train_loss", "validation_loss", ...}, "iteration", "total", ...}`)
        until the run ends. A dropped connection is reopened after the last `seq` seen, so no message is
        delivered twice or lost. Returns the last message; an error message from the gateway raises."""
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
        from websockets.sync.client import connect

        headers = {"Authorization": f"Bearer {self._http.token}"} if self._http.token else None
        last: dict | None = None
        after: int | None = None
        give_up = time.monotonic() + retry_seconds
        attempt = 0
        while True:
            try:
                with connect(self.websocket_url(job_id, after), additional_headers=headers, open_timeout=10) as ws:
                    for raw in ws:
                        message = json.loads(raw)
                        if isinstance(message, dict) and "error" in message:
                            error = FinetuneAPIError(_status_of(message), message, self.websocket_url(job_id))
                            if last is None and error.reason.endswith("NOT_FOUND") and self._job_not_started(job_id):
                                break  # queued: the run appears once the job is dispatched to a trainer
                            raise error
                        if isinstance(message, dict) and "seq" in message:
                            after = int(message["seq"])
                        last = message
                        give_up, attempt = time.monotonic() + retry_seconds, 0
                        callback(message)
                    else:
                        return last  # the server closed normally: the run reached a final state
                give_up = time.monotonic() + retry_seconds  # waiting in the queue is not a lost connection
                time.sleep(QUEUE_POLL_S)
                continue
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status < 500 or time.monotonic() > give_up:
                    raise FinetuneAPIError(status, _body_of(exc.response), self.websocket_url(job_id)) from None
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                if time.monotonic() > give_up:
                    body = {"error": {"code": "UNAVAILABLE", "reason": "STREAM_LOST", "message": f"lost the training stream of {job_id}: {exc}", "metadata": {}}}
                    raise FinetuneAPIError(0, body, self.websocket_url(job_id)) from None
            attempt += 1
            time.sleep(min(2.0, 0.2 * attempt))

    def _job_not_started(self, job_id: str) -> bool:
        """True while the job exists and waits for a trainer (its run does not exist yet)."""
        try:
            job = self._http.request("GET", f"/api/jobs/{job_id}")
        except FinetuneAPIError:
            return False
        return isinstance(job, dict) and job.get("state") in ("JOB_STATE_CREATED", "JOB_STATE_QUEUED", "JOB_STATE_RUNNING")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_STATUS_BY_CODE = {"INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "FAILED_PRECONDITION": 412, "UNAVAILABLE": 503}


def _status_of(message: dict) -> int:
    return _STATUS_BY_CODE.get(message.get("error", {}).get("code", ""), 500)


def _body_of(response) -> Any:
    try:
        return json.loads(response.body)
    except (TypeError, ValueError):
        return (response.body or b"").decode("utf-8", "replace")
