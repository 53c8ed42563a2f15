"""A fake Hugging Face Hub on loopback: the HTTP endpoints `huggingface_hub.HfApi` calls, with the hub's JSON.

Use it through the real client:

    with FakeHub().serve() as hub:
        api = HfApi(endpoint=hub.endpoint, token=False)

Knobs for tests: `delay_s` (every API answer waits that long: a slow hub), `fail_status` (every API
answer is that HTTP error), `repos` (add or remove `FakeRepo`s), `requests` (what was asked, in order),
`tokens` (valid write tokens -> user name; `VALID_TOKEN` is `FAKE_USER`'s). More routes go in with
`add_route` before `serve()`; they are matched before the built-in ones. Endpoints implemented, as
HfApi 2.4 calls them:

- GET /api/models                                   list_models (search, author, filter, sort, limit, expand)
- GET /api/models/{repo_id}                         model_info (blobs=True adds file sizes; expand)
- GET /api/models/{repo_id}/revision/{revision}     model_info at a revision

Uploads (whoami, create_repo, create_commit / upload_folder). They need `Authorization: Bearer <token>`
with a token from `tokens` (else 401 "Invalid credentials in Authorization header", as the hub says),
and write to the token's user namespace only (else 403). Created repos join `repos`; what a commit
brings lands in `FakeRepo.contents` (path -> bytes) and `FakeRepo.commits`:

- GET  /api/whoami-v2                                       whoami
- POST /api/repos/create                                    create_repo (409 when it exists: exist_ok)
- POST /api/validate-yaml                                   README.md front matter check before a commit
- POST /api/models/{repo_id}/preupload/{revision}           upload mode per file: "lfs" or "regular"
- POST /{repo_id}.git/info/lfs/objects/batch                LFS batch: upload + verify actions
- PUT  /fake-lfs/{oid}                                      the LFS object (basic transfer, like a presigned S3 PUT)
- POST /{repo_id}.git/info/lfs/objects/verify               LFS verify
- POST /api/models/{repo_id}/commit/{revision}              the commit, NDJSON (header, file, lfsFile, deletedFile)

With hf_xet installed, HfApi sends LFS files through Xet storage, which this fake does not speak:
tests that upload binary files set `huggingface_hub.constants.HF_HUB_DISABLE_XET = True` (monkeypatch)
so the client takes the LFS path above.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# Fields the hub returns for each model of a listing when no `expand` is given.
LISTING_FIELDS = (
    "_id",
    "id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "modelId",
)
HUB_SORT_FIELDS = {"downloads", "likes", "trendingScore", "createdAt", "lastModified"}
LFS_THRESHOLD = 10 * 2**20  # files above this are LFS-tracked on the hub, and say so in `lfs`
VALID_TOKEN = "hf_fake_write_token"
FAKE_USER = "fake-user"
# What a new model repo's default .gitattributes sends to LFS (the usual part of it).
LFS_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.ckpt", "*.h5", "*.msgpack", "*.onnx", "*.model",
                "*.pkl", "*.npy", "*.gguf", "*.zip", "*.tar.gz")


@dataclass
class FakeCommit:
    """One commit pushed to the fake hub."""

    oid: str
    summary: str
    description: str
    added: list[str]
    deleted: list[str]


@dataclass
class FakeRepo:
    """One model repo as the hub describes it."""

    id: str
    downloads: int = 0
    likes: int = 0
    trending_score: int = 0
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = "text-generation"
    library_name: str | None = "transformers"
    gated: bool | str = False
    private: bool = False
    license: str | None = "apache-2.0"
    base_model: str | None = None
    created_at: str = "2024-01-01T00:00:00.000Z"
    last_modified: str = "2024-06-01T00:00:00.000Z"
    config: dict = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)  # file name -> size in bytes
    parameters: dict[str, int] = field(default_factory=dict)  # safetensors dtype -> parameter count
    contents: dict[str, bytes] = field(default_factory=dict)  # uploaded file name -> its bytes
    commits: list[FakeCommit] = field(default_factory=list)  # pushed commits, oldest first

    @property
    def sha(self) -> str:
        """The head commit: the last pushed one, else one derived from the id."""
        return self.commits[-1].oid if self.commits else hashlib.sha1(self.id.encode()).hexdigest()

    @property
    def author(self) -> str:
        return self.id.partition("/")[0] if "/" in self.id else ""

    def full_json(self, *, blobs: bool = False) -> dict:
        card = {"license": self.license, "tags": [t for t in self.tags if ":" not in t]}
        if self.base_model:
            card["base_model"] = self.base_model
        data = {
            "_id": hashlib.sha1(self.id.encode()).hexdigest()[:24],
            "id": self.id,
            "modelId": self.id,
            "author": self.author,
            "sha": self.sha,
            "lastModified": self.last_modified,
            "createdAt": self.created_at,
            "private": self.private,
            "gated": self.gated,
            "disabled": False,
            "downloads": self.downloads,
            "likes": self.likes,
            "trendingScore": self.trending_score,
            "library_name": self.library_name,
            "tags": self.all_tags,
            "pipeline_tag": self.pipeline_tag,
            "mask_token": None,
            "cardData": card,
            "widgetData": [],
            "config": self.config,
            "transformersInfo": {
                "auto_model": "AutoModelForCausalLM",
                "pipeline_tag": self.pipeline_tag,
                "processor": "AutoTokenizer",
            }
            if self.pipeline_tag == "text-generation"
            else None,
            "siblings": [self._sibling(name, size, blobs) for name, size in self.files.items()],
            "spaces": [],
            "usedStorage": sum(self.files.values()),
        }
        if self.parameters:
            data["safetensors"] = {"parameters": dict(self.parameters), "total": sum(self.parameters.values())}
        return data

    @property
    def all_tags(self) -> list[str]:
        extra = [self.library_name] if self.library_name else []
        extra += [f"license:{self.license}"] if self.license else []
        extra += [self.pipeline_tag] if self.pipeline_tag else []
        return list(dict.fromkeys([*extra, *self.tags]))

    def _sibling(self, name: str, size: int, blobs: bool) -> dict:
        if not blobs:
            return {"rfilename": name}
        digest = hashlib.sha256(f"{self.id}/{name}".encode()).hexdigest()
        sibling = {"rfilename": name, "size": size, "blobId": digest[:40]}
        if size > LFS_THRESHOLD:
            sibling["lfs"] = {"size": size, "sha256": digest, "pointerSize": 134}
        return sibling


def select(data: dict, expand: list[str] | None, default: tuple[str, ...] | None = None) -> dict:
    """What the hub sends back: only the expanded properties (plus ids) when `expand` is given."""
    keys = ("_id", "id", *expand) if expand else default
    return {k: data[k] for k in keys if k in data} if keys else data


def _weights(params: int, shards: int = 1, dtype_bytes: int = 2) -> dict[str, int]:
    size = params * dtype_bytes
    if shards == 1:
        return {"model.safetensors": size}
    files = {f"model-{i:05d}-of-{shards:05d}.safetensors": size // shards for i in range(1, shards + 1)}
    files["model.safetensors.index.json"] = 23_950
    return files


def _llama_config(
    hidden: int, layers: int, vocab: int, model_type: str = "llama", arch: str = "LlamaForCausalLM"
) -> dict:
    return {
        "architectures": [arch],
        "model_type": model_type,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "vocab_size": vocab,
        "tokenizer_config": {"bos_token": "<s>", "eos_token": "</s>"},
    }


TOKENIZER_FILES = {"tokenizer.json": 9_085_657, "tokenizer_config.json": 55_351, "special_tokens_map.json": 296}
COMMON_FILES = {".gitattributes": 1_519, "README.md": 44_041, "config.json": 855, "generation_config.json": 184}


def default_repos() -> list[FakeRepo]:
    """A small hub: popular causal LMs, a code model, a chat model, a multimodal one, an encoder, a gated one."""
    return [
        FakeRepo(
            "meta-llama/Llama-3.1-8B-Instruct",
            downloads=5_000_000,
            likes=4_100,
            trending_score=120,
            gated="manual",
            license="llama3.1",
            tags=["safetensors", "llama", "facebook", "meta", "llama-3", "conversational", "en", "de"],
            base_model="meta-llama/Llama-3.1-8B",
            config=_llama_config(4096, 32, 128_256),
            files={
                **COMMON_FILES,
                **TOKENIZER_FILES,
                **_weights(8_030_261_248, shards=4),
                "original/consolidated.00.pth": 16_060_617_592,
            },
            parameters={"BF16": 8_030_261_248},
        ),
        FakeRepo(
            "meta-llama/Llama-3.2-1B",
            downloads=1_900_000,
            likes=1_900,
            trending_score=60,
            gated="manual",
            license="llama3.2",
            tags=["safetensors", "llama", "facebook", "meta", "llama-3"],
            config=_llama_config(2048, 16, 128_256),
            files={**COMMON_FILES, **TOKENIZER_FILES, **_weights(1_235_814_400)},
            parameters={"BF16": 1_235_814_400},
        ),
        FakeRepo(
            "codellama/CodeLlama-7b-hf",
            downloads=90_000,
            likes=370,
            trending_score=3,
            license="llama2",
            tags=["pytorch", "safetensors", "llama", "llama-2", "code"],
            config=_llama_config(4096, 32, 32_016),
            files={
                **COMMON_FILES,
                **TOKENIZER_FILES,
                "tokenizer.model": 500_058,
                **_weights(6_738_546_688, shards=2),
                "pytorch_model-00001-of-00002.bin": 9_976_634_558,
                "pytorch_model-00002-of-00002.bin": 3_500_315_539,
            },
            parameters={"BF16": 6_738_546_688},
        ),
        FakeRepo(
            "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
            downloads=1_400_000,
            likes=1_300,
            trending_score=25,
            tags=["safetensors", "llama", "conversational", "en"],
            config=_llama_config(2048, 22, 32_000),
            files={**COMMON_FILES, **TOKENIZER_FILES, "tokenizer.model": 499_723, **_weights(1_100_048_384)},
            parameters={"BF16": 1_100_048_384},
        ),
        FakeRepo(
            "someone/llama-chat-13b",
            downloads=1_200,
            likes=9_000,
            trending_score=5,
            tags=["safetensors", "llama", "conversational"],
            config=_llama_config(5120, 40, 32_000),
            files={**COMMON_FILES, **TOKENIZER_FILES, **_weights(13_015_864_320, shards=3)},
            parameters={"F16": 13_015_864_320},
        ),
        FakeRepo(
            "Qwen/Qwen2-VL-2B-Instruct",
            downloads=800_000,
            likes=450,
            trending_score=400,
            pipeline_tag="image-text-to-text",
            tags=["safetensors", "qwen2_vl", "multimodal", "conversational"],
            config={"architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl"},
            files={**COMMON_FILES, **TOKENIZER_FILES, **_weights(2_208_985_600)},
            parameters={"BF16": 2_208_985_600},
        ),
        FakeRepo(
            "google/flan-t5-base",
            downloads=700_000,
            likes=900,
            trending_score=2,
            pipeline_tag="text2text-generation",
            tags=["pytorch", "safetensors", "t5", "en"],
            config={
                "architectures": ["T5ForConditionalGeneration"],
                "model_type": "t5",
                "d_model": 768,
                "num_layers": 12,
            },
            files={
                **COMMON_FILES,
                "spiece.model": 791_656,
                "tokenizer.json": 2_424_064,
                **_weights(247_577_856, dtype_bytes=4),
            },
            parameters={"F32": 247_577_856},
        ),
    ]


class FakeHub:
    """State and routes of the fake hub; `serve()` runs it on 127.0.0.1 on a free port."""

    def __init__(self, repos: list[FakeRepo] | None = None):
        self.repos: dict[str, FakeRepo] = {r.id: r for r in (default_repos() if repos is None else repos)}
        self.delay_s = 0.0
        self.fail_status: int | None = None
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.tokens: dict[str, str] = {VALID_TOKEN: FAKE_USER}
        self.lfs_objects: dict[str, bytes] = {}  # sha256 hex -> content, uploaded through the LFS routes
        self.endpoint = ""
        self._extra_routes: list[Route] = []
        self._stopping = threading.Event()

    # -- extension --------------------------------------------------------------------------------

    def add_route(self, path: str, endpoint: Callable, methods: list[str]) -> None:
        """Another hub endpoint (e.g. POST /api/repos/create); matched before the built-in ones."""
        self._extra_routes.append(Route(path, self._wrap(endpoint), methods=methods))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                *self._extra_routes,
                *self._upload_routes(),
                Route("/api/models", self._wrap(self.list_models), methods=["GET"]),
                Route("/api/models/{repo_id:path}/revision/{revision}", self._wrap(self.model_info), methods=["GET"]),
                Route("/api/models/{repo_id:path}", self._wrap(self.model_info), methods=["GET"]),
            ]
        )

    # -- serving ----------------------------------------------------------------------------------

    @contextmanager
    def serve(self) -> Iterator[FakeHub]:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app(), log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-hub", daemon=True)
        self._stopping.clear()
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the fake hub did not start")
            time.sleep(0.01)
        self.endpoint = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            self._stopping.set()  # releases slow answers still waiting
            server.should_exit = True
            thread.join(10)
            sock.close()
            # The client's pool may keep connections to this port; a later fake hub can get the same
            # port number, and a stale connection there costs a 1 s retry. Start the next one clean.
            from huggingface_hub.utils import close_session

            close_session()

    # -- handlers ---------------------------------------------------------------------------------

    def _wrap(self, handler: Callable) -> Callable:
        async def endpoint(request: Request) -> Response:
            self.requests.append((request.method, request.url.path, _multi(request)))
            if self.delay_s:
                await self._sleep(self.delay_s)
            if self.fail_status:
                return error(self.fail_status, "InternalError", "Something went wrong on the fake hub")
            result = handler(request)
            return await result if asyncio.iscoroutine(result) else result

        return endpoint

    async def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self._stopping.is_set():
            await asyncio.sleep(0.02)

    def list_models(self, request: Request) -> Response:
        params = _multi(request)
        search = (params.get("search") or [""])[0].lower()
        author = (params.get("author") or [None])[0]
        wanted_tags = set(params.get("filter", []))
        repos = [
            r
            for r in self.repos.values()
            if not r.private
            and search in r.id.lower()
            and (author is None or r.author == author)
            and wanted_tags <= set(r.all_tags)
        ]
        sort = (params.get("sort") or [None])[0]
        if sort is not None:
            if sort not in HUB_SORT_FIELDS:
                return error(400, None, f'Invalid sort parameter "{sort}"')
            repos.sort(key=lambda r: r.full_json()[sort], reverse=True)
        limit = int((params.get("limit") or ["1000"])[0])
        expand = params.get("expand")
        full = params.get("full") == ["True"] or params.get("full") == ["true"]
        body = [select(r.full_json(), expand, None if full else LISTING_FIELDS) for r in repos[:limit]]
        return JSONResponse(body)

    def model_info(self, request: Request) -> Response:
        repo_id = request.path_params["repo_id"]
        revision = request.path_params.get("revision", "main")
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and "authorization" not in request.headers):
            # Like the hub: 401 to anonymous callers (it will not say whether a private repo exists), 404 otherwise.
            status = 404 if "authorization" in request.headers else 401
            return error(status, "RepoNotFound", "Repository not found")
        if revision not in ("main", repo.sha):
            return error(404, "RevisionNotFound", "Invalid rev id: " + revision)
        params = _multi(request)
        blobs = params.get("blobs") in (["True"], ["true"])
        return JSONResponse(select(repo.full_json(blobs=blobs), params.get("expand")))


    # -- uploads ----------------------------------------------------------------------------------

    def _upload_routes(self) -> list[Route]:
        return [
            Route("/api/whoami-v2", self._wrap(self.whoami), methods=["GET"]),
            Route("/api/repos/create", self._wrap(self.create_repo), methods=["POST"]),
            Route("/api/validate-yaml", self._wrap(self.validate_yaml), methods=["POST"]),
            Route("/api/models/{repo_id:path}/preupload/{revision}", self._wrap(self.preupload), methods=["POST"]),
            Route("/api/models/{repo_id:path}/commit/{revision}", self._wrap(self.commit), methods=["POST"]),
            Route("/fake-lfs/{oid}", self._wrap(self.lfs_put), methods=["PUT"]),
            Route("/{repo_id:path}.git/info/lfs/objects/batch", self._wrap(self.lfs_batch), methods=["POST"]),
            Route("/{repo_id:path}.git/info/lfs/objects/verify", self._wrap(self.lfs_verify), methods=["POST"]),
        ]

    def _user(self, request: Request) -> str | Response:
        """The token's user, or the hub's 401."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return error(401, None, "You must be authenticated to access this resource")
        if token not in self.tokens:
            return error(401, None, "Invalid credentials in Authorization header")
        return self.tokens[token]

    def _writable_repo(self, request: Request) -> FakeRepo | Response:
        """The repo in the path if the token's user may push to it; else the hub's 401, 403 or 404."""
        user = self._user(request)
        if isinstance(user, Response):
            return user
        repo_id = request.path_params["repo_id"]
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and repo.author != user):
            return error(404, "RepoNotFound", "Repository not found")
        if repo.author != user:
            return error(403, None, f"You don't have the rights to push to {repo_id}")
        if request.path_params.get("revision", "main") != "main":
            return error(404, "RevisionNotFound", "Invalid rev id: " + request.path_params["revision"])
        return repo

    def whoami(self, request: Request) -> Response:
        user = self._user(request)
        if isinstance(user, Response):
            return user
        return JSONResponse(
            {
                "type": "user",
                "id": hashlib.sha1(user.encode()).hexdigest()[:24],
                "name": user,
                "fullname": user.title(),
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "fake", "role": "write"}},
            }
        )

    async def create_repo(self, request: Request) -> Response:
        user = self._user(request)
        if isinstance(user, Response):
            return user
        body = json.loads(await request.body())
        namespace = body.get("organization") or user
        repo_id = f"{namespace}/{body.get('name', '')}"
        if body.get("type", "model") != "model":
            return error(400, None, "The fake hub only hosts model repos")
        if namespace != user:
            return error(403, None, f'You don\'t have the rights to create a model under the namespace "{namespace}"')
        if repo_id in self.repos:
            return JSONResponse({"error": "You already created this model repo", "url": self._url(repo_id)}, 409)
        private = body.get("visibility", "public") == "private" or body.get("private") is True
        self.repos[repo_id] = FakeRepo(
            repo_id, private=private, pipeline_tag=None, library_name=None, license=None, tags=[]
        )
        repo_key = hashlib.sha1(repo_id.encode()).hexdigest()[:24]
        return JSONResponse({"url": self._url(repo_id), "name": repo_id, "id": repo_key})

    async def validate_yaml(self, request: Request) -> Response:
        body = json.loads(await request.body())
        content: str = body.get("content", "")
        if content.startswith("---") and "\n---" not in content[3:]:
            return JSONResponse({"errors": [{"message": "metadata block is not closed"}], "warnings": []}, 400)
        return JSONResponse({"errors": [], "warnings": []})

    async def preupload(self, request: Request) -> Response:
        repo = self._writable_repo(request)
        if isinstance(repo, Response):
            return repo
        body = json.loads(await request.body())
        files = []
        for item in body["files"]:
            sample = base64.b64decode(item["sample"])
            lfs = (
                any(fnmatch.fnmatch(item["path"].rpartition("/")[2], p) for p in LFS_PATTERNS)
                or item["size"] > LFS_THRESHOLD
                or b"\0" in sample  # the hub refuses binary files outside LFS
            )
            old = repo.contents.get(item["path"])
            oid = None
            if old is not None:
                oid = hashlib.sha256(old).hexdigest() if lfs else _git_blob_sha(old)
            files.append({"path": item["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                          "oid": oid})
        return JSONResponse({"files": files, "commitOid": repo.sha})

    async def lfs_batch(self, request: Request) -> Response:
        repo = self._writable_repo(request)
        if isinstance(repo, Response):
            return repo
        body = json.loads(await request.body())
        if body.get("operation") != "upload":
            return error(400, None, "Only uploads are supported by the fake hub")
        objects = []
        for obj in body["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if self.lfs_objects.get(obj["oid"]) is None:
                entry["actions"] = {
                    "upload": {"href": f"{self.endpoint}/fake-lfs/{obj['oid']}", "header": {}},
                    "verify": {"href": f"{self.endpoint}/{repo.id}.git/info/lfs/objects/verify", "header": {}},
                }
            objects.append(entry)
        return JSONResponse({"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
                            media_type="application/vnd.git-lfs+json")

    async def lfs_put(self, request: Request) -> Response:
        oid = request.path_params["oid"]
        data = await request.body()
        if hashlib.sha256(data).hexdigest() != oid:
            return error(400, None, "Uploaded content does not match its sha256")
        self.lfs_objects[oid] = data
        return Response(status_code=200, headers={"ETag": f'"{oid[:32]}"'})

    async def lfs_verify(self, request: Request) -> Response:
        repo = self._writable_repo(request)
        if isinstance(repo, Response):
            return repo
        body = json.loads(await request.body())
        data = self.lfs_objects.get(body["oid"])
        if data is None or len(data) != body["size"]:
            return error(404, None, f"LFS object {body['oid']} not found or of another size")
        return JSONResponse({"success": True})

    async def commit(self, request: Request) -> Response:
        repo = self._writable_repo(request)
        if isinstance(repo, Response):
            return repo
        lines = [json.loads(line) for line in (await request.body()).splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            return error(400, None, "The first line of a commit must be its header")
        header = lines[0]["value"]
        files: dict[str, bytes] = {}
        deleted: list[str] = []
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "lfsFile":
                data = self.lfs_objects.get(value["oid"])
                if data is None:
                    return error(422, None, f"LFS file {value['path']} was not uploaded (oid {value['oid']})")
                files[value["path"]] = data
            elif key in ("deletedFile", "deletedFolder"):
                deleted.append(value["path"])
            else:
                return error(400, None, f"Unsupported commit operation {key!r}")
        for path in deleted:
            for name in [n for n in repo.contents if n == path or n.startswith(path.rstrip("/") + "/")]:
                repo.contents.pop(name)
                repo.files.pop(name, None)
        for path, data in files.items():
            repo.contents[path] = data
            repo.files[path] = len(data)
        oid = hashlib.sha1(f"{repo.sha}{header.get('summary')}{sorted(files)}{len(repo.commits)}".encode()).hexdigest()
        repo.commits.append(FakeCommit(oid, header.get("summary", ""), header.get("description", ""),
                                       sorted(files), deleted))
        return JSONResponse(
            {"success": True, "commitOid": oid, "commitUrl": f"{self._url(repo.id)}/commit/{oid}",
             "pullRequestUrl": None}
        )

    def _url(self, repo_id: str) -> str:
        return f"{self.endpoint}/{repo_id}"


def _git_blob_sha(data: bytes) -> str:
    """The git object id of a blob: what the hub reports as a regular file's oid."""
    return hashlib.sha1(b"blob " + str(len(data)).encode() + b"\0" + data).hexdigest()


def error(status: int, code: str | None, message: str) -> JSONResponse:
    """An error the way the hub sends one: JSON body plus X-Error-Code / X-Error-Message headers."""
    headers = {"X-Error-Message": message}
    if code:
        headers["X-Error-Code"] = code
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _multi(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key.removesuffix("[]"), []).append(value)
    return params


@pytest.fixture(name="fake_hub")
def fake_hub_fixture() -> Iterator[FakeHub]:
    """A fresh fake hub per test, served on loopback, as the fixture `fake_hub`.

    To use it, import `fake_hub_fixture` into the test module (or a conftest).
    """
    with FakeHub().serve() as hub:
        yield hub
