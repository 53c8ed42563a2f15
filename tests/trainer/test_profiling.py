"""Step profiling of a running run through the real trainer service: the phases of its next steps, the longest
operators, peak memory, shown again by DiagnoseRun; steps out of range and runs not running are refused."""

from __future__ import annotations

import grpc

from finetune.trainer.v1 import trainer_service_pb2 as pb, trainer_service_pb2_grpc
from services.common.settings import load_settings
from services.trainer.server import build_server
from tests.grpc_harness import expect_error, running
from tests.trainer.test_service import ENV, Events, create_request, is_kind


async def test_profile_a_running_runs_steps_then_see_it_in_the_diagnosis(tmp_path):
    async with running(build_server, load_settings("trainer", ENV, port=0, data_dir=tmp_path)) as channel:
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        run = await stub.CreateRun(create_request("profiled", validation=False, epochs=1000, scheduler="constant"))
        await Events(stub, run.name).wait(is_kind("step"))
        await expect_error(stub.ProfileRun(pb.ProfileRunRequest(name=run.name, steps=51)), grpc.StatusCode.INVALID_ARGUMENT,
                           "INVALID_PROFILE_STEPS")
        profile = await stub.ProfileRun(pb.ProfileRunRequest(name=run.name, steps=3))
        assert profile.last_step - profile.first_step == 2 and profile.wall_seconds > 0 and profile.device == "cpu"
        phases = {p.phase: p for p in profile.phases}
        assert list(phases) == ["data", "forward", "backward", "optimizer", "logging", "other"]
        assert all(phases[p].seconds > 0 for p in ("data", "forward", "backward", "optimizer"))
        assert 95 < sum(p.percent for p in profile.phases) < 105  # the phases and "other" make up the wall time
        assert phases["forward"].seconds + phases["backward"].seconds > phases["logging"].seconds
        assert profile.top_operators and profile.peak_memory_bytes > 2**20
        diagnosis = await stub.DiagnoseRun(pb.DiagnoseRunRequest(name=run.name))
        assert diagnosis.profile.first_step == profile.first_step and len(diagnosis.profile.phases) == 6
        await stub.CancelRun(pb.CancelRunRequest(name=run.name))
        await Events(stub, run.name).task
        await expect_error(stub.ProfileRun(pb.ProfileRunRequest(name=run.name)), grpc.StatusCode.FAILED_PRECONDITION,
                           "RUN_STATE_CONFLICT")
        await expect_error(stub.ProfileRun(pb.ProfileRunRequest(name="runs/nope")), grpc.StatusCode.NOT_FOUND)
