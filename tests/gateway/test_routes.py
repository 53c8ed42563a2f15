"""The route table: templates compiled from google.api.http, every binding of every service served."""

from __future__ import annotations

import pytest
from google.api import annotations_pb2

from finetune.dataset.v1 import dataset_service_pb2
from gateway.messages import strings_to_json
from gateway.routes import compile_template, load_routes, service_descriptors
from services.common.errors import InvalidArgument


@pytest.mark.parametrize(
    "template, path, expected",
    [
        ("/v1/{name=datasets/*}", "/v1/datasets/abc", {"name": "datasets/abc"}),
        ("/v1/{name=datasets/*}", "/v1/datasets/abc:rows", None),  # a verb is not part of an id
        ("/v1/{name=datasets/*}:rows", "/v1/datasets/abc:rows", {"name": "datasets/abc"}),
        ("/v1/{dataset.name=datasets/*}", "/v1/datasets/x", {"dataset.name": "datasets/x"}),
        ("/v1/{name=jobs/*}:cancel", "/v1/jobs/j1:cancel", {"name": "jobs/j1"}),
        ("/v1/{name=jobs/*/checkpoints/*}", "/v1/jobs/j1/checkpoints/c2", {"name": "jobs/j1/checkpoints/c2"}),
        ("/v1/{name=models/**}", "/v1/models/meta-llama/Llama-3.1-8B", {"name": "models/meta-llama/Llama-3.1-8B"}),
        ("/api/models/check/{model_id=**}", "/api/models/check/meta-llama%2FLlama-3.1-8B", {"model_id": "meta-llama/Llama-3.1-8B"}),
        ("/v1/{run=runs/*}/losses", "/v1/runs/r1/losses", {"run": "runs/r1"}),
        ("/v1/{id}", "/v1/a%20b", {"id": "a b"}),
        ("/v1/datasets", "/v1/datasets/", None),
        ("/v1/runs:summary", "/v1/runs:summary", {}),
    ],
)
def test_templates_bind_path_variables(template, path, expected):
    assert compile_template(template).match(path) == expected


def test_every_annotated_binding_of_every_service_is_a_route():
    table = {(r.http_method, r.template.template): r.method.full_name for r in load_routes()}
    expected = set()
    for service in service_descriptors():
        for method in service.methods:
            if method.client_streaming and method.server_streaming:
                continue
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            for binding in [rule, *rule.additional_bindings]:
                kind = binding.WhichOneof("pattern")
                expected.add((kind.upper(), getattr(binding, kind)))
    assert expected and expected == set(table)
    assert table[("POST", "/api/preview-csv")] == "finetune.dataset.v1.DatasetService.PreviewDataset"
    assert table[("PATCH", "/v1/{dataset.name=datasets/*}")] == "finetune.dataset.v1.DatasetService.UpdateDataset"


def test_query_strings_are_typed_by_the_fields_they_name():
    descriptor = dataset_service_pb2.UpdateDatasetRequest.DESCRIPTOR
    out = strings_to_json(
        [("dataset.tags", "a,b"), ("dataset.tags", "c"), ("update_mask", "display_name,tags"), ("dataset.displayName", "x")],
        descriptor,
        where="query",
    )
    assert out == {"dataset": {"tags": ["a", "b", "c"], "displayName": "x"}, "update_mask": "displayName,tags"}
    with pytest.raises(InvalidArgument, match="accepts: .*dataset.display_name"):
        strings_to_json([("dataset.nope", "1")], descriptor, where="query")


def test_bool_query_values(client):
    r = client.post("/v1/datasets/dataset_0_x:repair", params={"keep_empty": "maybe"})
    assert r.status_code == 400 and "true or false" in r.json()["error"]["message"]


def test_camel_case_query_parameters_are_accepted(client):
    r = client.get("/v1/datasets", params={"pageSize": "1"})
    assert r.status_code == 200 and len(r.json()["datasets"]) <= 1


def test_head_is_answered_on_get_routes(client):
    assert client.head("/v1/datasets").status_code == 200


@pytest.mark.parametrize("written", ["high", "High", "HIGH", "JOB_PRIORITY_HIGH", 1])
def test_enum_values_by_their_short_names(written):
    from finetune.jobs.v1 import job_pb2
    from gateway.messages import merge_json

    job = merge_json(job_pb2.Job(), {"priority": written}, where="body")
    assert job.priority == job_pb2.JOB_PRIORITY_HIGH


def test_an_unknown_enum_name_is_a_400_naming_the_field():
    from finetune.jobs.v1 import job_pb2
    from gateway.messages import merge_json

    with pytest.raises(InvalidArgument) as info:
        merge_json(job_pb2.Job(), {"priority": "urgent"}, where="body")
    assert info.value.metadata["field"] == "priority" and "urgent" in info.value.message
