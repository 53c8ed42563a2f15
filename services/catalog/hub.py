"""Hugging Face Hub search and model details, bounded in time, falling back to the offline catalog.

Every hub call runs with a deadline (`services.common.bounded`) and is abandoned after `timeout_s`:
`list_models` takes no timeout and retries network errors with backoff, so only a deadline outside
it bounds the answer.
Search never fails for the hub's sake: when the hub is off (offline setting or `HF_HUB_OFFLINE`),
unreachable, slow or erroring, it answers from the offline catalog and says so in `offline_reason`.
After a timeout or network error the hub is left alone for `cooldown_s`: an abandoned call may
still be retrying in its thread, and a hub that is down should not cost every request `timeout_s`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from services.catalog.categories import normalize_category
from services.catalog.curated import known_record
from services.catalog.offline import SORTS, filter_records, offline_records, sort_records
from services.catalog.records import ModelRecord, make_record
from services.common.bounded import CallTimedOut, call_with_deadline
from services.common.errors import InvalidArgument, NotFound, Unavailable
from services.common.hub_errors import describe_hub_error

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 3.0
DEFAULT_COOLDOWN_S = 30.0
MAX_LIMIT = 100
MAX_QUERY_CHARS = 200
HUB_SORT = {"downloads": "downloads", "likes": "likes", "trending": "trending_score"}
# What a search result shows; asking for exactly these keeps the listing small.
SEARCH_EXPAND = [
    "author",
    "cardData",
    "config",  # architectures and model_type: whether a result is a causal LM, without a model_info per result
    "createdAt",
    "downloads",
    "gated",
    "library_name",
    "likes",
    "pipeline_tag",
    "safetensors",
    "tags",
    "trendingScore",
]
# With a category filter the hub cannot apply, fetch this many times the limit and filter here.
CATEGORY_OVERFETCH = 4
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "spiece.model")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".ckpt", ".gguf", ".onnx", ".ot")
SKIPPED_DIRS = ("onnx/", "openvino/", "original/", "coreml/", "flax_model/")
OFFLINE_SUFFIX = "showing offline results from the local cache, built-in and curated models."


class HubUnreachable(Exception):
    """The hub did not answer usefully in time; `reason` says why in words for a person."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SearchResult:
    models: list[ModelRecord]
    offline: bool = False
    offline_reason: str = ""  # set when offline: why, and what is shown instead


@dataclass(frozen=True)
class ModelDetails:
    """What the hub says about one repo, beyond its record: its files and its config."""

    record: ModelRecord
    files: tuple[str, ...] = ()
    config: dict = field(default_factory=dict)

    @property
    def has_tokenizer(self) -> bool:
        return any(f.rpartition("/")[2] in TOKENIZER_FILES for f in self.files)


class HubClient:
    """Search and details from a Hugging Face Hub endpoint (the real hub, a mirror or a test fake)."""

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        token: str | None = None,
        offline: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        cache_dir: Path | str | None = None,
    ):
        from huggingface_hub import HfApi, constants

        # The library reads HF_HUB_OFFLINE once at import and then refuses every request; honour both.
        self.offline = offline or bool(constants.HF_HUB_OFFLINE)
        self.timeout_s = timeout_s
        self.cooldown_s = cooldown_s
        self._down_until = 0.0
        self._down_reason = ""
        self.cache_dir = cache_dir
        self.has_token = bool(token)
        # token=False: never fall back to a token saved on this machine; settings pass it explicitly.
        self.api = HfApi(endpoint=endpoint, token=token or False)

    # -- search ---------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        category: str | None = None,
        sort: str = "downloads",
        collection: Iterable[ModelRecord] = (),
    ) -> SearchResult:
        """Models whose id matches `query`, best first by `sort`; offline results when the hub is not there."""
        query, category = validate_search(query, limit, category, sort)
        if self.offline:
            reason = "Offline mode is on (HF_HUB_OFFLINE), so the Hugging Face Hub was not searched; " + OFFLINE_SUFFIX
            return self._offline_search(query, limit, category, sort, collection, reason)
        fetch = min(MAX_LIMIT, limit * CATEGORY_OVERFETCH) if category else limit
        try:
            infos = self._bounded(
                lambda: list(
                    self.api.list_models(search=query, sort=HUB_SORT[sort], limit=fetch, expand=SEARCH_EXPAND)
                ),
            )
        except HubUnreachable as exc:
            reason = f"Hugging Face Hub unreachable ({exc.reason}); " + OFFLINE_SUFFIX
            return self._offline_search(query, limit, category, sort, collection, reason)
        records = [record_from_info(info) for info in infos]
        return SearchResult(filter_records(records, category=category)[:limit])

    def _offline_search(self, query, limit, category, sort, collection, reason: str) -> SearchResult:
        log.info("hub search for %r answered offline: %s", query, reason)
        found = filter_records(offline_records(self.cache_dir, collection), query=query, category=category)
        return SearchResult(sort_records(found, sort)[:limit], offline=True, offline_reason=reason)

    # -- details --------------------------------------------------------------------------------

    def model_info(self, model_id: str) -> ModelDetails:
        """Record, files and config of one repo.

        Raises NotFound (reason MODEL_NOT_FOUND) when the hub says the repo does not exist (or is
        private), and Unavailable (reason HUB_UNREACHABLE) when the hub is off, slow or failing.
        """
        from huggingface_hub.errors import RepositoryNotFoundError

        if self.offline:
            raise Unavailable(
                "Offline mode is on (HF_HUB_OFFLINE), so the Hugging Face Hub was not asked.",
                reason="HUB_UNREACHABLE",
                metadata={"model_id": model_id, "cause": "offline mode is on"},
            )
        try:
            info = self._bounded(
                lambda: self.api.model_info(model_id, files_metadata=True, timeout=self.timeout_s),
                passthrough=(RepositoryNotFoundError,),
            )
        except RepositoryNotFoundError:
            raise NotFound(
                f"Model '{model_id}' does not exist on the Hugging Face Hub (or is private): check the id's spelling.",
                reason="MODEL_NOT_FOUND",
                metadata={"model_id": model_id},
            ) from None
        except HubUnreachable as exc:
            raise Unavailable(
                f"Hugging Face Hub unreachable ({exc.reason}).",
                reason="HUB_UNREACHABLE",
                metadata={"model_id": model_id, "cause": exc.reason},
            ) from None
        return ModelDetails(
            record=record_from_info(info),
            files=tuple(s.rfilename for s in info.siblings or ()),
            config=dict(info.config or {}),
        )

    # -- bounded calls --------------------------------------------------------------------------

    def _bounded(self, call: Callable[[], T], passthrough: tuple[type[BaseException], ...] = ()) -> T:
        """Run `call` with the deadline `timeout_s`; its result, or HubUnreachable when it fails or overruns."""
        from huggingface_hub.errors import HfHubHTTPError

        if time.monotonic() < self._down_until:
            raise HubUnreachable(self._down_reason)
        try:
            return call_with_deadline(call, self.timeout_s, name="hub-call")
        except CallTimedOut as exc:
            raise self._mark_down(str(exc)) from None
        except passthrough:
            raise
        except HfHubHTTPError as error:
            raise HubUnreachable(describe_hub_error(error)) from error
        except Exception as error:
            raise self._mark_down(describe_hub_error(error)) from error

    def _mark_down(self, reason: str) -> HubUnreachable:
        self._down_until = time.monotonic() + self.cooldown_s
        self._down_reason = f"{reason}; the hub is skipped for {self.cooldown_s:.0f} s after a failure"
        return HubUnreachable(reason)


def validate_search(query: str, limit: int, category: str | None, sort: str) -> tuple[str, str | None]:
    """The cleaned query and canonical category; InvalidArgument naming the field and what to send."""
    query = (query or "").strip()
    if not query:
        raise InvalidArgument(
            "query must not be empty: give a model name or keyword, e.g. 'llama' or 'code'.",
            reason="EMPTY_QUERY",
            metadata={"field": "query"},
        )
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidArgument(
            f"query is {len(query)} characters long; it must be at most {MAX_QUERY_CHARS}.",
            reason="QUERY_TOO_LONG",
            metadata={"field": "query", "max": MAX_QUERY_CHARS},
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument(
            f"limit must be between 1 and {MAX_LIMIT}, got {limit!r}.",
            reason="LIMIT_OUT_OF_RANGE",
            metadata={"field": "limit", "min": 1, "max": MAX_LIMIT},
        )
    if sort not in SORTS:
        raise InvalidArgument(
            f"sort must be one of {', '.join(SORTS)}, got {sort!r}.", reason="INVALID_SORT", metadata={"field": "sort"}
        )
    if category is not None and category.strip():
        try:
            category = normalize_category(category)
        except ValueError as exc:
            raise InvalidArgument(f"{exc}.", reason="INVALID_CATEGORY", metadata={"field": "category"}) from None
    else:
        category = None
    return query, category


def record_from_info(info) -> ModelRecord:
    """A catalog record from a `huggingface_hub.ModelInfo` (a listing entry or a full model_info)."""
    config = info.config or {}
    architecture = (config.get("architectures") or [None])[0]
    card = info.card_data.to_dict() if info.card_data is not None else {}
    known = known_record(info.id)  # the curated description beats a generated one
    return make_record(
        info.id,
        source="hub",
        parameter_count=info.safetensors.total if info.safetensors else (known and known.parameter_count),
        tags=tuple(info.tags or ()),
        pipeline_tag=info.pipeline_tag,
        architecture=architecture,
        downloads=info.downloads,
        likes=info.likes,
        description=known.description if known else _description(card, info),
        use_case=known.use_case if known else "",
        download_size_bytes=download_size(info.siblings),
        license=_license(card.get("license")),
        gated=info.gated or False,
        library=info.library_name,
    )


def _license(value) -> str | None:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or None
    return str(value) if value else None


def _description(card: dict, info) -> str:
    task = (info.pipeline_tag or "model").replace("-", " ")
    base = card.get("base_model")
    if isinstance(base, list):
        base = base[0] if base else None
    return f"{task.capitalize()} model" + (f" based on {base}" if base else "") + " from the Hugging Face Hub."


def download_size(siblings) -> int | None:
    """Bytes that loading the model with transformers downloads: safetensors weights when the repo has
    them (else the other weight formats), plus every non-weight file; None when sizes are unknown."""
    if not siblings or any(s.size is None for s in siblings):
        return None
    has_safetensors = any(s.rfilename.endswith(".safetensors") for s in siblings)

    def wanted(name: str) -> bool:
        if name.startswith(SKIPPED_DIRS) or name.rpartition("/")[2].startswith("."):
            return False
        if name.endswith(WEIGHT_SUFFIXES):
            return name.endswith(".safetensors") if has_safetensors else name.endswith((".bin", ".pt", ".pth"))
        return True

    return sum(s.size for s in siblings if wanted(s.rfilename))
