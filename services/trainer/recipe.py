"""The LoRA fine-tuning recipe: `setup()`, `train()`, `save_checkpoint()`, `cleanup()`, top to bottom.

Batch semantics: a micro-batch is `batch_size` examples per rank, packed into one padding-free row
(or padded when `packing` is off); an optimizer step takes `gradient_accumulation_steps`
micro-batches on every rank. The loss of a step is the mean cross-entropy over all target (output)
tokens of the step, on all ranks together: each micro-batch contributes its summed token loss
divided by the step's total target-token count, so the gradient does not depend on how examples
were split into micro-batches, rows or ranks.

Events go to `event_sink` (a callable taking one dict; rank 0 only). Their schemas:
- `{"type": "state", "state": "running"|"paused"|"completed"|"failed"|"cancelled"|"stopped_early",
   "reason": str, "message": str, "step": int}`; reasons: running/paused: "started", "resumed",
   "pause_requested"; completed: "epochs_completed", "max_steps_reached"; stopped_early:
   "early_stopping", "stop_requested"; cancelled: "cancel_requested"; failed: "timeout",
   "out_of_memory", "error". The terminal state comes after the artifacts are written.
- `{"type": "step", "step", "epoch" (float), "train_loss", "learning_rate", "grad_norm",
   "tokens_per_second", "samples_per_second", "elapsed_seconds", "eta_seconds",
   "percent_complete", "total_steps", "tokens"}` every `logging_steps` steps (rates over that window,
   tokens cumulative real tokens on all ranks, elapsed excludes paused time).
- `{"type": "eval", "step", "validation_loss", "perplexity"}`.
- `{"type": "checkpoint", "step", "path"}` once a checkpoint is complete on disk.
- `{"type": "log", "level": "info"|"warning"|"error", "message"}`.
- `{"type": "alert", "severity", "code", "message", "suggestion"}` for non-finite losses and OOM.
- `{"type": "summary", ...}`: the final metrics (also in artifacts/metrics.json) before the terminal state.
Every event also carries `"time"` (unix seconds).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from services.common.errors import FailedPrecondition, InvalidArgument
from services.trainer import artifacts as artifact_files
from services.trainer import distributed as dist_utils
from services.trainer.artifacts import ArtifactOptions
from services.trainer.checkpoint import (
    capture_rng_state,
    latest_checkpoint,
    read_checkpoint,
    restore_rng_state,
    write_checkpoint,
)
from services.common.hyperparameters import TrainingConfig
from services.trainer.control import Command, Control, NoControl
from services.trainer.profiling import PROFILE_FILE, StepProfiler, maybe
from services.trainer.data import collate, count_targets, epoch_order, micro_batches, shard, tokenize_rows
from services.trainer.evaluation import bleu_and_samples, diagnose, loss_sums, oom_suggestions, perplexity
from services.trainer.modeling import (
    TrainingForward,
    apply_lora,
    autocast_for,
    load_base_model,
    load_tokenizer,
    select_device,
    summed_loss,
)

logger = logging.getLogger("services.trainer")
EventSink = Callable[[dict], None]


@dataclass(frozen=True)
class RunPaths:
    run_dir: Path
    model_path: Path
    storage: Any = None  # a RunStorage every node sees: checkpoints and artifacts are uploaded there too
    run_id: str = ""  # the run's id in that storage

    @property
    def checkpoints_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def artifacts_dir(self) -> Path:
        return self.run_dir / "artifacts"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "train.log"


@dataclass
class TrainingData:
    """Rows of {"input", "output"}; other keys are ignored."""

    train: list[dict]
    validation: list[dict] = field(default_factory=list)


@dataclass
class RunResult:
    state: str
    reason: str
    step: int
    summary: dict


@dataclass
class StepResult:
    loss: float
    grad_norm: float
    tokens: int
    examples: int
    seconds: float


class _Stop(Exception):
    """Raised inside the loop to leave it with a terminal state."""

    def __init__(self, state: str, reason: str, message: str):
        super().__init__(message)
        self.state, self.reason, self.message = state, reason, message


class Recipe:
    def __init__(
        self,
        config: TrainingConfig,
        paths: RunPaths,
        data: TrainingData,
        event_sink: EventSink | None = None,
        control: Control | None = None,
        *,
        artifacts: ArtifactOptions | None = None,
        device: str = "auto",
        resume: bool = True,
        pause_poll_seconds: float = 0.2,
    ) -> None:
        self.config = config
        self.paths = paths
        self.data = data
        self.event_sink = event_sink
        self.control = control or NoControl()
        self._profiler: StepProfiler | None = None  # while a `profile` command's steps run
        self.artifact_options = artifacts or ArtifactOptions()
        self.device_request = device
        self.resume = resume
        self.pause_poll_seconds = pause_poll_seconds
        self._upload: threading.Thread | None = None  # the newest checkpoint's upload to the storage, if any

    # ---------------------------------------------------------------------------------- setup
    def setup(self) -> None:
        cfg = self.config
        self.dist = dist_utils.init_from_env()
        self.device = select_device(self.device_request, self.dist.local_rank)
        _seed_all(cfg.seed)  # the same LoRA initialisation on every rank

        self.tokenizer = load_tokenizer(self.paths.model_path)
        self.model = apply_lora(load_base_model(self.paths.model_path, self.device), cfg)
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.pad_id = self.tokenizer.pad_token_id or 0

        self.train_set = tokenize_rows(self.tokenizer, self.data.train, cfg.max_seq_length)
        self.val_set = tokenize_rows(self.tokenizer, self.data.validation or [], cfg.max_seq_length)
        if not len(self.train_set):
            raise InvalidArgument("the training split has no usable rows (each needs an input or an output)",
                                  reason="EMPTY_TRAINING_SPLIT")
        self.truncated = self.train_set.truncated + self.val_set.truncated
        self._log("info", f"{len(self.train_set)} training and {len(self.val_set)} validation examples; "
                          f"{self.truncated} truncated to max_seq_length={cfg.max_seq_length}, "
                          f"{self.train_set.skipped + self.val_set.skipped} empty rows skipped")

        world = self.dist.world_size
        self.micro_per_epoch = len(self._epoch_plan(0))
        self.steps_per_epoch = math.ceil(self.micro_per_epoch / cfg.gradient_accumulation_steps)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        if cfg.max_steps:
            self.total_steps = min(self.total_steps, cfg.max_steps)

        self.optimizer = _build_optimizer(cfg, self.trainable)
        from transformers import get_scheduler

        self.scheduler = get_scheduler(cfg.scheduler, self.optimizer, num_warmup_steps=cfg.warmup_for(self.total_steps),
                                       num_training_steps=self.total_steps)
        self._reset_progress()
        checkpoint = latest_checkpoint(self.paths.checkpoints_dir) if self.resume else None
        if checkpoint is not None:
            self._load_checkpoint(checkpoint)
        else:
            _seed_all(cfg.seed + self.dist.rank)  # dropout differs per rank

        self.train_model = TrainingForward(self.model)
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.train_model, device_ids=device_ids)
        trainable = sum(p.numel() for p in self.trainable)
        self._log("info", f"{trainable:,} trainable LoRA parameters on {self.device} "
                          f"(world size {world}); {self.total_steps} steps, {self.steps_per_epoch} per epoch")

    def _reset_progress(self) -> None:
        self.step = 0
        self.epoch = 0
        self.micro_index = 0
        self.elapsed_before = 0.0
        self.tokens_seen = 0
        self.examples_seen = 0
        self.history: list[dict] = []
        self.best_val: float | None = None
        self.evals_without_improvement = 0
        self.last_eval_step = -1
        self.last_saved_step = -1

    # ---------------------------------------------------------------------------------- train
    def train(self) -> RunResult:
        self._segment_start = time.perf_counter()
        self._paused_seconds = 0.0
        self._segment_steps, self._segment_train_seconds = 0, 0.0
        self._window = [0, 0, 0.0]  # tokens, examples, seconds since the last step event
        self._emit_state("running", "resumed" if self.step else "started", f"training from step {self.step}")
        try:
            try:
                while self.step < self.total_steps:
                    self._between_steps()
                    result = self._train_step(self._next_step_micro_batches())
                    self.step += 1
                    with maybe(self._profiler, "logging"):
                        self._after_step(result)
                    self._profiled_step()
                reason = "max_steps_reached" if self.config.max_steps == self.total_steps else "epochs_completed"
                raise _Stop("completed", reason, f"trained {self.step} steps")
            except _Stop as stop:
                return self._finish(stop)
        except (torch.OutOfMemoryError, MemoryError) as exc:
            advice = oom_suggestions(_millions(self.model), self.config.batch_size)
            self._emit({"type": "alert", "severity": "error", "code": "OUT_OF_MEMORY", "message": str(exc)[:500],
                        "suggestion": "; ".join(advice)})
            self._emit_state("failed", "out_of_memory", f"out of memory at step {self.step + 1}: {exc}"[:1000])
            raise
        except Exception as exc:
            self._emit_state("failed", "error", f"{type(exc).__name__} at step {self.step + 1}: {exc}"[:1000])
            raise

    def _next_step_micro_batches(self) -> list[list[int]]:
        """This step's global micro-batches; a step never spans two epochs."""
        cfg = self.config
        plan = self._epoch_plan(self.epoch)
        chunk = plan[self.micro_index : self.micro_index + cfg.gradient_accumulation_steps]
        self.micro_index += len(chunk)
        if self.micro_index >= len(plan):
            self.epoch, self.micro_index = self.epoch + 1, 0
        return chunk

    def _epoch_plan(self, epoch: int) -> list[list[int]]:
        cached = getattr(self, "_plan", None)
        if cached is None or cached[0] != epoch:
            world = self.dist.world_size
            order = epoch_order(len(self.train_set), self.config.seed, epoch, world)
            self._plan = (epoch, micro_batches(order, self.config.batch_size, world))
        return self._plan[1]

    def _train_step(self, global_micro_batches: list[list[int]]) -> StepResult:
        start = time.perf_counter()
        cfg, info, examples = self.config, self.dist, self.train_set.examples
        step_targets = sum(count_targets(examples[i]) for mb in global_micro_batches for i in mb)
        # DDP averages gradients over ranks; scaling by world size makes that the sum this normalisation wants.
        scale = info.world_size / step_targets
        self.train_model.train()
        loss_sum, tokens, count = 0.0, 0, 0
        profiler = self._profiler
        for j, global_mb in enumerate(global_micro_batches):
            with maybe(profiler, "data"):
                batch = collate([examples[i] for i in shard(global_mb, info.rank, info.world_size)],
                                packed=cfg.packing, pad_token_id=self.pad_id).to(self.device)
            last = j == len(global_micro_batches) - 1
            no_sync = self.train_model.no_sync() if info.enabled and not last else contextlib.nullcontext()
            with no_sync:
                with maybe(profiler, "forward"), autocast_for(self.device):
                    loss = summed_loss(self.train_model, batch)
                with maybe(profiler, "backward"):
                    (loss * scale).backward()
            loss_sum += loss.item()
            tokens += batch.num_tokens
            count += batch.num_examples
        with maybe(profiler, "optimizer"):
            max_norm = cfg.max_grad_norm if cfg.max_grad_norm > 0 else float("inf")
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.trainable, max_norm))
            self.last_lr = self.optimizer.param_groups[0]["lr"]
            if math.isfinite(grad_norm):
                self.optimizer.step()
            else:
                self._emit({"type": "alert", "severity": "warning", "code": "NON_FINITE_GRADIENTS",
                            "message": f"step {self.step + 1}: gradient norm is {grad_norm}; the update was skipped",
                            "suggestion": "reduce the learning rate and check the data"})
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
        loss_sum, tokens, count = dist_utils.sum_across([loss_sum, tokens, count], info)
        return StepResult(loss_sum / step_targets, grad_norm, int(tokens), int(count), time.perf_counter() - start)

    def _after_step(self, r: StepResult) -> None:
        cfg = self.config
        self.tokens_seen += r.tokens
        self.examples_seen += r.examples
        self._segment_steps += 1
        self._segment_train_seconds += r.seconds
        self._window = [self._window[0] + r.tokens, self._window[1] + r.examples, self._window[2] + r.seconds]
        record = {"step": self.step, "epoch": round(self.step / self.steps_per_epoch, 6), "train_loss": r.loss,
                  "learning_rate": self.last_lr, "grad_norm": r.grad_norm, "tokens": self.tokens_seen,
                  "elapsed_seconds": round(self._elapsed(), 3)}
        if self.step % cfg.logging_steps == 0 or self.step == self.total_steps:
            tokens, examples, seconds = self._window
            record["tokens_per_second"] = tokens / seconds if seconds > 0 else 0.0
            per_step = self._segment_train_seconds / self._segment_steps
            self._emit({"type": "step", **record, "samples_per_second": examples / seconds if seconds > 0 else 0.0,
                        "eta_seconds": round(per_step * (self.total_steps - self.step), 3),
                        "percent_complete": round(100.0 * self.step / self.total_steps, 3),
                        "total_steps": self.total_steps})
            self._window = [0, 0, 0.0]
        self.history.append(record)
        if not math.isfinite(r.loss):
            self._emit({"type": "alert", "severity": "error", "code": "NON_FINITE_LOSS",
                        "message": f"step {self.step}: training loss is {r.loss}",
                        "suggestion": "numerical instability: reduce the learning rate and check the data"})

        epoch_end = self.micro_index == 0
        if len(self.val_set) and ((cfg.eval_steps and self.step % cfg.eval_steps == 0)
                                  or (not cfg.eval_steps and epoch_end)):
            self._evaluate_and_check_early_stopping()
        if cfg.save_steps and self.step % cfg.save_steps == 0:
            self.save_checkpoint()

    def _between_steps(self) -> None:
        """Apply the commands that arrived, wait while paused, stop on cancel, stop_early or timeout."""
        paused = False
        while True:
            commands, timed_out = self._commands_and_timeout()
            for command in commands:
                paused = self._apply(command, paused)
            if timed_out and not paused:
                self.save_checkpoint()
                raise _Stop("failed", "timeout", f"timeout_seconds={self.config.timeout_seconds:g} reached "
                                                 f"after {self.step} steps; checkpoint saved")
            if not paused:
                return
            time.sleep(self.pause_poll_seconds)

    def _commands_and_timeout(self) -> tuple[list[Command], bool]:
        commands, timed_out = [], False
        if self.dist.is_main:
            commands = self.control.poll()
            timed_out = bool(self.config.timeout_seconds) and self._elapsed() >= self.config.timeout_seconds
        return dist_utils.broadcast_from_main((commands, timed_out), self.dist)

    def _apply(self, command: Command, paused: bool) -> bool:
        """Returns whether the run is paused after the command."""
        if command.name == "pause" and not paused:
            self._pause_started = time.perf_counter()
            self._emit_state("paused", "pause_requested", f"paused after step {self.step}")
            return True
        if command.name == "resume" and paused:
            self._paused_seconds += time.perf_counter() - self._pause_started
            self._emit_state("running", "resumed", f"resumed at step {self.step}")
            return False
        if command.name == "cancel":
            raise _Stop("cancelled", "cancel_requested", f"cancelled after step {self.step}")
        if command.name == "stop_early":
            raise _Stop("stopped_early", "stop_requested", f"stopped on request after step {self.step}")
        if command.name == "save_checkpoint":
            self.save_checkpoint()
        elif command.name == "set_learning_rate":
            self._set_learning_rate(command.value)
        elif command.name == "profile" and self.dist.is_main and self._profiler is None:
            self._profiler = StepProfiler(int(command.value), self.step, self.device)
            self._log("info", f"profiling steps {self.step + 1} to {self.step + int(command.value)}")
        return paused

    def _profiled_step(self) -> None:
        """Counts a profiled step; after the last, writes the profile (`profile.json` in the run's folder)."""
        if self._profiler is None or not self._profiler.step_done():
            return
        report, self._profiler = self._profiler.report(_device_memory(self.device)), None
        path = self.paths.run_dir / PROFILE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(report))
        tmp.replace(path)
        busiest = max(report["phases"], key=lambda p: p["seconds"])
        self._log("info", f"profiled steps {report['first_step']} to {report['last_step']}: {busiest['phase']} takes "
                          f"{busiest['percent']:.0f}% of the time")

    def _set_learning_rate(self, value: float) -> None:
        """Make the current LR `value`; the schedule's shape continues, rescaled (base_lr * value / current)."""
        for i, group in enumerate(self.optimizer.param_groups):
            base = self.scheduler.base_lrs[i]
            factor = group["lr"] / base if base > 0 else 0.0
            new_base = value / factor if factor > 0 else value
            self.scheduler.base_lrs[i] = new_base
            group["initial_lr"] = new_base
            group["lr"] = value
        self._log("info", f"learning rate set to {value:g} at step {self.step}")

    # ---------------------------------------------------------------------------------- evaluation
    def evaluate(self) -> dict:
        total, count = loss_sums(self.model, self.val_set.examples[self.dist.rank :: self.dist.world_size],
                                 self.config.batch_size, self.device, packed=self.config.packing,
                                 pad_token_id=self.pad_id)
        total, count = dist_utils.sum_across([total, count], self.dist)
        loss = total / max(count, 1)
        return {"step": self.step, "validation_loss": loss, "perplexity": perplexity(loss)}

    def _evaluate_and_check_early_stopping(self) -> None:
        cfg = self.config
        result = self.evaluate()
        self.last_eval_step = self.step
        self._emit({"type": "eval", **result})
        if self.history and self.history[-1]["step"] == self.step:
            self.history[-1].update(validation_loss=result["validation_loss"], perplexity=result["perplexity"])
        loss = result["validation_loss"]
        if self.best_val is None or loss < self.best_val - cfg.early_stopping_threshold:
            self.best_val, self.evals_without_improvement = loss, 0
        else:
            self.evals_without_improvement += 1
        if cfg.early_stopping_patience and self.evals_without_improvement >= cfg.early_stopping_patience:
            raise _Stop("stopped_early", "early_stopping",
                        f"validation loss did not improve for {self.evals_without_improvement} evaluations "
                        f"(best {self.best_val:.4f})")

    # ---------------------------------------------------------------------------------- checkpoints
    def save_checkpoint(self) -> Path | None:
        """Write a checkpoint of the current step (every rank must call this together)."""
        rng_states = dist_utils.gather_to_main(capture_rng_state(), self.dist)
        path = None
        if self.dist.is_main and self.last_saved_step != self.step:
            self._finish_upload()  # this save may drop the folder the previous one uploads from
            path = write_checkpoint(
                self.paths.checkpoints_dir, self.step, model=self.model,
                optimizer_state=self.optimizer.state_dict(), scheduler_state=self.scheduler.state_dict(),
                rng_states=rng_states, trainer_state=self._trainer_state(), keep=self.config.keep_checkpoints,
            )
            event = {"type": "checkpoint", "step": self.step, "path": str(path)}
            if self.paths.storage is None:
                self._emit(event)
            else:
                self._start_upload(path, event)
        self.last_saved_step = self.step
        dist_utils.barrier(self.dist)
        return path

    def _start_upload(self, path: Path, event: dict) -> None:
        """Upload a checkpoint to the storage while training goes on; it is reported once uploaded, when a worker
        on any node could resume from it."""
        def upload() -> None:
            try:
                self.paths.storage.put_checkpoint(self.paths.run_id, path, self.config.keep_checkpoints)
            except Exception as exc:  # noqa: BLE001 - the storage away for a while: the next checkpoint tries again
                self._log("warning", f"{path.name} was not uploaded to the storage ({type(exc).__name__}: {exc}); "
                                     "a relaunched worker resumes from the last one that was")
                return
            self._emit(event)

        self._upload = threading.Thread(target=upload, name="checkpoint-upload", daemon=True)
        self._upload.start()

    def _finish_upload(self) -> None:
        if self._upload is not None:
            self._upload.join()
            self._upload = None

    def _trainer_state(self) -> dict:
        cfg = self.config
        return {
            "step": self.step, "epoch": self.epoch,
            "example_index": self.micro_index * cfg.batch_size * self.dist.world_size,
            "shuffle_seed": cfg.seed, "world_size": self.dist.world_size, "batch_size": cfg.batch_size,
            "gradient_accumulation_steps": cfg.gradient_accumulation_steps, "total_steps": self.total_steps,
            "elapsed_seconds": self._elapsed(), "tokens_seen": self.tokens_seen,
            "examples_seen": self.examples_seen, "best_validation_loss": self.best_val,
            "evals_without_improvement": self.evals_without_improvement, "last_eval_step": self.last_eval_step,
            "metrics_history": self.history, "config": cfg.to_dict(),
        }

    def _load_checkpoint(self, path: Path) -> None:
        from peft import set_peft_model_state_dict

        state = read_checkpoint(path)
        t = state.trainer
        cfg = self.config
        expected = (self.dist.world_size, cfg.batch_size, cfg.gradient_accumulation_steps, cfg.seed)
        found = (t["world_size"], t["batch_size"], t["gradient_accumulation_steps"], t["shuffle_seed"])
        if expected != found:
            raise FailedPrecondition(
                f"checkpoint {path.name} was written with world_size, batch_size, gradient_accumulation_steps, "
                f"seed = {found}; this run has {expected}, so its data position cannot be resumed exactly",
                reason="CHECKPOINT_INCOMPATIBLE",
            )
        set_peft_model_state_dict(self.model, state.adapter)
        self.optimizer.load_state_dict(state.optimizer)
        self.scheduler.load_state_dict(state.scheduler)
        self.step, self.epoch = t["step"], t["epoch"]
        self.micro_index = t["example_index"] // (cfg.batch_size * self.dist.world_size)
        self.elapsed_before = t["elapsed_seconds"]
        self.tokens_seen, self.examples_seen = t["tokens_seen"], t["examples_seen"]
        self.history = t["metrics_history"]
        self.best_val, self.evals_without_improvement = t["best_validation_loss"], t["evals_without_improvement"]
        self.last_eval_step = t["last_eval_step"]
        self.last_saved_step = self.step
        rng = state.rng[self.dist.rank] if self.dist.rank < len(state.rng) else state.rng[0]
        restore_rng_state(rng)  # last: nothing after this may draw random numbers before the next step
        self._log("info", f"resumed from {path.name} (step {self.step}, epoch {self.epoch}, "
                          f"example {t['example_index']} of the epoch's order)")

    # ---------------------------------------------------------------------------------- the end
    def _finish(self, stop: _Stop) -> RunResult:
        summary: dict[str, Any] = {}
        if stop.state == "cancelled":
            self._finish_upload()
            self._emit_state(stop.state, stop.reason, stop.message)
            return RunResult(stop.state, stop.reason, self.step, summary)
        full = stop.state in ("completed", "stopped_early")
        if full and len(self.val_set) and self.last_eval_step != self.step:
            result = self.evaluate()
            self.last_eval_step = self.step
            self._emit({"type": "eval", **result})
            if self.history and self.history[-1]["step"] == self.step:
                self.history[-1].update(validation_loss=result["validation_loss"], perplexity=result["perplexity"])
        if full and self.step > 0:
            self.save_checkpoint()
        if self.dist.is_main:
            self._finish_upload()
            summary = self._write_artifacts(full, stop)
            if self.paths.storage is not None:  # before the final state: the trainer fetches them on it
                self.paths.storage.put_artifacts(self.paths.run_id, self.paths.artifacts_dir)
            self._emit({"type": "summary", **summary, "samples": [_clipped(r) for r in summary.get("samples", [])]})
        dist_utils.barrier(self.dist)
        self._emit_state(stop.state, stop.reason, stop.message)
        return RunResult(stop.state, stop.reason, self.step, summary)

    def _write_artifacts(self, full: bool, stop: _Stop) -> dict:
        opts, out = self.artifact_options, self.paths.artifacts_dir
        out.mkdir(parents=True, exist_ok=True)
        summary = self._summary(stop)
        if full:
            rows, split = (self.data.validation, "validation") if self.data.validation else (self.data.train, "train")
            report = bleu_and_samples(self.model, self.tokenizer, rows, max_rows=opts.eval_rows,
                                      max_new_tokens=opts.max_new_tokens, num_samples=opts.sample_generations)
            summary.update(bleu=report["bleu"], bleu_split=split, bleu_rows=report["rows_scored"],
                           samples=report["samples"])
            summary["adapter_dir"] = str(artifact_files.save_adapter_artifact(out, self.model, self.tokenizer))
        artifact_files.write_json(out / "training_config.json", {
            "config": self.config.to_dict(), "model_path": str(self.paths.model_path),
            "artifacts": opts.__dict__, "world_size": self.dist.world_size, "device": str(self.device),
        })
        artifact_files.write_metrics(out, summary, self.history)
        artifact_files.plot_loss_curve(out / "loss_curve.png", self.history)
        if full and opts.save_model:
            summary["model_dir"] = str(artifact_files.save_merged_model(out, self.model, self.tokenizer))
            artifact_files.write_metrics(out, summary, self.history)
        self._log("info", f"artifacts written to {out}")
        artifact_files.copy_log(self.paths.log_file, out)
        return summary

    def _summary(self, stop: _Stop) -> dict:
        losses = [m["train_loss"] for m in self.history if m.get("train_loss") is not None]
        evals = [m for m in self.history if m.get("validation_loss") is not None]
        elapsed = self._elapsed()
        return {
            "state": stop.state, "reason": stop.reason, "steps": self.step, "total_steps": self.total_steps,
            "epochs": round(self.step / self.steps_per_epoch, 6),
            "final_train_loss": losses[-1] if losses else None,
            "final_validation_loss": evals[-1]["validation_loss"] if evals else None,
            "final_perplexity": evals[-1]["perplexity"] if evals else None,
            "best_validation_loss": self.best_val,
            "train_examples": len(self.train_set), "validation_examples": len(self.val_set),
            "truncated_examples": self.truncated, "tokens_seen": self.tokens_seen,
            "examples_seen": self.examples_seen, "elapsed_seconds": round(elapsed, 3),
            "tokens_per_second": self.tokens_seen / elapsed if elapsed > 0 else None,
            "trainable_parameters": sum(p.numel() for p in self.trainable),
            "diagnostics": [f.to_dict() for f in diagnose(self.history, self.config)],
        }

    def cleanup(self) -> None:
        self._finish_upload()
        dist_utils.shutdown(getattr(self, "dist", dist_utils.DistInfo()))

    # ---------------------------------------------------------------------------------- events
    def _elapsed(self) -> float:
        start = getattr(self, "_segment_start", None)
        if start is None:
            return self.elapsed_before
        return self.elapsed_before + time.perf_counter() - start - self._paused_seconds

    def _emit(self, event: dict) -> None:
        if self.event_sink is not None and getattr(self, "dist", dist_utils.DistInfo()).is_main:
            event.setdefault("time", time.time())
            self.event_sink(event)

    def _emit_state(self, state: str, reason: str, message: str) -> None:
        self._log("info" if state != "failed" else "error", f"state {state} ({reason}): {message}")
        self._emit({"type": "state", "state": state, "reason": reason, "message": message,
                    "step": getattr(self, "step", 0)})

    def _log(self, level: str, message: str) -> None:
        logger.log(getattr(logging, level.upper()), message)
        self._emit({"type": "log", "level": level, "message": message})


def _build_optimizer(cfg: TrainingConfig, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    if cfg.optimizer in ("adamw", "adamw_torch"):
        return torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.learning_rate, momentum=0.9, weight_decay=cfg.weight_decay)
    from transformers.optimization import Adafactor

    return Adafactor(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay, scale_parameter=False,
                     relative_step=False, warmup_init=False)


def _seed_all(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _device_memory(device: torch.device) -> int | None:
    """The device's total memory (the machine's for the CPU), for the profile's memory advice."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        return None


def _millions(model) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


def run_recipe(recipe: Recipe) -> RunResult:
    """setup, train, cleanup: what the worker and tests call."""
    try:
        recipe.setup()
        return recipe.train()
    finally:
        recipe.cleanup()


SAMPLE_EVENT_CHARS = 2000  # per text of a sample in the summary event; artifacts/metrics.json keeps them whole


def _clipped(sample: dict) -> dict:
    """A sample generation for the summary event, each text cut to SAMPLE_EVENT_CHARS, so the event stays small."""
    return {k: v[:SAMPLE_EVENT_CHARS] + "…" if isinstance(v, str) and len(v) > SAMPLE_EVENT_CHARS else v for k, v in sample.items()}
