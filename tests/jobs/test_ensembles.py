"""Ensembles: the voting rule, the members' learning rates, and an ensemble of three trained, asked and evaluated
through the whole suite's REST."""

from __future__ import annotations

import math
import time

import httpx
import pytest

from services.jobs.ensembles import member_rates, vote
from tests.suite import running_suite
from tests.web.helpers import csv_bytes, support_rows


def test_the_majority_wins_and_a_tie_goes_to_the_lowest_validation_loss():
    assert vote([("a", "x", 2.0), ("b", "y", 1.0), ("c", " x ", 3.0)]) == vote([("a", "x", 2.0), ("b", "y", 1.0), ("c", "x", 3.0)])
    majority = vote([("a", "x", 2.0), ("b", "y", 1.0), ("c", "x", 3.0)])
    assert (majority.text, majority.votes, majority.chosen_job) == ("x", 2, "a")
    tie = vote([("a", "x", 2.0), ("b", "y", 1.0)])
    assert (tie.text, tie.chosen_job) == ("y", "b")
    unknown = vote([("a", "x", None), ("b", "y", math.nan), ("c", "z", 5.0)])
    assert unknown.chosen_job == "c"  # a member without a loss counts as the worst
    assert vote([("a", "x", None), ("b", "y", None)]).chosen_job == "a"  # then the earliest


def test_learning_rates_spread_evenly_on_a_log_scale():
    assert member_rates(1e-3, 3, 0) == [1e-3] * 3
    low, mid, high = member_rates(1e-3, 3, 1.0)
    assert low == pytest.approx(5e-4) and mid == pytest.approx(1e-3) and high == pytest.approx(2e-3)


@pytest.mark.slow
def test_an_ensemble_of_three_trains_answers_by_vote_and_is_evaluated(tmp_path):
    (tmp_path / "suite").mkdir()
    with running_suite(tmp_path / "suite", gateway_ports=1) as suite, httpx.Client(base_url=suite.url, timeout=300) as c:
        dataset = c.post("/api/datasets", files={"file": ("d.csv", csv_bytes(support_rows(24)), "text/csv")},
                         data={"name": "ensemble data", "validation_fraction": "0.25"}).json()["uid"]
        configuration = {"model": {"uid": "finetune-builtin/tiny-llama-3m"}, "dataset": {"uid": dataset},
                         "hyperparameters": {"learning_rate": 0.002, "batch_size": 4, "max_steps": 6, "max_seq_length": 96}}
        bad = c.post("/v1/ensembles", json={"size": 1, "configuration": configuration})
        assert bad.status_code == 400 and bad.json()["error"]["metadata"]["field"] == "ensemble.size"
        made = c.post("/v1/ensembles", json={"display_name": "Three seeds", "size": 3, "learning_rate_spread": 1.0,
                                              "configuration": configuration})
        assert made.status_code == 200, made.text
        ensemble = made.json()
        assert [m["seed"] for m in ensemble["members"]] == [42, 43, 44] and "majority vote" in ensemble["rule"]
        assert ensemble["members"][0]["learning_rate"] == pytest.approx(0.001)
        name = ensemble["name"]
        early = c.post(f"/v1/{name}:generate", json={"prompt": "How do I reset my password?"})
        assert early.status_code == 412 and early.json()["error"]["reason"] == "ENSEMBLE_NOT_READY"

        deadline = time.monotonic() + 300
        while (got := c.get(f"/v1/{name}").json())["state"] == "running":
            assert time.monotonic() < deadline, got
            time.sleep(1)
        assert got["state"] == "completed" and all("final_validation_loss" in m for m in got["members"])
        jobs = [m["job"] for m in got["members"]]
        assert all(c.get(f"/v1/{job}").json()["metadata"] == {"ensemble": name.split("/")[1]} for job in jobs)

        answer = c.post(f"/v1/{name}:generate", json={"prompt": "How do I reset my password?", "max_new_tokens": 16}).json()
        assert [a["job"] for a in answer["answers"]] == jobs
        losses = {m["job"]: m["final_validation_loss"] for m in got["members"]}
        expected = vote([(a["job"], a["text"], losses[a["job"]]) for a in answer["answers"]])
        assert (answer["text"], answer["votes"], answer["chosen_job"]) == (expected.text, expected.votes, expected.chosen_job)

        evaluation = c.post(f"/v1/{name}:evaluate", json={"max_rows": 4}).json()
        assert evaluation["rows"] == 4 and [m["job"] for m in evaluation["members"]] == jobs
        assert all(0 <= m.get("exact_match", 0) <= 1 for m in evaluation["members"])
        assert 0 <= evaluation.get("ensemble_exact_match", 0) <= 1
        assert [e["name"] for e in c.get("/v1/ensembles").json()["ensembles"]] == [name]
