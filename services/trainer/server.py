"""The trainer service's process: `python -m services.trainer.server` (port 50054 by default).

Service-specific settings (`FINETUNE_TRAINER_<NAME>`): MAX_CONCURRENT_RUNS (1), MAX_RESTARTS (3),
WARM_WORKERS (1), SAMPLE_INTERVAL_SECONDS (1.0), SUBSCRIBER_QUEUE (1024), ALERT_CPU_PERCENT (90) with
ALERT_OTHER_CPU_PERCENT (25: HIGH_CPU fires when the machine is above the first and processes other than the
run's worker take more than the second),
ALERT_MEMORY_PERCENT (85), ALERT_GPU_TEMPERATURE (85), EVAL_ROWS (16), SAMPLE_GENERATIONS (3),
EVAL_MAX_NEW_TOKENS (32), NUM_THREADS (0: the worker's default), HUB_ENDPOINT (the default hub),
ACK_TIMEOUT_SECONDS (10), CANCEL_GRACE_SECONDS (30), GENERATE_THREADS (8: Generate's own threads, one per admitted generation),
MAX_GENERATIONS (8: generations running or waiting at once; more are RESOURCE_EXHAUSTED), PREPARE_RETRIES
(3: a run's preparation that finds the dataset service or the hub unreachable tries again after 1, 2, 4 s
before the run fails),
FLUSH_INTERVAL_SECONDS (0: each batch of events is committed as soon as the previous one is; more spaces
commits out, fewer and larger, and delays delivery by as much),
ALERT_WEBHOOKS and ALERT_SLACK_WEBHOOKS (comma-separated URLs that receive every alert and each run's end:
`services.trainer.webhooks`), ALERT_QUEUE (256), ALERT_RETRIES (3),
LINK_HOST (127.0.0.1: the address the worker link listens on; workers on other nodes need one they reach),
BACKEND (local: workers are child processes; ray: Ray actors, `services.trainer.ray_backend`), RAY_ADDRESS
(the cluster, e.g. 10.0.0.5:6379), RAY_RESOURCES (a JSON object of custom Ray resources each run's actor asks
for, e.g. {"trainer_node": 1}).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from finetune.trainer.v1 import trainer_service_pb2, trainer_service_pb2_grpc
from services.common.db import create_engine
from services.common.errors import InvalidArgument
from services.common.model_ids import model_roots, parse_model_id
from services.common.server import ServiceHost, create_host, run_service
from services.common.settings import ServiceSettings
from services.trainer.events import EventLog
from services.trainer.monitor import ResourceSampler, Thresholds
from services.trainer.rows import make_preparer, resolve_model
from services.trainer.service import TrainerServicer
from services.trainer.store import TrainerStore
from services.trainer.supervisor import Supervisor, SupervisorOptions
from services.trainer.webhooks import WebhookNotifier, parse_urls

SERVICE_NAME = trainer_service_pb2.DESCRIPTOR.services_by_name["TrainerService"].full_name


def supervisor_options(settings: ServiceSettings, gpu_count: int) -> SupervisorOptions:
    get = settings.get
    return SupervisorOptions(
        data_dir=settings.data_dir,
        max_concurrent_runs=get("max_concurrent_runs", 1, int),
        max_restarts=get("max_restarts", 3, int),
        warm_workers=get("warm_workers", 1, int),
        sample_interval=get("sample_interval_seconds", 1.0, float),
        ack_timeout=get("ack_timeout_seconds", 10.0, float),
        cancel_grace=get("cancel_grace_seconds", 30.0, float),
        stop_checkpoint_timeout=get("stop_checkpoint_seconds", 10.0, float),
        thresholds=Thresholds(
            cpu_percent=get("alert_cpu_percent", 90.0, float),
            other_cpu_percent=get("alert_other_cpu_percent", 25.0, float),
            memory_percent=get("alert_memory_percent", 85.0, float),
            gpu_temperature=get("alert_gpu_temperature", 85.0, float),
        ),
        artifacts={
            "eval_rows": get("eval_rows", 16, int),
            "sample_generations": get("sample_generations", 3, int),
            "max_new_tokens": get("eval_max_new_tokens", 32, int),
        },
        num_threads=get("num_threads", 0, int) or None,
        gpu_count=gpu_count,
        hub_token=get("hub_token", "", str),
        hub_endpoint=get("hub_endpoint", "", str),
        push_timeout=get("push_timeout_seconds", 120.0, float),
        prepare_retries=get("prepare_retries", 3, int),
        link_host=get("link_host", "127.0.0.1", str),
        link_port=get("link_port", 0, int),
        backend=_backend(get("backend", "local", str)),
        storage_url=get("storage_url", "", str).strip(),
        ray_address=get("ray_address", "", str),
        ray_resources=_json_object(get("ray_resources", "", str), "FINETUNE_TRAINER_RAY_RESOURCES"),
    )


def _backend(name: str) -> str:
    name = name.strip().lower() or "local"
    if name not in ("local", "ray"):
        raise InvalidArgument(f"FINETUNE_TRAINER_BACKEND must be local or ray, got {name!r}", reason="INVALID_SETTING")
    return name


def _json_object(text: str, setting: str) -> dict:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"{setting} must be a JSON object, e.g. {{\"node_b\": 1}}: {exc}", reason="INVALID_SETTING") from exc
    if not isinstance(value, dict) or not all(isinstance(v, (int, float)) for v in value.values()):
        raise InvalidArgument(f"{setting} must be a JSON object of resource amounts, got {text!r}", reason="INVALID_SETTING")
    return value


def import_model_libraries() -> None:
    """transformers and peft imported once, before any request: their lazy modules, first imported from two
    threads at once (a run's preparation and a Generate), can leave one of them without a name
    ("cannot import name 'AutoConfig' from 'transformers'")."""
    import peft  # noqa: F401
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, DynamicCache  # noqa: F401


def model_resolver(settings: ServiceSettings):
    """A model id to its directory for Generate without a run: the one model-id rule (local paths only under
    FINETUNE_MODEL_ROOTS), built-ins built on first use, hub ids from the trainer's hub (its cache first)."""
    roots, hub = model_roots(settings), settings.get("hub_endpoint", "", str)

    def resolve(model: str) -> Path:
        parse_model_id(model, field="model", local_roots=roots)
        return resolve_model(model.strip(), settings.data_dir, hub_endpoint=hub)

    return resolve


def build_server(settings: ServiceSettings) -> tuple[ServiceHost, int]:
    """The trainer server, not started: `await host.start()` creates the schema, resumes runs a previous
    trainer left active, and turns SERVING."""
    engine = create_engine(settings.effective_database_url)
    store = TrainerStore(engine)

    def get_setting(name: str) -> str:
        return settings.get(name, "", str)

    events = EventLog(store, queue_size=settings.get("subscriber_queue", 1024, int),
                      flush_interval=settings.get("flush_interval_seconds", 0.0, float))
    sampler = ResourceSampler(settings.data_dir)
    supervisor = Supervisor(
        store, events, supervisor_options(settings, sampler.gpus.count),
        make_preparer(settings.data_dir, settings.dataset_address, settings.get("hub_endpoint", "", str), settings.api_token, store),
        sampler,
    )
    notifier = WebhookNotifier(parse_urls(get_setting("alert_webhooks"), "FINETUNE_TRAINER_ALERT_WEBHOOKS"),
                               parse_urls(get_setting("alert_slack_webhooks"), "FINETUNE_TRAINER_ALERT_SLACK_WEBHOOKS"),
                               queue_size=settings.get("alert_queue", 256, int), retries=settings.get("alert_retries", 3, int))
    events.listeners.append(notifier.offer)
    servicer = TrainerServicer(store, events, supervisor, notifier=notifier, generate_threads=settings.get("generate_threads", 8, int),
                               max_generations=settings.get("max_generations", 8, int), resolve_model=model_resolver(settings))
    host = create_host(settings, [(trainer_service_pb2_grpc.add_TrainerServiceServicer_to_server, servicer)], [SERVICE_NAME])

    async def start() -> None:
        await store.prepare()
        await asyncio.to_thread(import_model_libraries)
        await events.start()
        await notifier.start()
        await supervisor.start()

    async def stop() -> None:
        servicer.close()
        await supervisor.stop()
        await events.stop()
        await notifier.stop()
        await store.close()

    host.on_start.append(start)
    host.on_stop.append(stop)
    return host, host.port


def main() -> None:
    run_service("trainer", build_server)


if __name__ == "__main__":
    main()
