"""Resource samples and threshold alerts (the guide's Alert System), plus the supervisor's process helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from services.trainer.monitor import AlertRules, Gpus, ProcessUsage, ResourceSampler, Thresholds, process_tree_rss
from services.trainer.processes import kill_tree
from services.trainer.supervisor import _describe_exit
from services.trainer.worker import terminate_partial_line


def test_sample_has_the_guide_fields_and_gpus_are_cleanly_absent(tmp_path):
    sampler = ResourceSampler(tmp_path, gpus=Gpus())
    sample = sampler.sample([os.getpid()])
    for key in ("cpu_percent", "memory_percent", "memory_total_bytes", "disk_read_bytes_per_second",
                "network_received_bytes_per_second", "disk_percent", "time"):
        assert key in sample
    assert 0 <= sample["memory_percent"] <= 100 and sample["process_rss_bytes"] > 10_000_000
    assert sample["gpus"] == [] or all("temperature_celsius" in g for g in sample["gpus"])
    assert sampler.latest is sample


def test_process_tree_rss_counts_children_and_ignores_missing_pids():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with_child = process_tree_rss([os.getpid()])
        assert with_child >= process_tree_rss([child.pid]) > 0
        assert process_tree_rss([2**22 + 12345]) == 0
    finally:
        kill_tree(child.pid)
        child.wait()
    assert child.returncode == -9


def test_alerts_fire_once_per_crossing_on_the_guide_thresholds():
    rules = AlertRules(Thresholds())
    hot = {"cpu_percent": 95.0, "memory_percent": 90.0, "gpus": [{"index": 0, "temperature_celsius": 88.0}]}
    alerts = rules.check_sample(hot)
    assert [(a["code"], a["level"], a["threshold"]) for a in alerts] == [
        ("HIGH_CPU", "warning", 25.0), ("HIGH_MEMORY", "critical", 85.0), ("GPU_OVERHEATING", "critical", 85.0)]
    assert rules.check_sample(hot) == []  # still above: no repeat
    assert rules.check_sample({"cpu_percent": 90.0, "memory_percent": 50.0, "gpus": []}) == []  # at the threshold: fine
    assert [a["code"] for a in rules.check_sample(hot)] == ["HIGH_CPU", "HIGH_MEMORY"]  # re-armed; the GPU stayed hot


def test_high_cpu_is_about_other_processes_not_a_cpu_run_filling_the_machine_as_designed():
    rules = AlertRules(Thresholds())
    assert rules.check_sample({"cpu_percent": 99.0, "process_cpu_percent": 96.0, "memory_percent": 40.0, "gpus": []}) == []
    [alert] = rules.check_sample({"cpu_percent": 99.0, "process_cpu_percent": 55.0, "memory_percent": 40.0, "gpus": []})
    assert (alert["code"], alert["value"], alert["threshold"]) == ("HIGH_CPU", 44.0, 25.0)
    assert "44.0% by processes other than this run's worker" in alert["message"] and "MAX_CONCURRENT_RUNS" in alert["suggestion"]
    assert "data loader" not in alert["suggestion"]
    assert rules.check_sample({"cpu_percent": 60.0, "process_cpu_percent": 10.0, "memory_percent": 40.0, "gpus": []}) == []  # room


def test_process_usage_measures_a_trees_cpu_against_the_machine():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    usage = ProcessUsage()
    try:
        assert usage.cpu_percent(busy.pid) == 0.0 and usage.cpu_percent(idle.pid) == 0.0  # the first call primes
        time.sleep(0.5)
        busy_share, idle_share = usage.cpu_percent(busy.pid), usage.cpu_percent(idle.pid)
        assert busy_share > idle_share and busy_share <= 100.0 / (os.cpu_count() or 1) + 5
        assert usage.rss(idle.pid) > 0 and usage.cpu_percent(2**22 + 12345) == 0.0
    finally:
        for proc in (busy, idle):
            kill_tree(proc.pid)
            proc.wait()


def test_non_finite_loss_alerts_once_and_the_worker_copy_is_dropped():
    rules = AlertRules()
    assert rules.check_loss(2.5, 1) == []
    [alert] = rules.check_loss(float("nan"), 2)
    assert (alert["code"], alert["level"]) == ("NON_FINITE_LOSS", "critical")
    assert rules.from_worker({"type": "alert", "severity": "error", "code": "NON_FINITE_LOSS", "message": "nan"}) == []
    [oom] = rules.from_worker({"severity": "error", "code": "OUT_OF_MEMORY", "message": "oom", "suggestion": "smaller batch"})
    assert (oom["level"], oom["suggestion"]) == ("critical", "smaller batch")
    assert rules.check_loss(float("inf"), 3) == []
    assert rules.check_loss(1.0, 4) == [] and len(rules.check_loss(float("nan"), 5)) == 1


def test_exit_descriptions_and_partial_lines(tmp_path):
    assert "SIGKILL" in _describe_exit(-9) and "out of memory" in _describe_exit(-9)
    assert _describe_exit(3) == "exited with status 3"
    path = tmp_path / "events.jsonl"
    terminate_partial_line(path)  # missing: nothing to do
    path.write_bytes(b'{"type": "log"}\n{"type": "st')
    terminate_partial_line(path)
    terminate_partial_line(path)
    assert path.read_bytes() == b'{"type": "log"}\n{"type": "st\n'
