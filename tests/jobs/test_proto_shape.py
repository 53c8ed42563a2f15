"""The jobs protos' shape: the guide's REST paths reach the right RPCs through the gateway's route table
(first match wins)."""

from __future__ import annotations

import pytest

from finetune.jobs.v1 import jobs_service_pb2
from gateway.routes import load_routes

SERVICE = jobs_service_pb2.DESCRIPTOR.services_by_name["JobsService"]


@pytest.mark.parametrize("method,path,rpc", [
    ("POST", "/api/jobs", "CreateJob"),
    ("POST", "/api/jobs/compare", "CompareJobs"),
    ("GET", "/api/configurations/best", "GetBestConfiguration"),
    ("GET", "/api/configurations/0003000200000000800160320m", "GetConfiguration"),
    ("GET", "/api/jobs/job_1_abc", "GetJob"),
    ("POST", "/api/jobs/job_1_abc/cancel", "CancelJob"),
    ("GET", "/v1/jobs:statistics", "GetJobStatistics"),
    ("GET", "/v1/jobs/job_1_abc:streamStateChanges", "StreamJobStateChanges"),
    ("POST", "/v1/configurations:validate", "ValidateConfiguration"),
    ("GET", "/v1/sweeps/sweep_1_abc/trials", "ListSweepTrials"),
])
def test_guide_paths_route_to_their_rpcs(method, path, rpc):
    routes = [r for r in load_routes([SERVICE]) if r.http_method == method]
    first = next(r for r in routes if r.template.match(path) is not None)
    assert first.method.name == rpc
