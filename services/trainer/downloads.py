"""The files of a run's artifacts folder, listed and read for download; nothing outside that folder."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from services.common.errors import InvalidArgument, NotFound

CHUNK_BYTES = 256 * 1024  # well under the 8 MB message limit, large enough that the per-message cost vanishes


@dataclass(frozen=True)
class ArtifactFile:
    path: str  # relative, with `/`
    size_bytes: int
    update_time: float
    media_type: str


def media_type(name: str) -> str:
    if name.endswith((".jsonl", ".log")):
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def list_files(root: Path) -> list[ArtifactFile]:
    """Every regular file under `root` (symlinks are not followed), sorted by path; [] when it does not exist."""
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        stat = path.stat()
        rel = path.relative_to(root).as_posix()
        found.append(ArtifactFile(rel, stat.st_size, stat.st_mtime, media_type(path.name)))
    return sorted(found, key=lambda f: f.path)


def resolve(root: Path, rel: str) -> Path:
    """`rel` inside `root`, or InvalidArgument (leaves the folder) / NotFound (no such file)."""
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith("/") or any(p in ("..", ".", "") for p in parts) or "\\" in rel or "\x00" in rel:
        raise InvalidArgument(f"artifact path {rel!r} must be a relative path inside the run's artifacts, like "
                              "'metrics.json' or 'adapter/adapter_config.json'", reason="INVALID_ARTIFACT_PATH",
                              metadata={"field": "name"})
    path = root.joinpath(*parts)
    real_root = root.resolve()
    if not path.is_file() or path.is_symlink() or not path.resolve().is_relative_to(real_root):
        raise NotFound(f"the run has no artifact {rel!r}; ListRunArtifacts shows the files it has",
                       reason="ARTIFACT_NOT_FOUND", metadata={"path": rel})
    return path
