"""The catalog without a network: built-in, curated, cached and collection models, filtered and browsed."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from services.catalog.categories import CATEGORIES
from services.catalog.curated import BUILTIN_RECORDS, CURATED_MODELS, known_record
from services.catalog.records import ModelRecord, make_record

log = logging.getLogger(__name__)

SORTS = ("downloads", "likes", "trending")


def cached_model_dirs(cache_dir: Path | str | None) -> dict[str, Path]:
    """Model id -> its newest snapshot directory in a Hugging Face cache; {} when there is no cache."""
    if cache_dir is None or not Path(cache_dir).is_dir():
        return {}
    from huggingface_hub import scan_cache_dir

    try:
        info = scan_cache_dir(cache_dir)
    except Exception as exc:  # a cache another process is writing, or a file we may not read
        log.warning("could not scan the Hugging Face cache at %s: %s", cache_dir, exc)
        return {}
    found: dict[str, Path] = {}
    for repo in info.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        # "main" when the cache has that ref, else the snapshot written last.
        main = [r for r in repo.revisions if "main" in r.refs]
        newest = main[0] if main else max(repo.revisions, key=lambda r: r.last_modified)
        found[repo.repo_id] = Path(newest.snapshot_path)
    return found


def read_config(model_dir: Path) -> dict | None:
    """config.json of a model directory, or None when it is missing or unreadable."""
    try:
        return json.loads((Path(model_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return None


def cached_records(cache_dir: Path | str | None) -> list[ModelRecord]:
    """One record per model in the local Hugging Face cache, described from its config.json."""
    records = []
    for model_id, snapshot in sorted(cached_model_dirs(cache_dir).items()):
        known = known_record(model_id)
        if known is not None:
            records.append(known.replace(source="cache"))
            continue
        config = read_config(snapshot) or {}
        architecture = (config.get("architectures") or [None])[0]
        size = sum(f.stat().st_size for f in snapshot.rglob("*") if f.is_file())
        records.append(
            make_record(
                model_id,
                source="cache",
                architecture=architecture,
                tags=tuple(t for t in (config.get("model_type"),) if t),
                download_size_bytes=size or None,
                library="transformers" if config else None,
                description="Downloaded to the local Hugging Face cache.",
            )
        )
    return records


def offline_records(cache_dir: Path | str | None = None, collection: Iterable[ModelRecord] = ()) -> list[ModelRecord]:
    """Built-in, curated, collection, then cached models; an id seen earlier in that order wins."""
    seen: dict[str, ModelRecord] = {}
    for record in (*BUILTIN_RECORDS, *CURATED_MODELS, *collection, *cached_records(cache_dir)):
        seen.setdefault(record.id, record)
    return list(seen.values())


def matches(record: ModelRecord, query: str) -> bool:
    """Every word of the query appears (case-insensitively) in the id, name, provider, category, use case or tags.

    Not the description: "code" would then match every "encoder".
    """
    haystack = " ".join((record.id, record.name, record.provider, record.category, record.use_case, *record.tags))
    haystack = haystack.lower()
    return all(word in haystack for word in query.lower().split())


def filter_records(
    records: Iterable[ModelRecord],
    *,
    query: str | None = None,
    category: str | None = None,
    provider: str | None = None,
) -> list[ModelRecord]:
    return [
        r
        for r in records
        if (not query or matches(r, query))
        and (category is None or r.category == category)
        and (provider is None or r.provider.lower() == provider.lower())
    ]


def sort_records(records: Iterable[ModelRecord], sort: str) -> list[ModelRecord]:
    """Most downloads or likes first, unknown counts last; "trending" keeps the given order."""
    if sort == "trending":
        return list(records)
    return sorted(records, key=lambda r: -(getattr(r, sort) or -1))


def browse(records: Iterable[ModelRecord], *, by: str = "category") -> dict[str, list[ModelRecord]]:
    """Records grouped by "category" (every category present, in the guide's order) or by "provider"."""
    records = list(records)
    if by == "category":
        return {c: [r for r in records if r.category == c] for c in CATEGORIES}
    if by == "provider":
        groups: dict[str, list[ModelRecord]] = {}
        for r in sorted(records, key=lambda r: r.provider.lower()):
            groups.setdefault(r.provider, []).append(r)
        return groups
    raise ValueError(f"browse by 'category' or 'provider', not {by!r}")
