"""Step profiling of a running job, on request: where a step's time goes.

`finetune jobs profile JOB` (ProfileRun) sends the worker a `profile` command; it runs its next N steps
under `torch.profiler` with each phase of a step labelled (`record_function`): data (collating the batch
and moving it to the device), forward, backward, optimizer (gradient clipping, the update, the scheduler,
zeroing), logging (the step's events and evaluation bookkeeping). `StepProfiler.report()` is the table:
each phase's seconds and share of the profiled steps' wall time ("other" is what no label covers), the
operators that took the most time themselves, the peak memory, and the guide's advice where a number calls
for it. It is written as `profile.json` in the run's folder; DiagnoseRun shows the latest one.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import time

import torch

PHASES = ("data", "forward", "backward", "optimizer", "logging")
PROFILE_FILE = "profile.json"
_DATA_SHARE, _OPTIMIZER_SHARE, _LOGGING_SHARE = 0.15, 0.35, 0.10


class StepProfiler:
    """Profiles `steps` steps; `phase(name)` labels a part of each; `step_done()` counts them."""

    def __init__(self, steps: int, first_step: int, device: torch.device):
        activities = [torch.profiler.ProfilerActivity.CPU]
        if device.type == "cuda":
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        self.left, self.first_step, self.device = steps, first_step, device
        self.steps, self.wall = steps, 0.0
        self._profile = torch.profiler.profile(activities=activities, record_shapes=False)
        self._profile.__enter__()
        self._started = time.perf_counter()

    def phase(self, name: str):
        return torch.profiler.record_function(name)

    def step_done(self) -> bool:
        """Counts a profiled step; True when the last one is done (the profiler has stopped)."""
        self.left -= 1
        if self.left > 0:
            return False
        self.wall = time.perf_counter() - self._started
        self._profile.__exit__(None, None, None)
        return True

    def report(self, memory_total_bytes: int | None = None) -> dict:
        events = self._profile.key_averages()
        by_name = {e.key: e for e in events}
        cuda = self.device.type == "cuda"

        def seconds(event) -> float:
            return (event.device_time_total if cuda and getattr(event, "device_time_total", 0) else event.cpu_time_total) / 1e6

        phases = [{"phase": p, "seconds": seconds(by_name[p]) if p in by_name else 0.0} for p in PHASES]
        other = max(0.0, self.wall - sum(p["seconds"] for p in phases))
        phases.append({"phase": "other", "seconds": other})
        for p in phases:
            p["percent"] = 100.0 * p["seconds"] / self.wall if self.wall > 0 else 0.0
        ops = sorted((e for e in events if e.key not in PHASES and not e.key.startswith("ProfilerStep")),
                     key=lambda e: e.self_cpu_time_total, reverse=True)[:8]
        peak = _peak_memory_bytes(self.device)
        report = {"first_step": self.first_step + 1, "last_step": self.first_step + self.steps, "steps": self.steps,
                  "wall_seconds": self.wall, "phases": phases,
                  "top_operators": [{"name": e.key, "self_seconds": e.self_cpu_time_total / 1e6, "calls": e.count} for e in ops],
                  "peak_memory_bytes": peak, "device": self.device.type}
        report["advice"] = advice(report, memory_total_bytes)
        return report


def _peak_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB


def advice(report: dict, memory_total_bytes: int | None) -> list[str]:
    """The guide's data-loading and memory advice, where the profile's numbers call for it."""
    share = {p["phase"]: p["percent"] / 100 for p in report["phases"]}
    out = []
    if share.get("data", 0) > _DATA_SHARE:
        out.append(f"data takes {share['data']:.0%} of each step: turn packing on (fewer, fuller batches), keep "
                   "max_seq_length near the longest rows, and on a GPU pin memory so copies overlap compute")
    if share.get("optimizer", 0) > _OPTIMIZER_SHARE:
        out.append(f"the optimizer takes {share['optimizer']:.0%} of each step: with few tokens per step the update "
                   "dominates; a larger batch_size (or gradient_accumulation_steps) spreads its cost")
    if share.get("logging", 0) > _LOGGING_SHARE:
        out.append(f"logging takes {share['logging']:.0%} of each step: raise logging_steps")
    if memory_total_bytes and report["peak_memory_bytes"] > 0.85 * memory_total_bytes:
        out.append(f"peak memory is {report['peak_memory_bytes'] / memory_total_bytes:.0%} of the device's: lower batch_size "
                   "and raise gradient_accumulation_steps to keep the effective batch, or shorten max_seq_length")
    return out


def maybe(profiler: StepProfiler | None, name: str):
    """`profiler.phase(name)` while profiling, else nothing (the unprofiled step pays no cost)."""
    return profiler.phase(name) if profiler is not None else contextlib.nullcontext()
