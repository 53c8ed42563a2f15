"""Jobs and configurations as the service offers them: check a submitted job (model, dataset, hyperparameters,
every problem named at once), queue it, and save, find and rank configurations."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from services.common.errors import AlreadyExists, InvalidArgument, NotFound, Unavailable
from services.common.hyperparameters import gpu_shortfall, target_modules_error, workers_problem
from services.common.ids import new_id, parse_name
from services.common.model_ids import fine_tuned_id, parse_model_id
from services.common.memory import MachineMemory
from services.jobs import uid as uid_codec
from services.jobs.clients import DatasetInfo, DatasetLookup, ModelCheck, ModelChecker, lookup_or_problem
from services.jobs.dispatcher import Dispatcher
from services.jobs.states import JobState
from services.jobs.store import PRIORITIES, ConfigurationRow, JobRow, JobStore, dumps
from services.jobs.validation import Issue, ModelProfile, ValidationReport, validate_hyperparameters

log = logging.getLogger("finetune.jobs")

MAX_TAGS, MAX_TAG_CHARS = 20, 64
MAX_METADATA, MAX_METADATA_KEY_CHARS, MAX_METADATA_VALUE_CHARS = 16, 64, 512  # as OpenAI's metadata
SAVING_FIELDS = ("save_model", "model_name", "push_to_hub", "make_public", "hub_endpoint")
_MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


@dataclass
class JobDraft:
    """A job as submitted (the guide's body), before any check."""

    display_name: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    model: str = ""
    model_name: str = ""
    dataset: str = ""
    dataset_name: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)  # the values given
    configuration_uid: str = ""
    model_saving: dict[str, Any] = field(default_factory=dict)
    hub_token: str = ""
    priority: str = "medium"
    timeout_seconds: float = 0.0
    gpu_count: int = 0
    workers: int = 0  # data-parallel ranks (0: one per GPU, or one on the CPU)
    mode: str = "manual"
    job_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    sweep_id: str = ""
    trial_number: int = 0


class Problems:
    """Every problem of a request, by field, raised together as one InvalidArgument."""

    def __init__(self, reason: str, what: str):
        self.reason, self.what = reason, what
        self.items: dict[str, str] = {}

    def add(self, where: str, message: str) -> None:
        key, n = where, 2
        while key in self.items:
            key, n = f"{where}#{n}", n + 1
        self.items[key] = message

    def raise_if_any(self) -> None:
        if not self.items:
            return
        listed = "; ".join(f"{k}: {m}" for k, m in self.items.items())
        count = len(self.items)
        raise InvalidArgument(f"{self.what} was not accepted, {count} problem{'s' if count > 1 else ''}: {listed}",
                              reason=self.reason, metadata=self.items)


class JobManager:
    def __init__(self, store: JobStore, dispatcher: Dispatcher, *, datasets: DatasetLookup, models: ModelChecker,
                 memory: Callable[[], MachineMemory] | None = None, max_attempts: int = 3,
                 registry: Callable[[str], Awaitable[bool]] | None = None):
        self.store = store
        self.registry = registry  # whether the catalog has a model id registered
        self.dispatcher = dispatcher
        self.datasets = datasets
        self.models = models
        self.memory = memory
        self.max_attempts = max_attempts

    # --- configurations ----------------------------------------------------------------------

    async def validate(self, values: dict, *, mode: str = "manual", model: str = "", dataset: str = "",
                       dataset_rows: int = 0) -> ValidationReport:
        base = await self._saved_values(values)
        rows = dataset_rows or None
        if dataset:
            info, problem = await lookup_or_problem(self.datasets, dataset)
            if info is None:
                raise NotFound(problem, reason="DATASET_NOT_FOUND", metadata={"dataset": dataset})
            rows = info.train_rows
        profile, unchecked = None, None
        if model:
            parse_model_id(model, field="model", local_roots=None)  # the catalog and the trainer check the roots
            try:
                profile = model_profile(model, await self.models(model, uid_codec.defaults() | base))
            except Unavailable as exc:  # guidance without the model's size, and say why
                unchecked = Issue("model", "MODEL_NOT_CHECKED", f"the model's size is not known, so the guidance by model "
                                                                f"size and memory is left out: {exc.message}")
        report = validate_hyperparameters(base, mode=_mode(mode), profile=profile, dataset_rows=rows, memory=self._memory())
        if unchecked is not None:
            report.warnings.append(unchecked)
        return report

    async def save_configuration(self, values: dict, *, mode: str = "manual", display_name: str = "", description: str = "",
                                 source_sweep: str = "") -> ConfigurationRow:
        mode = _mode(mode)
        report = validate_hyperparameters(values, mode=mode)
        if report.errors:
            problems = Problems("INVALID_HYPERPARAMETERS", "the configuration")
            for issue in report.errors:
                problems.add(f"hyperparameters.{issue.field}", issue.message)
            problems.raise_if_any()
        row = ConfigurationRow(uid=report.uid, mode=mode, hyperparameters=dumps(report.normalized),
                               display_name=display_name.strip() or _describe(report.normalized),
                               description=description, source_sweep=source_sweep)
        saved, _ = await self.store.save_configuration(row, relabel=bool(source_sweep or display_name.strip()))
        return saved

    async def get_configuration(self, uid: str) -> ConfigurationRow:
        return await self.store.get_configuration(configuration_uid(uid))

    async def best_configuration(self, mode: str) -> tuple[ConfigurationRow, JobRow]:
        """The configuration of `mode` whose completed job has the lowest final validation loss."""
        mode = _mode(mode or "manual")
        results = await self.store.completed_results(mode=mode)
        if not results:
            raise NotFound(f"no completed {mode}-mode job has a final validation loss yet, so there is no best {mode} "
                           "configuration: run a job on a dataset with a validation split first",
                           reason="NO_BEST_CONFIGURATION", metadata={"mode": mode})
        best = results[0]
        row = await self.store.find_configuration(best.config_uid)
        if row is None:  # jobs save their configuration, but one could have been made before that existed
            row = await self.save_configuration(best.values, mode=mode)
        return row, best

    async def configuration_results(self, uids: list[str]) -> dict[str, tuple[JobRow, int]]:
        """For each UID with completed results: (its best job, how many completed jobs)."""
        out: dict[str, tuple[JobRow, int]] = {}
        for job in await self.store.completed_results(uids=uids):
            best, count = out.get(job.config_uid, (job, 0))
            out[job.config_uid] = (best, count + 1)
        return out

    # --- jobs --------------------------------------------------------------------------------

    async def check(self, draft: JobDraft) -> tuple[JobRow, ValidationReport]:
        """Check everything about a submitted job; InvalidArgument (reason INVALID_JOB) naming every problem."""
        problems = Problems("INVALID_JOB", "the job")
        job_id = draft.job_id.strip()
        if job_id:
            try:
                job_id = parse_name(job_id, "jobs")
            except InvalidArgument as exc:
                problems.add("job_id", exc.message)
        mode = draft.mode if draft.mode in uid_codec.MODES else ""
        if not mode:
            problems.add("mode", f"mode must be one of {', '.join(uid_codec.MODES)}, got {draft.mode!r}")
        tags = _clean_tags(draft.tags, problems)
        _check_metadata(draft.metadata, problems)
        if draft.priority not in PRIORITIES:
            problems.add("priority", f"priority must be one of {', '.join(PRIORITIES)}, got {draft.priority!r}")
        if draft.timeout_seconds < 0:
            problems.add("timeout", f"timeout must not be negative, got {draft.timeout_seconds:g}s")
        if draft.gpu_count < 0:
            problems.add("gpu_count", f"gpu_count must be 0 (CPU) or more, got {draft.gpu_count}")
        elif problem := workers_problem(draft.workers, draft.gpu_count):
            problems.add("workers", problem)
        _check_saving(draft.model_saving, problems)

        values = dict(draft.hyperparameters)
        if draft.configuration_uid:
            saved = await self._find_saved(draft.configuration_uid)
            if saved is not None:
                values = saved.values | values
            elif not values:
                problems.add("configuration.hyperparameters.uid",
                             f"configuration {draft.configuration_uid!r} is not saved; save it first or give the values")

        dataset: DatasetInfo | None = None
        if not draft.dataset.strip():
            problems.add("configuration.dataset.uid", "a dataset is required: give the id of an uploaded dataset")
        else:
            dataset, problem = await lookup_or_problem(self.datasets, draft.dataset.strip())
            if problem:
                problems.add("configuration.dataset.uid", problem)
            elif dataset.train_rows <= 0:
                problems.add("configuration.dataset.uid", f"dataset {dataset.id!r} has no training rows")

        profile, check = None, None
        model = draft.model.strip()
        if not model:
            problems.add("configuration.model.uid", "a model is required: give a model id such as finetune-builtin/tiny-llama-3m")
        else:
            try:
                parse_model_id(model, field="configuration.model.uid", local_roots=None)
            except InvalidArgument as exc:
                problems.add("configuration.model.uid", exc.message)
            else:
                check = await self.models(model, uid_codec.defaults() | values)
                for problem in check.problems:
                    problems.add("configuration.model.uid", problem)
                profile = model_profile(model, check)

        report = validate_hyperparameters(values, mode=mode or "manual", profile=profile,
                                          dataset_rows=dataset.train_rows if dataset else None, memory=self._memory())
        for issue in report.errors:
            where = f"configuration.hyperparameters.{issue.field}" if issue.field else "configuration.hyperparameters"
            problems.add(where, issue.message)
        # What dispatch would refuse, refused now in the words the trainer would use.
        targets = target_modules_error(report.normalized["target_modules"], check.target_modules) \
            if check is not None and report.normalized is not None else None
        if targets is not None:
            problems.add("configuration.hyperparameters.target_modules", targets.message)
        if draft.gpu_count > 0:
            gpus = await self.dispatcher.trainers.most_gpus()
            if gpus is not None and draft.gpu_count > gpus:
                problems.add("gpu_count", gpu_shortfall(draft.gpu_count, gpus, "the largest trainer"))
        problems.raise_if_any()
        saved_name = _saved_model_name(draft)
        if saved_name:
            await self._check_name_free(saved_name)

        warnings = list(report.warnings)
        if draft.configuration_uid and draft.configuration_uid != report.uid:
            warnings.append(Issue("uid", "CONFIGURATION_UID_CHANGED",
                                  f"the values used have configuration UID {report.uid}, not {draft.configuration_uid}"))
        if dataset is not None and dataset.validation_rows == 0:
            warnings.append(Issue("", "NO_VALIDATION_SPLIT",
                                  f"dataset {dataset.id!r} has no validation split: the job will not measure a validation loss, "
                                  "so it cannot rank as a best configuration; upload it with a validation_fraction"))
        saving = {k: draft.model_saving[k] for k in SAVING_FIELDS if k in draft.model_saving}
        row = JobRow(
            id=job_id or new_id("job"), display_name=draft.display_name.strip() or f"{model} on {dataset.display_name or dataset.id}",
            description=draft.description, tags=dumps(tags), metadata_json=dumps(draft.metadata), saved_model_name=saved_name,
            model=model, model_name=draft.model_name,
            dataset=dataset.id, dataset_name=draft.dataset_name or dataset.display_name, dataset_rows=dataset.train_rows,
            hyperparameters=dumps(report.normalized), config_uid=report.uid, mode=mode, model_saving=dumps(saving),
            priority=PRIORITIES[draft.priority], timeout_seconds=float(draft.timeout_seconds), gpu_count=draft.gpu_count,
            workers=draft.workers,
            state=JobState.CREATED.value, max_attempts=self.max_attempts, metrics=dumps({"dataset_rows": dataset.train_rows}),
            warnings=dumps([vars(w) for w in warnings]), sweep_id=draft.sweep_id, trial_number=draft.trial_number,
        )
        return row, report

    async def submit(self, row: JobRow, hub_token: str = "") -> JobRow:
        """Store a checked job (CREATED), save its configuration, and queue it."""
        row.sealed_hub_token = self.dispatcher.secrets.seal(hub_token)
        await self.store.add_job(row, "SUBMITTED", "the job was checked and accepted")
        await self.store.save_configuration(ConfigurationRow(uid=row.config_uid, mode=row.mode, hyperparameters=row.hyperparameters,
                                                             display_name=_describe(row.values)))
        row = await self.store.transition(row.id, JobState.QUEUED, "ENQUEUED", "waiting for trainer capacity")
        self.dispatcher.wake()
        return row

    async def create(self, draft: JobDraft, *, validate_only: bool = False) -> JobRow:
        row, _ = await self.check(draft)
        if validate_only:
            return row
        return await self.submit(row, draft.hub_token)

    # --- helpers -------------------------------------------------------------------------------

    async def _check_name_free(self, name: str) -> None:
        """A saved model's name names one model: ALREADY_EXISTS when a job already saves one under it or the
        catalog has it registered."""
        holder = await self.store.job_saving_model(name)
        registered = holder is None and self.registry is not None and await self.registry(fine_tuned_id(name))
        if holder is not None or registered:
            who = f"job 'jobs/{holder.id}' ({holder.state})" if holder is not None else f"the registered model {fine_tuned_id(name)!r}"
            raise AlreadyExists(f"model_saving.model_name {name!r} is taken by {who}: pick another name, or delete the "
                                "registered model first", reason="MODEL_NAME_TAKEN",
                                metadata={"field": "model_saving.model_name", "model_name": name})

    def _memory(self) -> MachineMemory | None:
        try:
            return self.memory() if self.memory else None
        except Exception as exc:  # noqa: BLE001 - guidance only; never block a request on it
            log.info("machine memory unavailable: %s", exc)
            return None

    async def _saved_values(self, values: dict) -> dict:
        uid = values.pop("uid", "")
        if not uid:
            return values
        saved = await self.store.find_configuration(configuration_uid(uid))
        if saved is None:
            raise NotFound(f"configuration 'configurations/{uid}' does not exist", reason="CONFIGURATION_NOT_FOUND")
        return saved.values | values

    async def _find_saved(self, uid: str) -> ConfigurationRow | None:
        try:
            return await self.store.find_configuration(configuration_uid(uid))
        except InvalidArgument:
            return None  # not one of ours (e.g. the guide's sample UID): the values given decide


def model_profile(model_id: str, check: ModelCheck) -> ModelProfile:
    """What the guidance uses of the catalog's answer (0 there: unknown)."""
    return ModelProfile(model_id, check.parameters or None, check.hidden_size or None, check.num_layers or None,
                        check.vocab_size or None)


def configuration_uid(name: str) -> str:
    """`configurations/{uid}` or a bare UID -> the UID, checked by the codec."""
    uid = (name or "").strip().removeprefix("configurations/")
    uid_codec.decode(uid)
    return uid


def _mode(mode: str) -> str:
    mode = (mode or "manual").strip().lower().removeprefix("configuration_mode_")
    if mode in ("", "unspecified"):
        return "manual"
    if mode not in uid_codec.MODES:
        raise InvalidArgument(f"mode must be manual or automated, got {mode!r}", reason="INVALID_MODE", metadata={"mode": mode})
    return mode


def _describe(values: dict) -> str:
    return (f"{values.get('epochs')} epochs, lr {values.get('learning_rate'):g}, batch {values.get('batch_size')}, "
            f"r {values.get('lora_r')}, alpha {values.get('lora_alpha'):g}")


def _clean_tags(tags: list[str], problems: Problems) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    if len(cleaned) > MAX_TAGS:
        problems.add("tags", f"at most {MAX_TAGS} tags, got {len(cleaned)}")
    for tag in cleaned:
        if len(tag) > MAX_TAG_CHARS:
            problems.add("tags", f"tag {tag[:20]!r}... is longer than {MAX_TAG_CHARS} characters")
    return cleaned


def _saved_model_name(draft: JobDraft) -> str:
    """The name the job's model will be registered under; "" when it saves none (sweep trials never do)."""
    saving = draft.model_saving
    return str(saving.get("model_name") or "") if saving.get("save_model") and not draft.sweep_id else ""


def _check_metadata(metadata: dict[str, str], problems: Problems) -> None:
    if len(metadata) > MAX_METADATA:
        problems.add("metadata", f"at most {MAX_METADATA} metadata pairs, got {len(metadata)}")
    for key, value in metadata.items():
        if not key or len(key) > MAX_METADATA_KEY_CHARS:
            problems.add("metadata", f"metadata key {key[:20]!r} must have 1 to {MAX_METADATA_KEY_CHARS} characters")
        elif len(value) > MAX_METADATA_VALUE_CHARS:
            problems.add(f"metadata.{key}", f"the value of metadata key {key!r} is longer than {MAX_METADATA_VALUE_CHARS} characters")


def _check_saving(saving: dict, problems: Problems) -> None:
    name = str(saving.get("model_name") or "")
    if name and not _MODEL_NAME_RE.match(name):
        problems.add("model_saving.model_name", f"model name {name!r} must be letters, digits, '.', '_' or '-' (at most 96), "
                                                "starting with a letter or digit")
    if saving.get("push_to_hub") and not saving.get("save_model"):
        problems.add("model_saving.push_to_hub", "push_to_hub needs save_model: a model that is not saved cannot be uploaded")
    if saving.get("push_to_hub") and not name:
        problems.add("model_saving.model_name", "a model name is required to push to the hub")
    if saving.get("make_public") and not saving.get("push_to_hub"):
        problems.add("model_saving.make_public", "make_public only applies when push_to_hub is set")

