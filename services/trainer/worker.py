"""The training worker: one run in its own process, its spec in its run directory, its events and commands on
the worker link to the trainer.

    python -m services.trainer.worker --run-dir RUN_DIR [--events-stdout] [--storage URL --run RUN_ID]
    torchrun --standalone --nproc_per_node N -m services.trainer.worker --run-dir RUN_DIR   (DDP)

With `--storage` (a Ray node that shares no folder with the trainer: `services.trainer.storage`) the worker
first stages the run's inputs and newest checkpoint from the storage into RUN_DIR, a folder of its node, and
uploads each checkpoint and its artifacts there.

`worker_command(run_dir, nproc)` builds either command line. A crash, an OOM kill or a cancel ends
this process only; the trainer follows its stream and its exit status.

Inputs in RUN_DIR (`write_run_spec` writes them):
- `run.json`: {"config": {TrainingConfig fields}, "model_path": str, "train_file": str,
  "validation_file": str|null, "artifacts": {ArtifactOptions fields: save_model, model_name,
  eval_rows, sample_generations, max_new_tokens}, "device": "auto"|"cpu"|"cuda",
  "num_threads": int|null, "resume": bool}. Relative file paths are relative to RUN_DIR.
- the data files: JSON lines, one {"input": str, "output": str} object per line.
- `link.json` (written 0600 by the trainer before each attempt; absent for a worker run by hand): where
  the trainer's worker link listens, the run, the attempt and its token (`services.trainer.link`).
  Commands (`services.trainer.control`) arrive on the link; SIGTERM is a graceful cancel.

Outputs in RUN_DIR:
- `events.jsonl`, the journal: one event per line (schemas in `services.trainer.recipe`), appended and
  flushed per event (and fsynced for everything but step events) by rank 0, and streamed to the trainer
  from the offset it has stored (so a new worker first resends what its predecessor could not); a worker
  whose journal already ends in a final state, or whom the trainer tells to finish (the run was
  cancelled), only resends and exits. `--events-stdout` echoes the events to stdout.
  The last `state` event is authoritative; if the process died without one, the run failed.
- `train.log`, `checkpoints/checkpoint-<step>/`, `artifacts/` (see `services.trainer.artifacts`).

The worker sets `WORKER_ENV` (short OpenMP spin-waits) for itself before importing torch, and has glibc keep
the memory it frees for the next step (`keep_freed_memory`).

Exit status: 0 when the run ended completed, stopped_early or cancelled; 1 when it failed (its
`failed` state event says why: timeout, out_of_memory, error, or a domain reason such as
invalid_training_config); 2 when run.json itself is unusable (an event says so when possible).
A new worker on the same RUN_DIR resumes from the newest complete checkpoint.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import logging
import os
import signal
import sys
import threading
import traceback
import warnings
from pathlib import Path

from services.common.errors import FinetuneError

RUN_SPEC = "run.json"
EVENTS_FILE = "events.jsonl"
LINK_WELCOME_SECONDS = 30.0  # how long a worker waits for the trainer's welcome before training regardless
LINK_SWITCH_INTERVAL = 0.0005  # seconds: see _start_link
LINK_DRAIN_SECONDS = 120.0  # how long a finished worker waits for the trainer to store its last events (a restarting one too)
WORKER_LOG = "worker.log"  # the worker's stdout and stderr, written by whoever starts it
TERMINAL_STATES = frozenset({"completed", "failed", "cancelled", "stopped_early"})
# OpenMP threads spin while they wait for work: by default (libgomp) ~300k iterations per parallel region,
# which makes a run 3-20x slower at random whenever another process wants the same cores (measured: 2 torch
# threads on 2 shared cores; 10k iterations still halved throughput under load). A training step runs
# thousands of small parallel regions, so a very short spin (1000) is kept for when the machine is idle.
# It must be in the environment before torch is imported: the worker sets it for itself, and a parent that
# imports torch before handing over a run directory should start with it.
WORKER_ENV = {"GOMP_SPINCOUNT": "1000", "KMP_BLOCKTIME": "0"}


def worker_command(run_dir: Path, nproc: int = 1, python: str = sys.executable) -> list[str]:
    """The command line that runs RUN_DIR: a plain process, or torchrun with `nproc` ranks for DDP."""
    worker = ["-m", "services.trainer.worker", "--run-dir", str(run_dir)]
    if nproc <= 1:
        return [python, *worker]
    return [python, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *worker]


def write_run_spec(run_dir: Path, *, config: dict, model_path: str | Path, train_rows: list[dict],
                   validation_rows: list[dict] | None = None, artifacts: dict | None = None,
                   device: str = "auto", num_threads: int | None = None, resume: bool = True) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(run_dir / "train.jsonl", train_rows)
    if validation_rows:
        _write_jsonl(run_dir / "validation.jsonl", validation_rows)
    spec = {"config": config, "model_path": str(model_path), "train_file": "train.jsonl",
            "validation_file": "validation.jsonl" if validation_rows else None, "artifacts": artifacts or {},
            "device": device, "num_threads": num_threads, "resume": resume}
    path = run_dir / RUN_SPEC
    partial = path.with_name(RUN_SPEC + ".partial")  # renamed into place last: a run.json is always a whole one
    partial.write_text(json.dumps(spec, indent=2))
    os.replace(partial, path)
    return path


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


class EventWriter:
    """Appends events to events.jsonl, durable per event; remembers whether a terminal state was written. Offsets
    are the journal's: `base` (where this node's file starts, `services.trainer.storage`) plus the file's size."""

    def __init__(self, path: Path, echo_stdout: bool = False, base: int = 0) -> None:
        self._file = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()  # a checkpoint's upload thread reports it (services.trainer.recipe)
        self._base = base
        self._echo = echo_stdout
        self.terminal_state: str | None = None
        self.on_write = None  # called with the journal's size after each event (the worker link)

    def __call__(self, event: dict) -> None:
        line = json.dumps(event, allow_nan=True, default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            if event.get("type") != "step":
                os.fsync(self._file.fileno())
            if self.on_write is not None:
                self.on_write(self._base + self._file.tell())
        if self._echo:
            print(line, flush=True)
        if event.get("type") == "state" and event.get("state") in TERMINAL_STATES:
            self.terminal_state = event["state"]

    def close(self) -> None:
        self._file.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.trainer.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--events-stdout", action="store_true", help="also print each event as a JSON line")
    parser.add_argument("--storage", default="", help="the storage URL to stage the run from and upload to")
    parser.add_argument("--run", default="", help="the run's id in the storage (with --storage)")
    args = parser.parse_args(argv)
    return run_training(args.run_dir.resolve(), events_stdout=args.events_stdout, storage=args.storage, run_id=args.run)


def use_worker_env() -> None:
    """Set `WORKER_ENV` in this process (what was set already wins): read by OpenMP when torch loads, so
    only effective before torch is imported."""
    for name, value in WORKER_ENV.items():
        os.environ.setdefault(name, value)


# glibc's mallopt parameters (malloc.h) and the values the worker sets: freed memory is never given back to the
# kernel (trim threshold, the largest int), the heap grows 256 MiB at a time (address space: pages cost memory
# only once written), and blocks of up to 32 MiB (glibc's own ceiling) come from that heap instead of mmap.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
KEPT_MEMORY_SETTINGS = ((M_TRIM_THRESHOLD, 2**31 - 1), (M_TOP_PAD, 256 << 20), (M_MMAP_THRESHOLD, 32 << 20))


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep the memory a training step frees, for the next step to reuse.

    A step allocates and frees the same large activations every time (1-40 MB each for the 25M built-in
    model). By default glibc serves blocks that large with mmap and unmaps them when freed, so every step
    faults in and zeroes its activations again: measured on a LoRA step of the 25M model, a third of the
    process's system time and 13-15% of its wall time (peak RSS unchanged, 2.3 GB). The benchmark gives
    every trainer it times the same setting. For processes that only train (the worker's entry point, a
    standby, a Ray Train rank): a long-lived process keeps its largest footprint. Returns whether glibc took
    them (False elsewhere: macOS, musl)."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(parameter, value) == 1 for parameter, value in KEPT_MEMORY_SETTINGS)


def run_training(run_dir: Path, *, events_stdout: bool = False, storage: str = "", run_id: str = "") -> int:
    """Run RUN_DIR's spec to a terminal state in this process; returns the exit status described above."""
    use_worker_env()
    rank = int(os.environ.get("RANK", "0"))
    is_main = rank == 0
    run_dir.mkdir(parents=True, exist_ok=True)
    handler = _configure_logging(run_dir, is_main)
    warnings.filterwarnings("ignore", category=FutureWarning)
    from services.trainer.control import QueueControl
    from services.trainer.storage import RunStorage, journal_base

    commands = QueueControl()
    events, link, mirror, staging_error = None, None, None, ""
    if storage:
        try:
            mirror = RunStorage(storage)
            mirror.stage(run_id, run_dir)
        except Exception as exc:  # noqa: BLE001 - no inputs: say why (on the link when there is one) and exit 2
            logging.getLogger("services.trainer").error("staging the run from %s failed: %s", storage, exc)
            mirror, staging_error = None, f"the run's inputs could not be staged from {storage}: {type(exc).__name__}: {exc}"
    if is_main:
        terminate_partial_line(run_dir / EVENTS_FILE)
        base = journal_base(run_dir)
        events = EventWriter(run_dir / EVENTS_FILE, events_stdout, base=base)
        link = _start_link(run_dir, events, commands, base)
    try:
        if staging_error:
            _emit_failure(events, "storage_unavailable", staging_error)
            return 2
        finished = _finished_already(run_dir, link)
        return finished if finished is not None else _run(run_dir, events, commands, mirror, run_id)
    finally:
        if link is not None:
            if not link.drain(LINK_DRAIN_SECONDS):
                logging.getLogger("services.trainer").warning(
                    "the trainer did not store the last events within %.0f s; the next worker resends them",
                    LINK_DRAIN_SECONDS)
            link.close()
        if events is not None:
            events.close()
        logging.getLogger("services.trainer").removeHandler(handler)
        handler.close()


def _start_link(run_dir: Path, events: EventWriter, commands, base: int):
    """Stream the journal to the trainer that started this worker (none for a worker run by hand)."""
    from services.trainer.link import LINK_FILE, JournalLink, read_link_file

    settings = read_link_file(run_dir)
    if settings is None:
        return None
    link = JournalLink(run_dir / EVENTS_FILE, settings, commands, settings_file=run_dir / LINK_FILE, base=base).start()
    events.on_write = link.wrote
    # The link's thread sends each event while the training thread runs Python between kernels: with the default
    # 5 ms GIL switch interval an event waited about that long to leave (p50 4.1 ms step -> subscriber, against
    # 1.5 ms when the trainer tailed a file); 0.5 ms hands the GIL over sooner at no measurable training cost.
    sys.setswitchinterval(LINK_SWITCH_INTERVAL)
    if not link.welcomed.wait(LINK_WELCOME_SECONDS):
        logging.getLogger("services.trainer").warning(
            "no welcome from the trainer at %s within %.0f s; training, the link keeps trying",
            settings["address"], LINK_WELCOME_SECONDS)
    return link


def _finished_already(run_dir: Path, link) -> int | None:
    """The exit status of a worker that has only its predecessor's journal to resend: the journal already ends
    in a final state, or the trainer says the run is over. None: train."""
    final = last_state(run_dir / EVENTS_FILE)
    if final in TERMINAL_STATES:
        return 1 if final == "failed" else 0
    if link is not None and link.welcome is not None and link.welcome.finish:
        return 0
    return None


def last_state(journal: Path) -> str | None:
    """The state of the journal's last state event."""
    state = None
    try:
        with open(journal, "rb") as f:
            for line in f:
                if b'"type": "state"' in line:
                    try:
                        state = json.loads(line).get("state")
                    except ValueError:
                        pass
    except FileNotFoundError:
        pass
    return state


def terminate_partial_line(path: Path) -> None:
    """A worker killed mid-write may leave half a line; end it so the next worker's first line stays whole
    (the half line is then reported as unreadable)."""
    try:
        with open(path, "rb+") as f:
            if f.seek(0, os.SEEK_END) == 0:
                return
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")
    except FileNotFoundError:
        pass


def _emit_failure(events: EventWriter | None, reason: str, message: str) -> None:
    if events is not None and events.terminal_state is None:
        import time

        events({"type": "state", "state": "failed", "reason": reason, "message": message[:2000], "step": 0,
                "time": time.time()})


def _run(run_dir: Path, events: EventWriter | None, commands, mirror=None, run_id: str = "") -> int:
    from services.trainer.artifacts import ArtifactOptions
    from services.common.hyperparameters import TrainingConfig

    try:
        spec = json.loads((run_dir / RUN_SPEC).read_text())
        config = TrainingConfig.from_dict(spec.get("config") or {})
        train_rows = read_jsonl(_resolve(run_dir, spec["train_file"]))
        validation_rows = read_jsonl(_resolve(run_dir, spec["validation_file"])) if spec.get("validation_file") else []
        artifacts = ArtifactOptions.from_dict(spec.get("artifacts"))
        model_path = Path(spec["model_path"])
    except FinetuneError as exc:
        _emit_failure(events, exc.reason.lower(), exc.message)
        return 2
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _emit_failure(events, "invalid_run_spec", f"{RUN_SPEC} is unusable: {type(exc).__name__}: {exc}")
        return 2

    import torch

    torch.set_num_threads(spec.get("num_threads") or _default_threads())
    from services.trainer.recipe import Recipe, RunPaths, TrainingData

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: commands.send("cancel"))
    log = logging.getLogger("services.trainer")
    recipe = Recipe(config, RunPaths(run_dir, model_path, mirror, run_id), TrainingData(train_rows, validation_rows), events,
                    commands, artifacts=artifacts, device=spec.get("device", "auto"),
                    resume=spec.get("resume", True))
    try:
        recipe.setup()
        result = recipe.train()
        return 0 if result.state in ("completed", "stopped_early", "cancelled") else 1
    except FinetuneError as exc:
        log.error("run failed: %s", exc.message)
        _emit_failure(events, exc.reason.lower(), exc.message)
        return 1
    except BaseException as exc:  # noqa: BLE001 - the process boundary: report everything, then exit non-zero
        log.error("run failed:\n%s", traceback.format_exc())
        reason = "out_of_memory" if isinstance(exc, (MemoryError, torch.OutOfMemoryError)) else "error"
        _emit_failure(events, reason, f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        recipe.cleanup()


def _resolve(run_dir: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else run_dir / path


def _default_threads() -> int:
    """The cores this process may use, shared among the ranks on this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def _configure_logging(run_dir: Path, is_main: bool) -> logging.Handler:
    log = logging.getLogger("services.trainer")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler: logging.Handler
    if is_main:
        handler = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return handler


if __name__ == "__main__":
    keep_freed_memory()  # a process of its own (not main() called in-process, as tests do)
    sys.exit(main())
