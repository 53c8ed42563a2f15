"""The dashboard speaks the gateway's own contract: web/openapi.json is what /openapi.json serves, and the
TypeScript types in web/src/lib/api-schema.d.ts are openapi-typescript's output for it (`make api-types`)."""

from __future__ import annotations

import json
import os

import pytest

from tools import gen_openapi


def test_the_committed_spec_is_what_the_gateway_serves():
    committed = json.loads(gen_openapi.SPEC.read_text())
    assert committed == json.loads(gen_openapi.served_spec()), "web/openapi.json is stale: run `make api-types`"


def test_the_dashboards_api_types_are_generated_from_that_spec():
    if not gen_openapi.GENERATOR.exists():
        if os.environ.get("FINETUNE_REQUIRE_BROWSER") == "1":
            pytest.fail("web/node_modules is missing: `make web` installs openapi-typescript")
        pytest.skip("web/node_modules is missing (make web)")
    fresh = gen_openapi.typescript(gen_openapi.SPEC.read_text())
    assert gen_openapi.TYPES.read_text() == fresh, "web/src/lib/api-schema.d.ts is stale: run `make api-types`"
