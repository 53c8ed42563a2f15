"""Availability reports: built-in, cached, local, hub-only, gated, non-causal and missing models."""

import shutil
import time

import pytest

from services.catalog.availability import ATTENTION_AND_MLP, check_availability
from services.catalog.builtin_models import TINY_MODEL_ID, builtin_parameters, ensure_builtin_model
from services.catalog.hub import HubClient
from services.common.memory import GpuMemory, MachineMemory
from services.common.errors import InvalidArgument
from tests.fakes.fake_hub import fake_hub_fixture  # noqa: F401 (the fake_hub fixture)

GiB = 2**30
LAPTOP = MachineMemory(16 * GiB, 12 * GiB, [], "NVML unavailable: test")
H100 = MachineMemory(128 * GiB, 100 * GiB, [GpuMemory(0, "NVIDIA H100 80GB HBM3", 80 * GiB, 79 * GiB)])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data dir with the tiny built-in model already built (about 4 s, once for the module)."""
    path = tmp_path_factory.mktemp("data")
    ensure_builtin_model(path, TINY_MODEL_ID)
    return path


@pytest.fixture
def hub(fake_hub):
    return HubClient(endpoint=fake_hub.endpoint, timeout_s=2.0)


def put_in_hf_cache(cache_dir, model_id, source_dir):
    """Lay a model out the way huggingface_hub's cache does: models--org--name/{refs/main, snapshots/<sha>/}."""
    repo = cache_dir / ("models--" + model_id.replace("/", "--"))
    shutil.copytree(source_dir, repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")


def test_builtin_model_can_be_fine_tuned_offline(data_dir):
    report = check_availability(TINY_MODEL_ID, data_dir=data_dir, hub=None, device_memory_info=LAPTOP)
    assert report.found and report.locations == ["builtin"]
    assert report.local_path.endswith("models/builtin/tiny-llama-3m")
    assert (report.config_found, report.tokenizer_present, report.architecture, report.is_causal_lm) == (
        True,
        True,
        "LlamaForCausalLM",
        True,
    )
    assert report.lora_target_modules == list(ATTENTION_AND_MLP)
    assert report.lora_supported
    assert report.parameter_count == builtin_parameters(TINY_MODEL_ID)
    assert report.parameters == "3.3M"
    assert 0 < report.estimated_memory_bytes < report.available_memory_bytes == 12 * GiB
    assert report.memory_device == "CPU RAM"
    assert report.problems == []
    assert report.can_fine_tune and report.to_dict()["can_fine_tune"] is True
    assert report.hub_reason == "not asked: a built-in model" and report.exists_on_hub is None


def test_builtin_model_never_asks_the_hub(data_dir, hub, fake_hub):
    report = check_availability(TINY_MODEL_ID, data_dir=data_dir, hub=hub, device_memory_info=LAPTOP)
    assert report.can_fine_tune and fake_hub.requests == []


def test_model_missing_everywhere_is_a_report_not_an_error(data_dir, hub, tmp_path):
    report = check_availability("nobody/does-not-exist", data_dir=data_dir, hub=hub, cache_dir=tmp_path)
    assert (report.found, report.can_fine_tune, report.hub_reachable, report.exists_on_hub) == (
        False,
        False,
        True,
        False,
    )
    assert report.problems == [
        "Model 'nobody/does-not-exist' was not found locally, in the Hugging Face cache, or on the hub: "
        "check the id's spelling (it is case-sensitive) or search the catalog."
    ]


def test_missing_model_when_offline_says_the_hub_was_not_checked(data_dir, tmp_path):
    report = check_availability("nobody/does-not-exist", data_dir=data_dir, hub=None, cache_dir=tmp_path / "no-cache")
    assert not report.can_fine_tune and report.exists_on_hub is None
    [problem] = report.problems
    assert "not found locally or in the Hugging Face cache" in problem
    assert "could not be checked (offline mode is on)" in problem


def test_missing_model_with_a_slow_hub_answers_in_time(data_dir, fake_hub):
    fake_hub.delay_s = 30
    hub = HubClient(endpoint=fake_hub.endpoint, timeout_s=1.0)
    started = time.monotonic()
    report = check_availability("nobody/does-not-exist", data_dir=data_dir, hub=hub)
    assert time.monotonic() - started < 2.5
    assert not report.hub_reachable and "timed out after 1.0 s" in report.problems[0]


def test_gated_hub_model_without_a_token_on_a_small_machine(data_dir, hub):
    report = check_availability(
        "meta-llama/Llama-3.1-8B-Instruct", data_dir=data_dir, hub=hub, device_memory_info=LAPTOP
    )
    assert report.found and report.locations == ["hub"] and report.local_path is None
    assert (report.gated, report.tokenizer_present, report.architecture) == ("manual", True, "LlamaForCausalLM")
    assert report.lora_target_modules == list(ATTENTION_AND_MLP)
    assert report.parameters == "8B"
    assert not report.can_fine_tune
    gated, memory = report.problems
    assert "is gated on the Hugging Face Hub (manual approval)" in gated and "HF token" in gated
    assert "LoRA training needs about" in memory and "CPU RAM has 12.0 GiB free" in memory
    assert "lower the batch size" in memory


def test_gated_hub_model_with_a_token_on_an_h100(data_dir, fake_hub):
    hub = HubClient(endpoint=fake_hub.endpoint, token="hf_fake", timeout_s=2.0)
    report = check_availability(
        "meta-llama/Llama-3.1-8B-Instruct",
        data_dir=data_dir,
        hub=hub,
        batch_size=4,
        seq_len=1024,
        device_memory_info=H100,
    )
    assert report.can_fine_tune, report.problems
    assert report.memory_device == "GPU 0 (NVIDIA H100 80GB HBM3)"
    assert (report.batch_size, report.seq_len) == (4, 1024)
    assert any("gated" in note for note in report.notes)


def test_seq2seq_hub_model_is_found_but_not_fine_tunable(data_dir, hub):
    report = check_availability("google/flan-t5-base", data_dir=data_dir, hub=hub, device_memory_info=H100)
    assert report.found and report.is_causal_lm is False and not report.lora_supported
    assert report.problems == [
        "Encoder-decoder (seq2seq) model: cannot be fine-tuned as a causal LM here; "
        "pick a causal LM (its architecture ends in ForCausalLM)."
    ]


def test_model_in_the_hf_cache_is_inspected_on_the_meta_device(data_dir, tmp_path):
    put_in_hf_cache(tmp_path, "someorg/tiny-cached", ensure_builtin_model(data_dir, TINY_MODEL_ID))
    report = check_availability(
        "someorg/tiny-cached", data_dir=data_dir, hub=None, cache_dir=tmp_path, device_memory_info=LAPTOP
    )
    assert report.locations == ["hf_cache"] and report.local_path.endswith("snapshots/0123abcd")
    assert report.lora_target_modules == list(ATTENTION_AND_MLP)
    assert report.parameter_count == builtin_parameters(TINY_MODEL_ID)
    assert report.can_fine_tune


def test_local_directory_under_a_model_root(data_dir, tmp_path):
    model_dir = tmp_path / "my-model"
    shutil.copytree(ensure_builtin_model(data_dir, TINY_MODEL_ID), model_dir)
    roots = (tmp_path,)
    report = check_availability(str(model_dir), data_dir=data_dir, hub=None, device_memory_info=LAPTOP, local_roots=roots)
    assert report.locations == ["local_path"] and report.can_fine_tune

    (model_dir / "tokenizer.json").unlink()
    (model_dir / "tokenizer_config.json").unlink()
    report = check_availability(str(model_dir), data_dir=data_dir, hub=None, device_memory_info=LAPTOP, local_roots=roots)
    assert not report.can_fine_tune
    assert [p for p in report.problems if p.startswith("No tokenizer files")]


def test_missing_local_directory_under_a_root(data_dir, tmp_path):
    report = check_availability(str(tmp_path / "nope"), data_dir=data_dir, hub=None, local_roots=(tmp_path,))
    assert not report.found and "does not exist" in report.problems[0]


def test_a_model_directory_outside_the_roots_is_refused_whether_or_not_it_exists(data_dir, tmp_path):
    """The same refusal for an existing folder holding a model and for nothing at all: no probing the disk."""
    model_dir = tmp_path / "outside" / "model"
    shutil.copytree(ensure_builtin_model(data_dir, TINY_MODEL_ID), model_dir)
    (tmp_path / "root").mkdir()
    messages = set()
    for path in (str(model_dir), str(tmp_path / "outside" / "nothing"), "/etc", str(tmp_path / "root" / ".." / "outside" / "model")):
        with pytest.raises(InvalidArgument) as caught:
            check_availability(path, data_dir=data_dir, hub=None, local_roots=(tmp_path / "root",))
        assert caught.value.reason == "MODEL_PATH_NOT_ALLOWED", caught.value
        messages.add(caught.value.message.replace(path, "<path>"))
    assert len(messages) == 2  # "not under a model root" for three, "must not contain '..'" for the last
    with pytest.raises(InvalidArgument, match="accepts none"):
        check_availability(str(model_dir), data_dir=data_dir, hub=None)  # no roots configured: no local paths


@pytest.mark.parametrize(
    ("model_id", "reason", "phrase"),
    [
        ("", "EMPTY_MODEL_ID", "model_id must not be empty"),
        ("   ", "EMPTY_MODEL_ID", "model_id must not be empty"),
        ("a/b/c", "INVALID_MODEL_ID", "is not a valid model id: use 'org/name'"),
        ("org/bad--name", "INVALID_MODEL_ID", "no '--' or '..'"),
        ("org/has space", "INVALID_MODEL_ID", "is not a valid model id"),
        ("~nosuchuser", "INVALID_MODEL_ID", "are not expanded"),
        ("~root/models", "INVALID_MODEL_ID", "are not expanded"),
        ("./relative/model", "INVALID_MODEL_ID", "absolute path under a configured model root"),
        ("../../etc", "INVALID_MODEL_ID", "is not a valid model id"),
        ("org/" + "x" * 3000, "INVALID_MODEL_ID", "a model id has at most 512"),
        ("org/na\x00me", "INVALID_MODEL_ID", "control or unprintable"),
    ],
)
def test_invalid_model_ids(data_dir, model_id, reason, phrase):
    with pytest.raises(InvalidArgument) as caught:
        check_availability(model_id, data_dir=data_dir, hub=None)
    assert caught.value.reason == reason and phrase in caught.value.message


def test_invalid_batch_size(data_dir):
    with pytest.raises(InvalidArgument, match="batch_size must be a positive integer"):
        check_availability(TINY_MODEL_ID, data_dir=data_dir, hub=None, batch_size=0)
