"""Resource samples (psutil; NVML when GPUs exist) and the guide's threshold alerts, fired once per crossing."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import psutil

log = logging.getLogger("finetune.trainer.monitor")

WARNING, CRITICAL = "warning", "critical"


class Gpus:
    """NVML, initialised once; a machine without the driver or GPUs gives an empty list, never an error."""

    def __init__(self) -> None:
        self._nvml = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception as exc:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ImportError...
            log.debug("no NVIDIA GPUs visible: %s", exc)
            self._handles = []

    @property
    def count(self) -> int:
        return len(self._handles)

    def sample(self) -> list[dict]:
        out = []
        for index, handle in enumerate(self._handles):
            out.append({
                "index": index,
                "name": self._read(lambda: _text(self._nvml.nvmlDeviceGetName(handle)), ""),
                "utilization_percent": float(self._read(lambda: self._nvml.nvmlDeviceGetUtilizationRates(handle).gpu, 0)),
                "memory_used_bytes": int(self._read(lambda: self._nvml.nvmlDeviceGetMemoryInfo(handle).used, 0)),
                "memory_total_bytes": int(self._read(lambda: self._nvml.nvmlDeviceGetMemoryInfo(handle).total, 0)),
                "temperature_celsius": float(self._read(
                    lambda: self._nvml.nvmlDeviceGetTemperature(handle, self._nvml.NVML_TEMPERATURE_GPU), 0)),
                "power_watts": self._read(lambda: self._nvml.nvmlDeviceGetPowerUsage(handle), 0) / 1000.0,
            })
        return out

    def _read(self, fn, default):
        try:
            return fn()
        except Exception:  # noqa: BLE001 - a field the device does not support (NVMLError_NotSupported)
            return default


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class ResourceSampler:
    """One sampler per service: CPU percent and I/O rates are measured since its previous sample."""

    def __init__(self, disk_path: Path | str = "/", gpus: Gpus | None = None):
        self.disk_path = str(disk_path)
        self.gpus = gpus or Gpus()
        psutil.cpu_percent(None)  # the first call only primes the counter
        self._previous = (time.monotonic(), _disk_io(), _net_io())
        self.latest: dict | None = None

    def sample(self, pids: Iterable[int] = ()) -> dict:
        """The machine now, plus the summed resident memory of the given processes and their children."""
        now, disk, net = time.monotonic(), _disk_io(), _net_io()
        then, disk0, net0 = self._previous
        self._previous = (now, disk, net)
        dt = max(now - then, 1e-6)
        memory = psutil.virtual_memory()
        try:
            disk_percent = psutil.disk_usage(self.disk_path).percent
        except OSError:
            disk_percent = 0.0
        sample = {
            "time": time.time(),
            "cpu_percent": psutil.cpu_percent(None),
            "cpu_count": psutil.cpu_count() or 0,
            "memory_percent": memory.percent,
            "memory_used_bytes": memory.total - memory.available,
            "memory_total_bytes": memory.total,
            "process_rss_bytes": process_tree_rss(pids),
            "disk_read_bytes_per_second": max(0, disk[0] - disk0[0]) / dt,
            "disk_write_bytes_per_second": max(0, disk[1] - disk0[1]) / dt,
            "network_sent_bytes_per_second": max(0, net[0] - net0[0]) / dt,
            "network_received_bytes_per_second": max(0, net[1] - net0[1]) / dt,
            "disk_percent": disk_percent,
            "gpus": self.gpus.sample(),
        }
        self.latest = sample
        return sample


def _disk_io() -> tuple[int, int]:
    counters = psutil.disk_io_counters()
    return (counters.read_bytes, counters.write_bytes) if counters else (0, 0)


def _net_io() -> tuple[int, int]:
    counters = psutil.net_io_counters()
    return (counters.bytes_sent, counters.bytes_recv) if counters else (0, 0)


def process_tree_rss(pids: Iterable[int]) -> int:
    """Resident bytes of the processes and all their descendants (torchrun's ranks included)."""
    total, seen = 0, set()
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for proc in procs:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
    return total


class ProcessUsage:
    """Resident memory and CPU of process trees, cheaply: finding a tree's descendants scans every process, so
    the tree is re-read only every `refresh` seconds while its members are read each time."""

    def __init__(self, refresh: float = 10.0):
        self.refresh = refresh
        self._trees: dict[int, tuple[float, list[psutil.Process]]] = {}

    def _tree(self, pid: int) -> list[psutil.Process]:
        now = time.monotonic()
        entry = self._trees.get(pid)
        if entry is None or now - entry[0] > self.refresh:
            try:
                root = psutil.Process(pid)
                old = {p.pid: p for p in entry[1]} if entry else {}
                # The same Process objects where they persist: cpu_percent measures since its previous call on each.
                members = [old.get(p.pid, p) for p in [root, *root.children(recursive=True)]]
                entry = self._trees[pid] = (now, members)
            except psutil.Error:
                self._trees.pop(pid, None)
                return []
        return entry[1]

    def rss(self, pid: int) -> int:
        return sum(_read(lambda p=p: p.memory_info().rss, 0) for p in self._tree(pid))

    def cpu_percent(self, pid: int) -> float:
        """The tree's CPU use since the previous call, in percent of the whole machine (0 at the first call)."""
        used = sum(_read(lambda p=p: p.cpu_percent(None), 0.0) for p in self._tree(pid))
        return used / (psutil.cpu_count() or 1)

    def keep_only(self, pids: Iterable[int]) -> None:
        wanted = set(pids)
        for pid in [p for p in self._trees if p not in wanted]:
            del self._trees[pid]


def sample_with_process(sampler: ResourceSampler, usage: ProcessUsage, pid: int) -> dict:
    """The machine now, with the process tree of `pid`'s resident bytes and CPU share (the run's own fields)."""
    sample = sampler.sample(())
    return {**sample, "process_rss_bytes": usage.rss(pid), "process_cpu_percent": usage.cpu_percent(pid)}


def _read(fn, default):
    try:
        return fn()
    except psutil.Error:
        return default


@dataclass(frozen=True)
class Thresholds:
    """The guide's Alert System thresholds (a value above one fires)."""

    cpu_percent: float = 90.0
    other_cpu_percent: float = 25.0  # with the machine above cpu_percent: what processes other than the run's may take
    memory_percent: float = 85.0
    gpu_temperature: float = 85.0


class AlertRules:
    """Turns samples, losses and the worker's own alerts into alert events, once per crossing: an alert
    fires when its condition starts and may fire again only after the condition has cleared."""

    def __init__(self, thresholds: Thresholds = Thresholds()):
        self.thresholds = thresholds
        self._active: set[str] = set()

    def check_sample(self, sample: dict) -> list[dict]:
        t = self.thresholds
        alerts = []
        # A training run filling the CPU is what it is meant to do; what a person can act on is the CPU that other
        # processes (other runs included) take from it while the machine is saturated.
        cpu = sample.get("cpu_percent", 0.0)
        others = max(0.0, cpu - sample.get("process_cpu_percent", 0.0))
        alerts += self._edge("HIGH_CPU", cpu > t.cpu_percent and others > t.other_cpu_percent, WARNING,
                             f"High CPU usage: {cpu:.1f}%, of which {others:.1f}% by processes other than this run's worker: "
                             "they slow its training", others, t.other_cpu_percent,
                             "stop or move the other CPU-heavy processes on this machine; if they are other runs of this "
                             "trainer, lower FINETUNE_TRAINER_MAX_CONCURRENT_RUNS")
        mem = sample.get("memory_percent", 0.0)
        alerts += self._edge("HIGH_MEMORY", mem > t.memory_percent, CRITICAL, f"High memory usage: {mem:.1f}%", mem,
                             t.memory_percent, "reduce batch_size or max_seq_length, or use gradient accumulation")
        for gpu in sample.get("gpus", ()):
            temp = gpu.get("temperature_celsius", 0.0)
            alerts += self._edge(f"GPU_OVERHEATING/{gpu['index']}", temp > t.gpu_temperature, CRITICAL,
                                 f"GPU {gpu['index']} overheating: {temp:.0f}°C", temp, t.gpu_temperature,
                                 "check the cooling; lower the power limit or the batch size")
        return alerts

    def check_loss(self, loss: float, step: int) -> list[dict]:
        bad = isinstance(loss, float) and not math.isfinite(loss)
        return self._edge("NON_FINITE_LOSS", bad, CRITICAL, f"step {step}: training loss is {loss}", loss, 0.0,
                          "numerical instability: reduce the learning rate and check the data")

    def from_worker(self, event: dict) -> list[dict]:
        """The worker's alert (`severity`, `code`, `message`, `suggestion`), unless the same one is already active."""
        code = str(event.get("code") or "WORKER_ALERT")
        if code == "NON_FINITE_LOSS" and code in self._active:
            return []  # already raised from the step's loss
        level = CRITICAL if event.get("severity") in ("error", "critical") else WARNING
        return [_alert(code, level, str(event.get("message", "")), float(event.get("value", 0.0) or 0.0), 0.0,
                       str(event.get("suggestion", "")))]

    def _edge(self, key: str, on: bool, level: str, message: str, value: float, threshold: float, suggestion: str) -> list[dict]:
        if not on:
            self._active.discard(key)
            return []
        if key in self._active:
            return []
        self._active.add(key)
        return [_alert(key.split("/")[0], level, message, value, threshold, suggestion)]


def _alert(code: str, level: str, message: str, value: float, threshold: float, suggestion: str) -> dict:
    return {"level": level, "code": code, "message": message, "value": value, "threshold": threshold, "suggestion": suggestion}
