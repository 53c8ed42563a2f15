"""The catalog service over gRPC, in process, against a fake hub on loopback."""

from __future__ import annotations

import time

import grpc
import pytest

from finetune.catalog.v1 import catalog_service_pb2 as pb, catalog_service_pb2_grpc, model_pb2
from services.catalog.builtin_models import TINY_MODEL_ID
from services.catalog.server import build_server
from tests.fakes.fake_hub import fake_hub_fixture  # noqa: F401 (the fake_hub fixture)
from tests.grpc_harness import expect_error, running


@pytest.fixture
def settings(make_settings, database_url, fake_hub, tmp_path):
    env = {
        "FINETUNE_CATALOG_HUB_ENDPOINT": fake_hub.endpoint,
        "FINETUNE_CATALOG_HUB_TIMEOUT_S": "1.5",
        "FINETUNE_CATALOG_HF_CACHE_DIR": str(tmp_path / "hf-cache"),
        "FINETUNE_CATALOG_BUILD_BUILTIN": "0",
    }
    return make_settings("catalog", env, database_url=database_url)


async def test_search_sorts_and_limits_with_the_guides_fields(settings):
    async with running(build_server, settings) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        res = await stub.SearchModels(pb.SearchModelsRequest(query="llama", limit=5))
    assert not res.offline and 0 < len(res.models) <= 5
    downloads = [m.downloads for m in res.models]
    assert downloads == sorted(downloads, reverse=True)
    top = res.models[0]
    assert top.id == "meta-llama/Llama-3.1-8B-Instruct"
    assert (top.display_name, top.provider, top.category, top.parameters) == ("Llama 3.1 8B Instruct", "Meta", "Instruction Following", "8B")
    assert top.gated == "manual" and top.license == "llama3.1"


async def test_slow_hub_falls_back_to_offline_results_quickly(settings, fake_hub):
    fake_hub.delay_s = 10
    async with running(build_server, settings) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        started = time.monotonic()
        res = await stub.SearchModels(pb.SearchModelsRequest(query="llama", limit=10))
        elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed
    assert res.offline and "offline" in res.offline_reason.lower()
    assert any(m.id == "TinyLlama/TinyLlama-1.1B-Chat-v1.0" for m in res.models)


async def test_collection_add_list_get_delete_with_slashes(settings):
    async with running(build_server, settings) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        body = model_pb2.Model(id="meta-llama/Llama-3.1-8B-Instruct", display_name="Llama 3.1 8B Instruct", provider="Meta", category="Instruction Following")
        added = await stub.CreateModel(pb.CreateModelRequest(model=body))
        assert added.name == "models/meta-llama/Llama-3.1-8B-Instruct" and added.source == "collection"
        await expect_error(stub.CreateModel(pb.CreateModelRequest(model=body)), grpc.StatusCode.ALREADY_EXISTS, "MODEL_ALREADY_IN_COLLECTION")
        await stub.CreateModel(pb.CreateModelRequest(model=model_pb2.Model(id="my-org/my-model", category="code generation")))
        listed = await stub.ListModels(pb.ListModelsRequest())
        assert {m.id for m in listed.models} == {"meta-llama/Llama-3.1-8B-Instruct", "my-org/my-model"}
        code = await stub.ListModels(pb.ListModelsRequest(category="Code Generation"))
        assert [m.id for m in code.models] == ["my-org/my-model"]
        got = await stub.GetModel(pb.GetModelRequest(name="models/meta-llama/Llama-3.1-8B-Instruct"))
        assert got.provider == "Meta"
        await stub.DeleteModel(pb.DeleteModelRequest(name=got.name))
        await expect_error(stub.GetModel(pb.GetModelRequest(name=got.name)), grpc.StatusCode.NOT_FOUND, "MODEL_NOT_IN_COLLECTION")


async def test_browse_and_categories_work_offline(settings):
    async with running(build_server, settings) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        cats = await stub.ListCategories(pb.ListCategoriesRequest())
        assert list(cats.categories) == ["Text Generation", "Code Generation", "Instruction Following", "Conversational", "Multimodal", "Compact Models",
                                        "Fine-tuned"]
        assert "first match wins" in cats.rule
        groups = {g.key: g for g in (await stub.BrowseModels(pb.BrowseModelsRequest())).groups}
        assert TINY_MODEL_ID in {m.id for m in groups["Compact Models"].models}
        assert "codellama/CodeLlama-7b-hf" in {m.id for m in groups["Code Generation"].models}
        by_provider = {g.key for g in (await stub.BrowseModels(pb.BrowseModelsRequest(group_by="provider"))).groups}
        assert {"Meta", "Built-in"} <= by_provider


async def test_availability_of_the_builtin_and_of_a_missing_model(settings):
    async with running(build_server, settings) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        ok = await stub.CheckModelAvailability(pb.CheckModelAvailabilityRequest(model_id=TINY_MODEL_ID))
        assert ok.can_fine_tune and ok.tokenizer_present and ok.architecture == "LlamaForCausalLM"
        assert {"q_proj", "v_proj"} <= set(ok.lora_target_modules)
        assert ok.estimated_memory_bytes > 0 and ok.available_memory_bytes > 0
        missing = await stub.CheckModelAvailability(pb.CheckModelAvailabilityRequest(model_id="nobody/no-such-model"))
        assert not missing.found and not missing.can_fine_tune
        assert any("not found" in p.lower() for p in missing.problems)


async def test_bad_input_gets_clear_errors(settings):
    async with running(build_server, settings) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        await expect_error(stub.SearchModels(pb.SearchModelsRequest(query="  ")), grpc.StatusCode.INVALID_ARGUMENT, phrase="query")
        await expect_error(stub.SearchModels(pb.SearchModelsRequest(query="llama", limit=101)), grpc.StatusCode.INVALID_ARGUMENT, phrase="between 1 and 100")
        await expect_error(stub.SearchModels(pb.SearchModelsRequest(query="llama", sort="newest")), grpc.StatusCode.INVALID_ARGUMENT)
        await expect_error(stub.BrowseModels(pb.BrowseModelsRequest(category="Poetry")), grpc.StatusCode.INVALID_ARGUMENT, "UNKNOWN_CATEGORY")
        await expect_error(stub.CreateModel(pb.CreateModelRequest(model=model_pb2.Model())), grpc.StatusCode.INVALID_ARGUMENT, "MISSING_MODEL_ID")
        await expect_error(stub.CheckModelAvailability(pb.CheckModelAvailabilityRequest(model_id="bad id with spaces")), grpc.StatusCode.INVALID_ARGUMENT)


async def test_a_size_in_the_name_past_any_model_is_unknown_and_the_collection_keeps_working(settings):
    """`acme/chat-99999999999999b` once answered 500, was stored anyway, and then every listing failed."""
    async with running(build_server, settings) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        for model_id in ("acme/chat-99999999999999b", "acme/chat-" + "9" * 80 + "b", "acme/chat-1.5b"):
            added = await stub.CreateModel(pb.CreateModelRequest(model=model_pb2.Model(id=model_id)))
            assert added.id == model_id and added.add_time.seconds > 0
        listed = await stub.ListModels(pb.ListModelsRequest())
        counts = {m.id: m.parameter_count for m in listed.models}
        assert counts == {"acme/chat-99999999999999b": 0, "acme/chat-" + "9" * 80 + "b": 0, "acme/chat-1.5b": 1_500_000_000}
        await stub.BrowseModels(pb.BrowseModelsRequest())
        await stub.SearchModels(pb.SearchModelsRequest(query="chat"))


async def test_a_count_no_int64_holds_kept_by_an_older_version_does_not_break_listing(settings):
    from services.catalog.records import make_record
    from services.catalog.store import CollectionStore
    from services.common.db import create_engine

    engine = create_engine(settings.effective_database_url)
    store = CollectionStore(engine)
    await store.prepare()
    await store.add(make_record("acme/old-row", source="collection", parameter_count=10**23))
    await engine.dispose()
    async with running(build_server, settings) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        listed = await stub.ListModels(pb.ListModelsRequest())
        assert [(m.id, m.parameter_count) for m in listed.models] == [("acme/old-row", 0)]


@pytest.mark.parametrize("model_id", ["~nosuchuser", "~root", "/etc", "/root/.ssh", "../../etc/passwd", "./models/x"])
async def test_paths_and_home_directories_are_refused_naming_the_field(settings, model_id):
    """No local roots are configured here: no path is read, and no answer tells which paths or users exist."""
    async with running(build_server, settings) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        check = stub.CheckModelAvailability(pb.CheckModelAvailabilityRequest(model_id=model_id))
        _, metadata = await expect_error(check, grpc.StatusCode.INVALID_ARGUMENT)
        assert metadata["field"] == "model_id"
        create = stub.CreateModel(pb.CreateModelRequest(model=model_pb2.Model(id=model_id)))
        await expect_error(create, grpc.StatusCode.INVALID_ARGUMENT)
        assert (await stub.ListModels(pb.ListModelsRequest())).models == []


async def test_a_local_model_under_a_configured_root_is_checked(make_settings, fake_hub, tmp_path):
    from services.catalog.builtin_models import ensure_builtin_model

    (tmp_path / "models").mkdir()
    model_dir = ensure_builtin_model(tmp_path / "build", TINY_MODEL_ID).rename(tmp_path / "models" / "mine")
    env = {"FINETUNE_CATALOG_OFFLINE": "1", "FINETUNE_CATALOG_BUILD_BUILTIN": "0", "FINETUNE_MODEL_ROOTS": str(tmp_path / "models")}
    async with running(build_server, make_settings("catalog", env)) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        report = await stub.CheckModelAvailability(pb.CheckModelAvailabilityRequest(model_id=str(model_dir)))
        assert report.found and report.can_fine_tune and list(report.locations) == ["local_path"]
        outside = stub.CheckModelAvailability(pb.CheckModelAvailabilityRequest(model_id=str(tmp_path / "build")))
        await expect_error(outside, grpc.StatusCode.INVALID_ARGUMENT, "MODEL_PATH_NOT_ALLOWED", "not under a model root")


async def test_a_fine_tuned_model_is_registered_listed_and_checked_as_its_base(settings):
    async with running(build_server, settings) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        origin = model_pb2.FineTunedOrigin(base_model=TINY_MODEL_ID, job="jobs/job_1", dataset="datasets/d", run="runs/job_1",
                                           trainer="127.0.0.1:1", model_dir="/data/trainer/runs/job_1/artifacts/model",
                                           metrics={"final_loss": 1.5})
        made = await stub.CreateModel(pb.CreateModelRequest(model=model_pb2.Model(id="finetune-models/support-v1", fine_tuned=origin)))
        assert (made.category, made.provider, made.fine_tuned.base_model) == ("Fine-tuned", "Fine-tuned here", TINY_MODEL_ID)
        listed = await stub.ListModels(pb.ListModelsRequest(category="Fine-tuned"))
        assert [m.id for m in listed.models] == ["finetune-models/support-v1"] and listed.models[0].fine_tuned.metrics["final_loss"] == 1.5
        check = await stub.CheckModelAvailability(pb.CheckModelAvailabilityRequest(model_id="finetune-models/support-v1"))
        assert check.found and list(check.locations) == ["fine_tuned"] and check.local_path == origin.model_dir
        assert "q_proj" in check.lora_target_modules  # the base model's modules: a merged model has the same
        await expect_error(stub.CreateModel(pb.CreateModelRequest(model=model_pb2.Model(id="finetune-models/support-v1", fine_tuned=origin))),
                           grpc.StatusCode.ALREADY_EXISTS, "MODEL_ALREADY_IN_COLLECTION")
        await expect_error(stub.CreateModel(pb.CreateModelRequest(model=model_pb2.Model(id="finetune-models/no-origin"))),
                           grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FINE_TUNED_MODEL")
        await expect_error(stub.CheckModelAvailability(pb.CheckModelAvailabilityRequest(model_id="finetune-models/nope")),
                           grpc.StatusCode.NOT_FOUND, "FINE_TUNED_MODEL_NOT_FOUND")
        # Its files are deleted only on a configured trainer: a registry entry naming another host never gets the token.
        _, metadata = await expect_error(stub.DeleteModel(pb.DeleteModelRequest(name="models/finetune-models/support-v1")),
                                         grpc.StatusCode.FAILED_PRECONDITION, "TRAINER_NOT_CONFIGURED", "FINETUNE_CATALOG_TRAINER_ADDRESSES")
        assert metadata["trainer"] == "127.0.0.1:1"
        assert (await stub.GetModel(pb.GetModelRequest(name="models/finetune-models/support-v1"))).fine_tuned.job == "jobs/job_1"
