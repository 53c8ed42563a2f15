"""Run storage every node sees (`services.trainer.storage`), here a `file://` URL: the trainer publishes a run's
inputs and model, a worker on a folder of its own stages them, trains, and uploads its checkpoints and artifacts
(complete ones only, markers last); a journal begun on another node continues the stored offsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.trainer.storage import COMPLETE, SCRATCH_ENV, RunStorage, journal_base, start_journal
from services.trainer.worker import EVENTS_FILE, EventWriter, main, write_run_spec
from tests.trainer.helpers import (  # noqa: F401 (model_dir is a fixture)
    FAST_ARTIFACTS,
    TRAIN_ROWS,
    VALIDATION_ROWS,
    model_dir,
    small_config,
    step_losses,
)


def _events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / EVENTS_FILE).read_text().splitlines()]


def test_a_worker_on_a_folder_of_its_own_stages_from_the_storage_and_uploads_what_it_makes(model_dir, tmp_path, monkeypatch):
    storage = RunStorage(f"file://{tmp_path / 'store'}")
    storage.check()
    trainer_dir = tmp_path / "trainer" / "runs" / "r1"
    write_run_spec(trainer_dir, config=small_config(max_steps=4, save_steps=2, keep_checkpoints=1).to_dict(),
                   model_path=model_dir, train_rows=TRAIN_ROWS, validation_rows=VALIDATION_ROWS,
                   artifacts=FAST_ARTIFACTS.__dict__, device="cpu", num_threads=1)
    storage.publish_inputs("r1", trainer_dir)
    key = json.loads((tmp_path / "store" / "runs" / "r1" / "inputs" / "run.json").read_text())["model_key"]
    assert (tmp_path / "store" / "models" / key / COMPLETE).is_file()

    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "node"))
    node_dir = tmp_path / "node" / "runs" / "r1"
    assert main(["--run-dir", str(node_dir), "--storage", storage.url, "--run", "r1"]) == 0

    spec = json.loads((node_dir / "run.json").read_text())
    assert spec["model_path"] == str(tmp_path / "node" / "models" / key)  # the node's copy, not the trainer's folder
    events = _events(node_dir)
    assert [e["state"] for e in events if e["type"] == "state"] == ["running", "completed"]
    assert storage.checkpoint_steps("r1") == [4]  # uploaded before each was reported; the older one dropped (keep 1)
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [2, 4]
    assert storage.fetch_artifacts("r1", trainer_dir)
    assert (trainer_dir / "artifacts" / "adapter" / "adapter_model.safetensors").is_file()
    assert not (trainer_dir / "artifacts" / COMPLETE).exists()

    # A worker on another node resumes from the storage's checkpoint: it has nothing of the first one's folder.
    other = tmp_path / "other" / "runs" / "r1"
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "other"))
    storage.stage("r1", other)
    assert sorted(p.name for p in (other / "checkpoints").iterdir()) == ["checkpoint-4"]
    assert (other / "train.jsonl").read_text() == (trainer_dir / "train.jsonl").read_text()


def test_missing_inputs_fail_the_worker_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "node"))
    storage = RunStorage(f"file://{tmp_path / 'store'}")
    assert main(["--run-dir", str(tmp_path / "node" / "runs" / "gone"), "--storage", storage.url, "--run", "gone"]) == 2
    failed = _events(tmp_path / "node" / "runs" / "gone")[-1]
    assert (failed["state"], failed["reason"]) == ("failed", "storage_unavailable")
    assert "could not be staged from file://" in failed["message"]


def test_an_unusable_storage_url_is_named():
    with pytest.raises(Exception) as refused:
        RunStorage("nosuchscheme://bucket/x")
    assert "nosuchscheme://bucket/x" in str(refused.value)


def test_a_journal_continues_the_stored_offsets_on_a_node_where_the_previous_attempt_did_not_run(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    start_journal(run_dir, attempt=1, stored_offset=0)
    writer = EventWriter(run_dir / EVENTS_FILE, base=journal_base(run_dir))
    sizes = []
    writer.on_write = sizes.append
    writer({"type": "log", "message": "one"})
    writer.close()
    written = sizes[-1]
    # The next attempt on this node keeps the journal (it may hold lines the trainer has not stored yet).
    start_journal(run_dir, attempt=2, stored_offset=written - 5)
    assert journal_base(run_dir) == 0 and (run_dir / EVENTS_FILE).stat().st_size == written
    # An attempt after one that ran elsewhere starts a new journal at the stored offset.
    start_journal(run_dir, attempt=4, stored_offset=1000)
    assert journal_base(run_dir) == 1000 and not (run_dir / EVENTS_FILE).exists()
    writer = EventWriter(run_dir / EVENTS_FILE, base=journal_base(run_dir))
    writer.on_write = sizes.append
    writer({"type": "log", "message": "two"})
    writer.close()
    assert sizes[-1] == 1000 + (run_dir / EVENTS_FILE).stat().st_size


def test_a_workers_actor_sets_its_node_folder_up_and_points_the_worker_at_a_restarted_trainer(tmp_path, monkeypatch):
    """The actor's side (`RunActor`, here without Ray): the run's folder on its node with the attempt's link settings
    (0600) and journal; `relink` gives the worker the address a restarted trainer listens at, nothing else changed."""
    from services.trainer.link import read_link_file
    from services.trainer.ray_backend import RunActor

    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "node"))
    link = {"address": "10.0.0.1:4000", "run": "r2", "attempt": 3, "token": "secret", "sample_interval": 1.0}
    storage = {"url": f"file://{tmp_path / 'store'}", "run": "r2", "link": link, "attempt": 3, "stored_offset": 1234,
               "python": "python3"}
    actor = RunActor(str(tmp_path / "trainer" / "r2"), ["python3", "-m", "services.trainer.worker"], "unused.log", storage)
    node_dir = tmp_path / "node" / "runs" / "r2"
    assert actor.run_dir == str(node_dir) and actor.log_file == str(node_dir / "worker.log")
    assert actor.command[-6:] == ["--run-dir", str(node_dir), "--storage", storage["url"], "--run", "r2"]
    assert read_link_file(node_dir) == link and (node_dir / "link.json").stat().st_mode & 0o777 == 0o600
    assert journal_base(node_dir) == 1234  # a new journal here: it continues the trainer's stored offsets
    actor.relink("10.0.0.9:4001")
    assert read_link_file(node_dir) == {**link, "address": "10.0.0.9:4001"}
