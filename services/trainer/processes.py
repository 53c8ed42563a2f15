"""The trainer's child processes: launched so that they die with it, killed with all their descendants,
leftovers of a previous trainer found and killed, and standby
workers that have imported torch before a run needs them (`python -m services.trainer.processes --standby`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psutil

from services.trainer.worker import WORKER_LOG, keep_freed_memory, use_worker_env

# Runs first in each child (no preexec_fn: Python code between fork and exec in a process with gRPC's
# threads can crash): ask the kernel for SIGKILL when the trainer dies (kill -9 included), give up if it
# already has, then exec the real command. Without prctl (not Linux) leftovers are killed at the next start.
_DIE_WITH_PARENT = (
    "import ctypes,os,sys\n"
    "try: ctypes.CDLL(None).prctl(1, 9)\n"
    "except (OSError, AttributeError): pass\n"
    "os.getppid() == int(sys.argv[1]) or os._exit(70)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def die_with_parent(command: list[str], python: str = sys.executable) -> list[str]:
    """`command`, run so that the kernel kills it when this process dies."""
    return [python, "-S", "-c", _DIE_WITH_PARENT, str(os.getpid()), *command]


def create_time(pid: int) -> float:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return 0.0


def kill_tree(pid: int) -> None:
    """SIGKILL a worker, its process group and every descendant (torchrun's ranks)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        procs = []
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_run_workers(pid: int, started: float, run_dir: Path) -> None:
    """Kill what a previous trainer left running on `run_dir`: the recorded worker (if the pid still is that
    process) and any process whose command line names the run directory (orphaned torchrun ranks)."""
    victims = []
    if pid and started and abs(create_time(pid) - started) < 0.5:
        victims.append(pid)
    needle = str(run_dir)
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.pid != os.getpid() and "--run-dir" in cmdline and needle in cmdline:
            victims.append(proc.pid)
    for victim in victims:
        kill_tree(victim)
    if victims:
        psutil.wait_procs([p for v in victims if (p := _process(v))], timeout=5)


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


class WarmPool:
    """Standby worker processes that have already imported torch, transformers and peft (about 4 s on a
    CPU) and wait for a run directory on stdin, so a run's first step comes sooner."""

    def __init__(self, size: int, python: str, log_dir: Path):
        self.size = size
        self.python = python
        self.log_dir = Path(log_dir)
        self._ready: list[asyncio.subprocess.Process] = []

    async def fill(self) -> None:
        self._ready = [p for p in self._ready if p.returncode is None]
        while len(self._ready) < self.size:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with open(self.log_dir / "standby.log", "ab") as out:
                command = [self.python, "-m", "services.trainer.processes", "--standby"]
                self._ready.append(await asyncio.create_subprocess_exec(
                    *die_with_parent(command, self.python), stdin=asyncio.subprocess.PIPE, stdout=out,
                    stderr=asyncio.subprocess.STDOUT, start_new_session=True))

    async def take(self, run_dir: Path) -> asyncio.subprocess.Process | None:
        while self._ready:
            proc = self._ready.pop(0)
            if proc.returncode is not None:
                continue
            try:
                proc.stdin.write(f"{run_dir}\n".encode())
                await proc.stdin.drain()
                proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                continue
            return proc
        return None

    async def stop(self) -> None:
        for proc in self._ready:
            if proc.returncode is None:
                kill_tree(proc.pid)
                await proc.wait()
        self._ready = []


def standby_main() -> int:
    """A standby worker: import the heavy modules, then run the run directory that arrives on stdin."""
    use_worker_env()  # before torch loads: the same OpenMP settings as a started worker
    keep_freed_memory()
    import matplotlib

    matplotlib.use("Agg")  # as the artifacts' loss curve does
    import matplotlib.pyplot  # noqa: F401
    import peft  # noqa: F401
    import sacrebleu  # noqa: F401 - the final evaluation's BLEU
    import transformers
    from transformers.models.llama import modeling_llama  # noqa: F401 - the built-in models' class

    import services.trainer.recipe  # noqa: F401 - torch and the training code
    from services.trainer import worker

    transformers.AutoModelForCausalLM, transformers.get_scheduler  # noqa: B018 - resolve the lazy attributes
    try:
        _warm_up()
    except Exception as exc:  # noqa: BLE001 - only a lost head start, never a lost run
        print(f"standby warm-up failed: {exc!r}", flush=True)
    line = sys.stdin.readline().strip()
    if not line:
        return 0  # the trainer stopped without using this standby
    run_dir = Path(line)
    fd = os.open(run_dir / WORKER_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    return worker.run_training(run_dir.resolve())


def _warm_up() -> None:
    """One training step (and the artifacts) of a micro Llama through the real recipe: the first step of a
    process pays seconds of one-time set-up (autograd, kernels, peft, plotting) that a run should not."""
    import tempfile

    from transformers import LlamaConfig, LlamaForCausalLM

    from services.catalog.builtin_models import build_tokenizer
    from services.trainer.artifacts import ArtifactOptions
    from services.common.hyperparameters import TrainingConfig
    from services.trainer.recipe import Recipe, RunPaths, TrainingData, run_recipe

    with tempfile.TemporaryDirectory(prefix="finetune-warm-up-") as tmp:
        tokenizer = build_tokenizer()
        model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                             num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                             pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                                             eos_token_id=tokenizer.eos_token_id))
        model_dir = Path(tmp) / "model"
        model.save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)
        rows = [{"input": "warm up", "output": "ready"}] * 4
        config = TrainingConfig.from_dict({"batch_size": 2, "max_steps": 1, "save_steps": 0, "max_seq_length": 32})
        run_recipe(Recipe(config, RunPaths(Path(tmp) / "run", model_dir), TrainingData(rows, rows[:1]), None,
                          artifacts=ArtifactOptions(eval_rows=1, sample_generations=1, max_new_tokens=2), device="cpu"))


if __name__ == "__main__" and sys.argv[1:] == ["--standby"]:
    sys.exit(standby_main())
