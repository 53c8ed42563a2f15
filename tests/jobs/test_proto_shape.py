"""The jobs protos' shape: the guide's REST paths reach the right RPCs through the gateway's route table
(first match wins), and our Hyperparameters mirror the trainer's field for field."""

from __future__ import annotations

import pytest

from finetune.jobs.v1 import configuration_pb2, jobs_service_pb2
from finetune.trainer.v1 import run_pb2
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


def test_our_hyperparameters_are_the_trainers_plus_the_uid():
    """Same names, numbers, types and presence: the values pass to the trainer unchanged, and a field the
    trainer adds fails here until it is mirrored. (A `uid` field on the trainer's message would let the jobs
    protos import it instead.)"""

    def shape(message):
        return {f.name: (f.number, f.type, f.is_repeated, f.has_presence) for f in message.DESCRIPTOR.fields if f.name != "uid"}

    assert shape(configuration_pb2.Hyperparameters) == shape(run_pb2.Hyperparameters)
    ours = configuration_pb2.Hyperparameters(learning_rate=3e-4, lora_r=8, target_modules=["q_proj"], packing=False, uid="x")
    theirs = run_pb2.Hyperparameters.FromString(ours.SerializeToString())
    assert (theirs.learning_rate, theirs.lora_r, list(theirs.target_modules), theirs.HasField("packing")) == (3e-4, 8, ["q_proj"], True)
