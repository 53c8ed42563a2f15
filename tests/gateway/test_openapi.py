"""/openapi.json comes from the same route table the gateway serves; /docs renders it with nothing external."""

from __future__ import annotations

import re

from gateway.openapi import openapi_path
from gateway.routes import load_routes


def test_openapi_lists_every_annotated_path_and_method(client):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for rest in load_routes():
        path, _ = openapi_path(rest)
        assert rest.http_method.lower() in spec["paths"].get(path, {}), f"{rest.http_method} {path} missing"


def test_paths_expand_resource_names_and_document_fields(client):
    spec = client.get("/openapi.json").json()
    get = spec["paths"]["/v1/datasets/{dataset_id}"]["get"]
    assert get["parameters"][0]["name"] == "dataset_id" and "datasets/*" in get["parameters"][0]["description"]
    listing = spec["paths"]["/v1/datasets"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"page_size", "page_token", "tag"}
    upload = spec["paths"]["/api/datasets"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["properties"]["file"]["format"] == "binary" and "name" in upload["properties"]
    dataset = spec["components"]["schemas"]["finetune.dataset.v1.Dataset"]["properties"]
    assert dataset["uid"] == {"type": "string"} and dataset["tags"]["type"] == "array"
    assert "/api/datasets/{dataset_id}" in spec["paths"] and "/v1/datasets/{dataset_id}:rows" in spec["paths"]


def test_docs_page_lists_the_routes_and_loads_nothing_external(client):
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "/api/preview-csv" in page and "/v1/datasets/{dataset_id}" in page and "validation_errors" in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
