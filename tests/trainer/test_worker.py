"""The worker process: run.json in, the events.jsonl journal out (the worker link: test_link.py); DDP under torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.trainer.worker import EVENTS_FILE, main, worker_command, write_run_spec
from tests.trainer.helpers import (  # noqa: F401 (model_dir is a fixture)
    FAST_ARTIFACTS,
    TRAIN_ROWS,
    VALIDATION_ROWS,
    make_recipe,
    model_dir,
    small_config,
    step_losses,
)

REPO = Path(__file__).resolve().parents[2]


def _events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / EVENTS_FILE).read_text().splitlines()]


def _spec(run_dir, model_dir, **config):
    write_run_spec(run_dir, config=small_config(**config).to_dict(), model_path=model_dir, train_rows=TRAIN_ROWS,
                   validation_rows=VALIDATION_ROWS, artifacts=FAST_ARTIFACTS.__dict__, device="cpu", num_threads=1)


def test_a_worker_run_by_hand_journals_its_run_and_a_second_one_only_sees_it_is_over(model_dir, tmp_path):
    _spec(tmp_path, model_dir, max_steps=4, scheduler="constant", learning_rate=5e-4)

    assert main(["--run-dir", str(tmp_path)]) == 0

    events = _events(tmp_path)
    states = [e["state"] for e in events if e["type"] == "state"]
    assert states == ["running", "completed"]
    assert {e["learning_rate"] for e in events if e["type"] == "step"} == {5e-4}
    log = (tmp_path / "artifacts" / "train.log").read_text()
    assert "state running" in log
    assert (tmp_path / "artifacts" / "metrics.json").is_file()
    # A journal that ends in a final state is a finished run: a new worker resends it (to no trainer here)
    # and exits without training again.
    assert main(["--run-dir", str(tmp_path)]) == 0
    assert _events(tmp_path) == events


def test_worker_reports_bad_specs(model_dir, tmp_path):
    write_run_spec(tmp_path / "bad", config={"learning_rate": 5}, model_path=model_dir, train_rows=TRAIN_ROWS)
    assert main(["--run-dir", str(tmp_path / "bad")]) == 2
    failed = _events(tmp_path / "bad")[-1]
    assert (failed["state"], failed["reason"]) == ("failed", "invalid_training_config")
    assert "learning_rate must be in (0.0, 1.0]" in failed["message"]

    _spec(tmp_path / "modules", model_dir, target_modules=["c_attn"])
    assert main(["--run-dir", str(tmp_path / "modules")]) == 1
    failed = _events(tmp_path / "modules")[-1]
    assert failed["reason"] == "invalid_training_config" and "q_proj" in failed["message"]


def test_worker_command_lines(tmp_path):
    assert worker_command(tmp_path, 1, "py") == ["py", "-m", "services.trainer.worker", "--run-dir", str(tmp_path)]
    assert worker_command(tmp_path, 2, "py")[:5] == ["py", "-m", "torch.distributed.run", "--standalone",
                                                     "--nproc_per_node=2"]


@pytest.mark.slow
def test_ddp_two_ranks_match_one_process_with_the_same_global_batch(model_dir, tmp_path):
    """2 gloo ranks x batch 2 take the same optimizer steps as 1 process x batch 4."""
    common = dict(lora_dropout=0.0, max_steps=4, eval_steps=2, save_steps=2)
    _spec(tmp_path / "ddp", model_dir, batch_size=2, **common)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(worker_command(tmp_path / "ddp", nproc=2), cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    events = _events(tmp_path / "ddp")
    assert [e["state"] for e in events if e["type"] == "state"] == ["running", "completed"]  # rank 0 only
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [2, 4]
    single: list[dict] = []
    recipe = make_recipe(model_dir, tmp_path / "single", small_config(batch_size=4, **common), single)
    recipe.setup()
    recipe.train()
    ddp_losses, single_losses = step_losses(events), step_losses(single)
    assert ddp_losses.keys() == single_losses.keys() == {1, 2, 3, 4}
    for step in ddp_losses:
        assert ddp_losses[step] == pytest.approx(single_losses[step], abs=1e-5)
    ddp_eval = [e["validation_loss"] for e in events if e["type"] == "eval"]
    single_eval = [e["validation_loss"] for e in single if e["type"] == "eval"]
    assert ddp_eval == pytest.approx(single_eval, abs=1e-5)
    summaries = [[e for e in run if e["type"] == "summary"] for run in (events, single)]
    assert summaries[0][0]["tokens_seen"] == summaries[1][0]["tokens_seen"]


def test_a_worker_process_keeps_the_memory_a_step_frees_for_the_next():
    """`keep_freed_memory`: a freed 20 MB block stays in the heap (glibc's mallinfo2 counts it free) where
    glibc's default would have unmapped it. In a process of its own: the setting is process-wide."""
    script = """
import ctypes, sys
from services.trainer.worker import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p

def kept_after_free(size=20 << 20):
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(ctypes.c_void_p(block))
    return libc.mallinfo2().fordblks >= size

before = kept_after_free()
print(before, keep_freed_memory(), kept_after_free())
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True", "True"]
