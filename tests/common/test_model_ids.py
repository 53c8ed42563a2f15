"""The one rule for model ids: built-ins, hub ids, local paths only under the configured roots."""

from __future__ import annotations

import os

import pytest

from services.common.errors import InvalidArgument
from services.common.model_ids import MAX_MODEL_ID_CHARS, model_roots, parse_model_id, parse_roots
from services.common.settings import load_settings


@pytest.mark.parametrize(("model_id", "kind"), [
    ("finetune-builtin/tiny-llama-3m", "builtin"),
    ("meta-llama/Llama-3.1-8B-Instruct", "hub_id"),
    ("gpt2", "hub_id"),
    ("  Qwen/Qwen2.5-0.5B  ", "hub_id"),
    ("a" * 96, "hub_id"),
])
def test_hub_and_builtin_ids(model_id, kind):
    ref = parse_model_id(model_id, field="model", local_roots=())
    assert (ref.kind, ref.id, ref.path) == (kind, model_id.strip(), None)


@pytest.mark.parametrize(("model_id", "reason", "phrase"), [
    ("", "EMPTY_MODEL_ID", "must not be empty"),
    ("a/b/c", "INVALID_MODEL_ID", "is not a valid model id"),
    ("org/bad--name", "INVALID_MODEL_ID", "no '--' or '..'"),
    ("org/bad..name", "INVALID_MODEL_ID", "is not a valid model id"),
    ("-org/name", "INVALID_MODEL_ID", "is not a valid model id"),
    ("org/name.", "INVALID_MODEL_ID", "is not a valid model id"),
    ("a" * 97, "INVALID_MODEL_ID", "at most 96"),
    ("x" * (MAX_MODEL_ID_CHARS + 1), "INVALID_MODEL_ID", f"has at most {MAX_MODEL_ID_CHARS}"),
    ("org/na\nme", "INVALID_MODEL_ID", "control or unprintable"),
    ("org/\u00e9t\u00e9", "INVALID_MODEL_ID", "is not a valid model id"),
    ("~nosuchuser", "INVALID_MODEL_ID", "home directories ('~') are not expanded"),
    ("~", "INVALID_MODEL_ID", "not expanded"),
    ("./models/mine", "INVALID_MODEL_ID", "absolute path under a configured model root"),
    ("../../etc/passwd", "INVALID_MODEL_ID", "is not a valid model id"),
    ("/srv/models/../../etc", "MODEL_PATH_NOT_ALLOWED", "must not contain '..'"),
    ("/etc", "MODEL_PATH_NOT_ALLOWED", "accepts none"),
])
def test_refusals_name_the_field(model_id, reason, phrase):
    with pytest.raises(InvalidArgument) as caught:
        parse_model_id(model_id, field="configuration.model.uid", local_roots=())
    assert caught.value.reason == reason and phrase in caught.value.message, caught.value.message
    assert caught.value.metadata["field"] == "configuration.model.uid"


def test_local_paths_only_under_a_root_and_links_do_not_lead_out(tmp_path):
    root, outside = tmp_path / "models", tmp_path / "secret"
    (root / "mine").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside, root / "link")
    roots = parse_roots(f"{root}{os.pathsep}{tmp_path / 'other'}")
    assert parse_model_id(str(root / "mine"), field="m", local_roots=roots).path == root / "mine"
    assert parse_model_id(str(root / "not-yet"), field="m", local_roots=roots).kind == "local_path"
    for path in (str(outside), str(root / "link"), str(root / "link" / "x"), "/", str(tmp_path / "models-evil")):
        with pytest.raises(InvalidArgument, match="not under a model root"):
            parse_model_id(path, field="m", local_roots=roots)


def test_without_roots_a_path_is_checked_only_for_its_form():
    """The jobs service reads no model files: the catalog and the trainer check the roots."""
    assert parse_model_id("/anything/at/all", field="m", local_roots=None).path is None
    with pytest.raises(InvalidArgument, match="'..'"):
        parse_model_id("/a/../b", field="m", local_roots=None)


def test_roots_come_from_the_setting_and_must_be_absolute(tmp_path):
    settings = load_settings("trainer", {"FINETUNE_MODEL_ROOTS": f"{tmp_path}{os.pathsep}"})
    assert model_roots(settings) == (tmp_path.resolve(),)
    assert model_roots(load_settings("trainer", {})) == ()
    with pytest.raises(InvalidArgument, match="must be an absolute directory"):
        parse_roots("relative/models")
