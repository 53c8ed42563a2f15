"""The protos: generated stubs are current, buf lint is clean, every RPC declares its REST path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pool

ROOT = Path(__file__).resolve().parent.parent
BUF = ROOT / "node_modules" / ".bin" / "buf"


def test_generated_stubs_are_current():
    result = subprocess.run([sys.executable, "tools/gen_protos.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_staleness_check_ignores_only_the_generators_version(tmp_path):
    """A newer grpcio-tools from the registry rewrites the version lines, not the code: those alone differ."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from gen_protos import _content
    finally:
        sys.path.remove(str(ROOT / "tools"))
    committed = (ROOT / "finetune/trainer/v1/run_pb2_grpc.py").read_text()
    pb2 = (ROOT / "finetune/trainer/v1/run_pb2.py").read_text()
    cases = {
        "newer_grpc": committed.replace("GRPC_GENERATED_VERSION = '", "GRPC_GENERATED_VERSION = '9"),
        "newer_protoc": pb2.replace("# Protobuf Python Version: ", "# Protobuf Python Version: 9").replace(
            "_runtime_version.Domain.PUBLIC,\n    7,", "_runtime_version.Domain.PUBLIC,\n    9,"),
        "changed_grpc": committed + "# another method\n",
        "changed_pb2": pb2.replace("_globals", "_other", 1),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "grpc").write_text(committed)
    (tmp_path / "pb2").write_text(pb2)
    assert "9" in cases["newer_protoc"] and cases["newer_protoc"] != pb2
    assert _content(tmp_path / "newer_grpc") == _content(tmp_path / "grpc")
    assert _content(tmp_path / "newer_protoc") == _content(tmp_path / "pb2")
    assert _content(tmp_path / "changed_grpc") != _content(tmp_path / "grpc")
    assert _content(tmp_path / "changed_pb2") != _content(tmp_path / "pb2")


def test_buf_lint_is_clean():
    buf = str(BUF) if BUF.exists() else shutil.which("buf")
    if buf is None:
        if os.environ.get("CI"):
            pytest.fail("buf is not installed; `make test` installs it with npm")
        pytest.skip("buf not installed (run `make lint` or `make test`)")
    if not (ROOT / "third_party/googleapis/google/api/annotations.proto").exists():
        subprocess.run([sys.executable, "tools/vendor_googleapis.py"], cwd=ROOT, check=True)
    result = subprocess.run([buf, "lint"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _our_services():
    import importlib

    for proto in sorted((ROOT / "protos").rglob("*_service.proto")):
        module = str(proto.relative_to(ROOT / "protos").with_suffix("")).replace("/", ".") + "_pb2"
        yield from importlib.import_module(module).DESCRIPTOR.services_by_name.values()


def test_every_rpc_has_an_http_rule():
    missing = []
    for service in _our_services():
        for method in service.methods:
            if not method.GetOptions().HasExtension(annotations_pb2.http):
                missing.append(method.full_name)
    assert not missing, f"RPCs without google.api.http: {missing}"
    assert descriptor_pool.Default()
