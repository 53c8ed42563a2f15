"""push_to_hub against the fake hub through the real HfApi: what arrives, privacy, card, and each failure."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Unauthenticated, Unavailable
from services.trainer.publish import push_to_hub
from tests.fakes.fake_hub import FAKE_USER, VALID_TOKEN, FakeHub, fake_hub_fixture  # noqa: F401

SUMMARY = {"final_train_loss": 1.2345678, "final_validation_loss": 1.5, "final_perplexity": 4.48, "steps": 12,
           "adapter_dir": "/srv/runs/r1/artifacts/adapter"}
LORA = {"base_model_name_or_path": "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "r": 8, "lora_alpha": 16,
        "lora_dropout": 0.05, "target_modules": ["q_proj", "v_proj"], "peft_type": "LORA"}
# HfApi's LFS upload passes a file object as `data=`, which httpx2 deprecates: the library's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

PUSHED = {"adapter_model.safetensors", "adapter_config.json", "training_config.json", "metrics.json",
          "metrics.csv", "loss_curve.png", "README.md"}


@pytest.fixture(autouse=True)
def lfs_not_xet(monkeypatch):
    """hf_xet is installed, and the fake hub speaks LFS, not Xet: make HfApi take the LFS path."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)


@pytest.fixture(name="artifacts")
def artifacts_fixture(tmp_path) -> Path:
    """What a finished run leaves, in miniature (plus a log that must not be pushed)."""
    import torch
    from safetensors.torch import save_file

    out = tmp_path / "artifacts"
    (out / "adapter").mkdir(parents=True)
    save_file({"base_model.model.layers.0.q_proj.lora_A.weight": torch.arange(32.0).reshape(4, 8)},
              str(out / "adapter" / "adapter_model.safetensors"))
    (out / "adapter" / "adapter_config.json").write_text(json.dumps(LORA))
    (out / "adapter" / "README.md").write_text("peft's template card\n")
    (out / "training_config.json").write_text(json.dumps({"config": {"learning_rate": 0.001, "lora_r": 8,
                                                                     "epochs": 1}, "model_path": "/srv/m/tiny"}))
    (out / "metrics.json").write_text(json.dumps({"summary": SUMMARY, "history": [{"step": 1, "train_loss": 2.0}]}))
    (out / "metrics.csv").write_text("step,train_loss\n1,2.0\n")
    (out / "loss_curve.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    (out / "train.log").write_text("step 1 loss 2.0\n")
    return out


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def push(hub: FakeHub, artifacts: Path, **overrides):
    kwargs = dict(repo_name="my-model", private=True, token=VALID_TOKEN, endpoint=hub.endpoint, timeout_s=10)
    kwargs.update(overrides)
    return push_to_hub(artifacts, **kwargs)


@pytest.mark.parametrize("private", [True, False])
def test_push_uploads_adapter_card_and_metrics(fake_hub, artifacts, private):
    before = snapshot(artifacts)
    result = push(fake_hub, artifacts, private=private)

    repo = fake_hub.repos[f"{FAKE_USER}/my-model"]
    assert result.repo_id == repo.id and result.url == f"{fake_hub.endpoint}/{repo.id}"
    assert repo.private is private
    assert set(result.files) == set(repo.contents) == PUSHED
    assert result.commit_sha == repo.commits[-1].oid and len(repo.commits) == 1
    for name in PUSHED - {"README.md", "adapter_model.safetensors", "adapter_config.json"}:
        assert repo.contents[name] == (artifacts / name).read_bytes()
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        assert repo.contents[name] == (artifacts / "adapter" / name).read_bytes()
    paths = [path for _, path, _ in fake_hub.requests]
    assert f"/{repo.id}.git/info/lfs/objects/batch" in paths  # the safetensors went up through LFS

    card = repo.contents["README.md"].decode()
    assert "base_model: TinyLlama/TinyLlama-1.1B-Chat-v1.0" in card and "library_name: peft" in card
    assert "| Final training loss | 1.235 |" in card and "| Final perplexity | 4.48 |" in card
    assert "| Rank (r) | 8 |" in card and "q_proj, v_proj" in card and "| learning_rate | 0.001 |" in card
    assert "/srv/" not in card  # no paths of the training machine
    assert snapshot(artifacts) == before


def test_merged_model_goes_up_instead_of_the_adapter(fake_hub, artifacts):
    (artifacts / "model").mkdir()
    (artifacts / "model" / "config.json").write_text('{"model_type": "llama"}')
    (artifacts / "model" / "model.safetensors").write_bytes(b"\x00weights" * 100)

    result = push(fake_hub, artifacts, repo_name=f"{FAKE_USER}/merged", base_model="meta-llama/Llama-3.2-1B")

    contents = fake_hub.repos[result.repo_id].contents
    assert contents["model.safetensors"] == (artifacts / "model" / "model.safetensors").read_bytes()
    assert "adapter_model.safetensors" not in contents
    card = contents["README.md"].decode()
    assert "library_name: transformers" in card and "base_model: meta-llama/Llama-3.2-1B" in card


def test_pushing_again_reuses_the_repo_and_skips_unchanged_files(fake_hub, artifacts):
    first = push(fake_hub, artifacts)
    second = push(fake_hub, artifacts)

    assert second.repo_id == first.repo_id and second.commit_sha == first.commit_sha
    assert len(fake_hub.repos[first.repo_id].commits) == 1


@pytest.mark.parametrize("name", ["bad name", "a--b", "org/team/model", "-lead", "model.git", ""])
def test_bad_repo_name_is_invalid_argument(fake_hub, artifacts, name):
    with pytest.raises(InvalidArgument) as info:
        push(fake_hub, artifacts, repo_name=name)
    assert info.value.reason == "INVALID_MODEL_NAME" and info.value.metadata["field"] == "modelSaving.modelName"
    assert fake_hub.requests == []


def test_no_token_is_unauthenticated(fake_hub, artifacts):
    with pytest.raises(Unauthenticated) as info:
        push(fake_hub, artifacts, token=None)
    assert "set FINETUNE_TRAINER_HUB_TOKEN (or HF_TOKEN)" in info.value.message
    assert info.value.reason == "HUB_TOKEN_MISSING" and fake_hub.requests == []


@pytest.mark.parametrize("repo_name", ["my-model", f"{FAKE_USER}/my-model"])  # whoami first, or create_repo first
def test_wrong_token_is_unauthenticated_with_the_hubs_message(fake_hub, artifacts, repo_name):
    with pytest.raises(Unauthenticated) as info:
        push(fake_hub, artifacts, repo_name=repo_name, token="hf_wrong")
    assert info.value.reason == "HUB_TOKEN_INVALID" and info.value.metadata["http_status"] == "401"
    assert "Invalid credentials in Authorization header" in info.value.message
    assert fake_hub.repos.get(f"{FAKE_USER}/my-model") is None


def test_other_namespace_is_permission_denied(fake_hub, artifacts):
    with pytest.raises(PermissionDenied) as info:
        push(fake_hub, artifacts, repo_name="someone-else/my-model")
    assert 'rights to create a model under the namespace "someone-else"' in info.value.message


def test_hub_server_error_is_unavailable(fake_hub, artifacts):
    fake_hub.fail_status = 503
    with pytest.raises(Unavailable) as info:
        push(fake_hub, artifacts)
    assert info.value.reason == "HUB_UNREACHABLE" and "HTTP 503" in info.value.message


def test_unreachable_hub_is_unavailable_fast_and_keeps_the_artifacts(artifacts):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    before = snapshot(artifacts)
    start = time.monotonic()
    with pytest.raises(Unavailable) as info:
        push_to_hub(artifacts, repo_name="my-model", private=True, token=VALID_TOKEN,
                    endpoint=f"http://127.0.0.1:{port}", timeout_s=10)
    assert time.monotonic() - start < 5
    assert info.value.reason == "HUB_UNREACHABLE"
    assert f"kept at {artifacts}" in info.value.message and "push it again" in info.value.message
    assert snapshot(artifacts) == before


def test_slow_hub_is_unavailable_after_the_timeout(fake_hub, artifacts):
    fake_hub.delay_s = 30
    before = snapshot(artifacts)
    start = time.monotonic()
    with pytest.raises(Unavailable) as info:
        push(fake_hub, artifacts, timeout_s=0.5)
    assert 0.5 <= time.monotonic() - start < 3
    assert info.value.reason == "HUB_UNREACHABLE" and "did not answer in time" in info.value.message
    assert snapshot(artifacts) == before


def test_run_without_a_model_is_failed_precondition(fake_hub, tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(FailedPrecondition) as info:
        push(fake_hub, tmp_path)
    assert info.value.reason == "NO_MODEL_ARTIFACTS"
