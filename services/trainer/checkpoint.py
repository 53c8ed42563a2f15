"""Atomic, resumable checkpoints under `<run_dir>/checkpoints/checkpoint-<step>/`.

Each checkpoint holds everything an exact resume needs, in safe formats only:
- `adapter_model.safetensors` + `adapter_config.json`: the LoRA weights (loadable by peft as an adapter);
- `optimizer.pt`, `scheduler.pt`: state dicts (`torch.load(weights_only=True)`);
- `rng_state.pt`: python, numpy, torch CPU and CUDA generator states, one entry per rank;
- `trainer_state.json`: step, data position (epoch, index in the epoch's shuffled order, shuffle
  seed), early-stopping state, elapsed time and the metrics history. Written last: a directory
  named `checkpoint-<step>` that has it is complete.

A checkpoint is written to `.tmp-checkpoint-<step>-<pid>/`, every file fsynced, then renamed into
place (rename is atomic on one filesystem), so a crash mid-save never leaves a half checkpoint
that resume would pick up. Only the newest `keep` checkpoints are kept.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

PREFIX = "checkpoint-"
STATE_FILE = "trainer_state.json"
ADAPTER_FILE = "adapter_model.safetensors"
ADAPTER_CONFIG_FILE = "adapter_config.json"
_NAME = re.compile(r"^checkpoint-(\d+)$")


@dataclass
class CheckpointState:
    path: Path
    adapter: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    rng: list[dict[str, Any]]
    trainer: dict[str, Any]

    @property
    def step(self) -> int:
        return int(self.trainer["step"])


def list_checkpoints(checkpoints_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    if not checkpoints_dir.is_dir():
        return []
    found = []
    for child in checkpoints_dir.iterdir():
        match = _NAME.match(child.name)
        if match and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return [path for _, path in sorted(found)]


def latest_checkpoint(checkpoints_dir: Path) -> Path | None:
    checkpoints = list_checkpoints(checkpoints_dir)
    return checkpoints[-1] if checkpoints else None


def save_adapter(directory: Path, model) -> None:
    """LoRA weights as safetensors plus peft's adapter_config.json (what `PeftModel.from_pretrained` reads)."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu").contiguous() for k, v in get_peft_model_state_dict(model).items()}
    save_file(state, str(directory / ADAPTER_FILE), metadata={"format": "pt"})
    model.peft_config["default"].save_pretrained(str(directory))


def load_adapter(directory: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(directory / ADAPTER_FILE))


def write_checkpoint(
    checkpoints_dir: Path,
    step: int,
    *,
    model,
    optimizer_state: dict,
    scheduler_state: dict,
    rng_states: list[dict],
    trainer_state: dict,
    keep: int,
) -> Path:
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(checkpoints_dir)
    tmp = checkpoints_dir / f".tmp-{PREFIX}{step}-{os.getpid()}"
    tmp.mkdir()
    save_adapter(tmp, model)
    _torch_save(optimizer_state, tmp / "optimizer.pt")
    _torch_save(scheduler_state, tmp / "scheduler.pt")
    _torch_save(rng_states, tmp / "rng_state.pt")
    _write_text(tmp / STATE_FILE, json.dumps(trainer_state, indent=1, allow_nan=True))
    for name in (ADAPTER_FILE, ADAPTER_CONFIG_FILE):
        _fsync_file(tmp / name)
    _fsync_dir(tmp)
    final = checkpoints_dir / f"{PREFIX}{step}"
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(checkpoints_dir)
    for old in list_checkpoints(checkpoints_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def read_checkpoint(path: Path) -> CheckpointState:
    return CheckpointState(
        path=path,
        adapter=load_adapter(path),
        optimizer=torch.load(path / "optimizer.pt", weights_only=True, map_location="cpu"),
        scheduler=torch.load(path / "scheduler.pt", weights_only=True, map_location="cpu"),
        rng=torch.load(path / "rng_state.pt", weights_only=True, map_location="cpu"),
        trainer=json.loads((path / STATE_FILE).read_text()),
    )


def capture_rng_state() -> dict[str, Any]:
    """Every generator a training step may draw from (dropout uses torch's), as weights_only-loadable values."""
    import numpy as np

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype("int64")), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    import numpy as np

    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype("uint32"), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _torch_save(obj, path: Path) -> None:
    with open(path, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def _write_text(path: Path, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temporaries(checkpoints_dir: Path) -> None:
    """Leftovers of a save that crashed midway: never complete, never used."""
    for child in checkpoints_dir.iterdir():
        if child.name.startswith(".tmp-"):
            shutil.rmtree(child, ignore_errors=True)
