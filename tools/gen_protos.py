"""Generate Python stubs (+ .pyi) from protos/ into finetune/; `--check` fails when they are stale."""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from importlib import resources
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"


def proto_files() -> list[Path]:
    return sorted(PROTOS.rglob("*.proto"))


def include_paths() -> list[str]:
    """Ours, protoc's well-known types, and googleapis-common-protos' google/api (from site-packages)."""
    import google.api

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    googleapis = Path(google.api.__path__[0]).parent.parent
    return [str(PROTOS), str(well_known), str(googleapis)]


def generate(out: Path) -> list[Path]:
    files = [str(p.relative_to(PROTOS)) for p in proto_files()]
    args = ["protoc", *(f"-I{p}" for p in include_paths()), f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *files]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    generated = []
    for proto in files:
        pkg_dir = out / Path(proto).parent
        for d in [pkg_dir, *pkg_dir.relative_to(out).parents]:
            init = out / d / "__init__.py"
            if d != Path(".") and not init.exists():
                init.write_text("")
        stem = Path(proto).with_suffix("")
        generated += [out / f"{stem}_pb2.py", out / f"{stem}_pb2.pyi", out / f"{stem}_pb2_grpc.py"]
    return generated


# Lines that record which generator wrote a file, not what the protos say: a newer grpcio-tools from the
# registry rewrites them (1.85.1 -> 1.85.4 broke a clean-clone CI run), so `--check` compares the rest. The
# committed stubs need at least the grpcio and protobuf versions they name, which pyproject requires.
_GENERATOR_VERSION = re.compile(
    r"^GRPC_GENERATED_VERSION = [^\n]*$|^# Protobuf Python Version: [^\n]*$"
    r"|^_runtime_version\.ValidateProtobufRuntimeVersion\(.*?^\)$",
    re.MULTILINE | re.DOTALL,
)


def _content(path: Path) -> str:
    return _GENERATOR_VERSION.sub("", path.read_text())


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        stale = []
        for path in fresh:
            committed = ROOT / path.relative_to(tmp)
            if not committed.exists() or _content(path) != _content(committed):
                stale.append(str(committed.relative_to(ROOT)))
    if stale:
        print("generated code is stale; run `make protos`:\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed stubs differ from fresh ones")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    for path in generate(ROOT):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
