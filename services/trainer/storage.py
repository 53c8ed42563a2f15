"""Run storage every node sees, at a URL (`FINETUNE_TRAINER_STORAGE_URL`): an object store (`s3://bucket/prefix`,
`gs://...`, with pyarrow's query options such as `?endpoint_override=host:port&scheme=http`) or a shared path
(`file:///mnt/shared`), through `pyarrow.fs` (the filesystems Ray's own `storage_path` takes).

With it, a worker on a Ray node works in a folder of its own node (`FINETUNE_WORKER_SCRATCH`, default the
system's temporary folder) and nothing else needs to be shared: the trainer publishes each run's inputs (its
`run.json`, rows and model) to the storage; the worker stages them on its node, resumes from the newest
checkpoint there, uploads each checkpoint before it reports it and its artifacts before its final state; the
trainer fetches each reported checkpoint and the artifacts into its own run folder, where Generate, the
downloads and the exports find them as on one machine.

    <url>/runs/<id>/inputs/        run.json, train.jsonl, validation.jsonl
    <url>/runs/<id>/checkpoints/checkpoint-<step>/   (trainer_state.json uploaded last: present means complete)
    <url>/runs/<id>/artifacts/     (.complete uploaded last)
    <url>/models/<key>/            a run's base model, by a digest of its files (.complete uploaded last)

The journal (`events.jsonl`) stays on the worker's node: a worker that starts where the previous attempt did not
run starts a new journal whose offsets continue from what the trainer has stored (`events.base`), so the worker
link's exactly-once offsets hold across nodes; lines a lost node wrote but never delivered are lost with it, and
the steps after the checkpoint the run resumes from are trained, and reported, again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from services.common.errors import InvalidArgument

SCRATCH_ENV = "FINETUNE_WORKER_SCRATCH"  # where a node's workers keep their run folders (default: the temp folder)
INPUTS = ("run.json", "train.jsonl", "validation.jsonl")
COMPLETE = ".complete"
# A checkpoint's last file and its folders' prefix, as services.trainer.checkpoint names them: not imported from
# there, which loads torch, so that a Ray actor that only sets a run folder up stays light.
STATE_FILE, CHECKPOINT_PREFIX = "trainer_state.json", "checkpoint-"
JOURNAL_BASE = "events.base"  # {"base": offset, "attempt": n}: where this node's journal starts


class RunStorage:
    """One storage URL: paths under it and whole-folder copies to and from this machine."""

    def __init__(self, url: str) -> None:
        from pyarrow import fs as pafs

        self.url = url
        try:
            self.fs, self.root = pafs.FileSystem.from_uri(url)
        except (ValueError, OSError) as exc:
            raise InvalidArgument(f"the storage URL {url!r} cannot be opened: {exc}", reason="BAD_SETTING") from exc
        self.root = self.root.rstrip("/")

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def run_path(self, run_id: str, *parts: str) -> str:
        return self.path("runs", run_id, *parts)

    def check(self) -> None:
        """Fail now, naming the URL, when the storage cannot be written (a wrong bucket, no credentials)."""
        probe = self.path(".finetune-probe")
        try:
            self.fs.create_dir(self.root, recursive=True)
            with self.fs.open_output_stream(probe) as out:
                out.write(b"ok")
            self.fs.delete_file(probe)
        except OSError as exc:
            raise InvalidArgument(f"the storage at {self.url!r} cannot be written: {exc}", reason="STORAGE_UNAVAILABLE") from exc

    # -------------------------------------------------------------------------------- folders and files

    def put_tree(self, local: Path, remote: str, last: str | None = None) -> None:
        """Upload every file under `local` to `remote`, the file named `last` (a completeness marker) after the others."""
        files = sorted(p for p in Path(local).rglob("*") if p.is_file())
        ordered = [p for p in files if p.name != last] + [p for p in files if p.name == last]
        for path in ordered:
            self.put_file(path, f"{remote}/{path.relative_to(local).as_posix()}")

    def put_file(self, local: Path, remote: str) -> None:
        self.fs.create_dir(remote.rsplit("/", 1)[0], recursive=True)
        with open(local, "rb") as src, self.fs.open_output_stream(remote) as out:
            shutil.copyfileobj(src, out, 1 << 20)

    def put_bytes(self, data: bytes, remote: str) -> None:
        self.fs.create_dir(remote.rsplit("/", 1)[0], recursive=True)
        with self.fs.open_output_stream(remote) as out:
            out.write(data)

    def get_tree(self, remote: str, local: Path) -> None:
        """Download every file under `remote` into `local` (through a temporary sibling, renamed into place)."""
        from pyarrow import fs as pafs

        local = Path(local)
        partial = local.with_name(f".partial-{local.name}-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        for info in self.fs.get_file_info(pafs.FileSelector(remote, recursive=True)):
            if info.type == pafs.FileType.File:
                target = partial / info.path[len(remote):].lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                with self.fs.open_input_stream(info.path) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
        partial.mkdir(parents=True, exist_ok=True)
        if local.exists():
            shutil.rmtree(local)
        os.replace(partial, local)

    def get_file(self, remote: str, local: Path) -> bool:
        """Download one file; False when it does not exist."""
        from pyarrow import fs as pafs

        if self.fs.get_file_info(remote).type != pafs.FileType.File:
            return False
        partial = Path(local).with_name(Path(local).name + ".partial")
        with self.fs.open_input_stream(remote) as src, open(partial, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(partial, local)
        return True

    def exists(self, remote: str) -> bool:
        from pyarrow import fs as pafs

        return self.fs.get_file_info(remote).type != pafs.FileType.NotFound

    def delete_tree(self, remote: str) -> None:
        if self.exists(remote):
            self.fs.delete_dir(remote)

    # -------------------------------------------------------------------------------- checkpoints

    def checkpoint_steps(self, run_id: str) -> list[int]:
        """Steps of the run's complete checkpoints in the storage, oldest first."""
        from pyarrow import fs as pafs

        base = self.run_path(run_id, "checkpoints")
        steps = []
        for info in self.fs.get_file_info(pafs.FileSelector(base, allow_not_found=True)):
            step = info.base_name.removeprefix(CHECKPOINT_PREFIX)
            if info.type == pafs.FileType.Directory and info.base_name.startswith(CHECKPOINT_PREFIX) and step.isdigit():
                if self.exists(f"{info.path}/{STATE_FILE}"):
                    steps.append(int(step))
        return sorted(steps)

    def put_checkpoint(self, run_id: str, path: Path, keep: int) -> None:
        """Upload a checkpoint written locally (its state file last), then drop the storage's older ones beyond `keep`."""
        self.put_tree(path, self.run_path(run_id, "checkpoints", path.name), last=STATE_FILE)
        for step in self.checkpoint_steps(run_id)[:-keep] if keep > 0 else []:
            self.delete_tree(self.run_path(run_id, "checkpoints", f"{CHECKPOINT_PREFIX}{step}"))

    def get_checkpoint(self, run_id: str, step: int, checkpoints_dir: Path) -> Path:
        target = Path(checkpoints_dir) / f"{CHECKPOINT_PREFIX}{step}"
        if not (target / STATE_FILE).is_file():
            checkpoints_dir.mkdir(parents=True, exist_ok=True)
            self.get_tree(self.run_path(run_id, "checkpoints", target.name), target)
        return target

    # -------------------------------------------------------------------------------- the trainer's side

    def publish_inputs(self, run_id: str, run_dir: Path) -> None:
        """Upload a prepared run's inputs, its model first (once per model: by a digest of its files), with the
        model's key in the published run.json in place of the trainer's local path."""
        spec = json.loads((run_dir / "run.json").read_text())
        model = Path(spec["model_path"])
        key = model_key(model)
        models = self.path("models", key)
        if not self.exists(f"{models}/{COMPLETE}"):
            self.put_tree(model, models)
            self.put_bytes(b"", f"{models}/{COMPLETE}")
        for name in INPUTS[1:]:
            if (run_dir / name).exists():
                self.put_file(run_dir / name, self.run_path(run_id, "inputs", name))
        self.put_bytes(json.dumps({**spec, "model_key": key}).encode(), self.run_path(run_id, "inputs", "run.json"))

    def fetch_artifacts(self, run_id: str, run_dir: Path) -> bool:
        """The run's artifacts into the trainer's run folder; False when the worker uploaded none (complete)."""
        remote = self.run_path(run_id, "artifacts")
        if not self.exists(f"{remote}/{COMPLETE}"):
            return False
        self.get_tree(remote, Path(run_dir) / "artifacts")
        (Path(run_dir) / "artifacts" / COMPLETE).unlink(missing_ok=True)
        return True

    # -------------------------------------------------------------------------------- the worker's side

    def put_artifacts(self, run_id: str, artifacts_dir: Path) -> None:
        remote = self.run_path(run_id, "artifacts")
        self.delete_tree(remote)
        self.put_tree(artifacts_dir, remote)
        self.put_bytes(b"", f"{remote}/{COMPLETE}")

    def stage(self, run_id: str, run_dir: Path) -> None:
        """A worker's inputs on its node: the run's spec and rows, its model (cached on the node by key), and the
        storage's newest checkpoint when this folder lacks it. Safe for several ranks on one node at once."""
        run_dir.mkdir(parents=True, exist_ok=True)
        with _locked(run_dir / ".stage.lock"):
            for name in INPUTS:
                self.get_file(self.run_path(run_id, "inputs", name), run_dir / name)
            spec = json.loads((run_dir / "run.json").read_text())
            key = spec.pop("model_key")
            model = scratch_dir() / "models" / key
            with _locked(scratch_dir() / "models" / f".{key}.lock"):
                if not (model / COMPLETE).is_file():
                    self.get_tree(self.path("models", key), model)
            spec["model_path"] = str(model)
            (run_dir / "run.json").write_text(json.dumps(spec, indent=2))
            steps = self.checkpoint_steps(run_id)
            if steps:
                self.get_checkpoint(run_id, steps[-1], run_dir / "checkpoints")


def model_key(model_dir: Path) -> str:
    """A digest of a model folder's file names, sizes and modification times (cheap, and new when it changes)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(model_dir).rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(model_dir).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return f"{Path(model_dir).name}-{digest.hexdigest()[:16]}"


def scratch_dir() -> Path:
    """Where this node's workers keep run folders and models: FINETUNE_WORKER_SCRATCH, else the temp folder."""
    path = Path(os.environ.get(SCRATCH_ENV) or Path(tempfile.gettempdir()) / "finetune-worker")
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_journal(run_dir: Path, attempt: int, stored_offset: int) -> None:
    """Keep this node's journal when the previous attempt (or this one) wrote it here: it may hold lines not yet
    stored. Otherwise start a new one whose offsets continue from what the trainer has stored."""
    base_file, journal = run_dir / JOURNAL_BASE, run_dir / "events.jsonl"
    try:
        previous = json.loads(base_file.read_text())
    except (OSError, ValueError):
        previous = None
    if previous is not None and journal.exists() and int(previous.get("attempt", -1)) in (attempt - 1, attempt) and (
            int(previous.get("base", 0)) + journal.stat().st_size >= stored_offset):
        base = int(previous["base"])
    else:
        journal.unlink(missing_ok=True)
        base = stored_offset
    partial = base_file.with_name(JOURNAL_BASE + ".partial")
    partial.write_text(json.dumps({"base": base, "attempt": attempt}))
    os.replace(partial, base_file)


def journal_base(run_dir: Path) -> int:
    """The journal offset of this node's `events.jsonl`'s first byte (0: the run's whole journal is here)."""
    try:
        return int(json.loads((Path(run_dir) / JOURNAL_BASE).read_text())["base"])
    except (OSError, ValueError, KeyError):
        return 0


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
