"""The JobsService servicer: reads the request, calls the jobs domain code, answers protos."""

from __future__ import annotations

from typing import AsyncIterator

from finetune.jobs.v1 import ensemble_pb2, jobs_service_pb2, jobs_service_pb2_grpc
from services.common import hyperparameters
from services.common.errors import InvalidArgument
from services.common.ids import clamp_page_size, next_page_token, page_offset, parse_name
from services.jobs import analytics, convert
from services.jobs.ensembles import RULE, EnsembleManager
from services.jobs.manager import JobDraft, JobManager
from services.jobs.states import JobState
from services.jobs.store import JobStore, job_not_found, now
from services.jobs.sweeps import SweepManager

STREAM_POLL_SECONDS = 1.0  # a change made by another process is seen within this


class JobsServicer(jobs_service_pb2_grpc.JobsServiceServicer):
    def __init__(self, store: JobStore, jobs: JobManager, sweeps: SweepManager, ensembles: EnsembleManager | None = None):
        self.store = store
        self.jobs = jobs
        self.sweeps = sweeps
        self.ensembles = ensembles

    # --- configurations ------------------------------------------------------------------------

    async def ValidateConfiguration(self, request, context):
        values, uid = hyperparameters.from_proto(request.hyperparameters)
        if uid:
            values["uid"] = uid
        if request.dataset_rows < 0:
            raise InvalidArgument(f"dataset_rows must not be negative, got {request.dataset_rows}",
                                  reason="INVALID_DATASET_ROWS", metadata={"field": "dataset_rows"})
        report = await self.jobs.validate(values, mode=convert.MODE_NAMES[request.mode], model=request.model.strip(),
                                          dataset=request.dataset.strip(), dataset_rows=request.dataset_rows)
        return convert.validation_out(report)

    async def CreateConfiguration(self, request, context):
        config = request.configuration
        values, _ = hyperparameters.from_proto(config.hyperparameters)
        row = await self.jobs.save_configuration(values, mode=convert.MODE_NAMES[config.mode], display_name=config.display_name,
                                                 description=config.description)
        return await self._configuration(row)

    async def GetConfiguration(self, request, context):
        return await self._configuration(await self.jobs.get_configuration(request.name))

    async def ListConfigurations(self, request, context):
        size, offset = clamp_page_size(request.page_size), page_offset(request.page_token)
        mode = "" if request.mode == 0 else convert.MODE_NAMES[request.mode]
        rows, total = await self.store.list_configurations(offset, size, mode)
        results = await self.jobs.configuration_results([r.uid for r in rows])
        return jobs_service_pb2.ListConfigurationsResponse(
            configurations=[convert.configuration_out(r, results.get(r.uid)) for r in rows],
            next_page_token=next_page_token(offset, size, len(rows), total), total_size=total)

    async def GetBestConfiguration(self, request, context):
        row, _ = await self.jobs.best_configuration(request.mode)
        return await self._configuration(row)

    async def _configuration(self, row):
        results = await self.jobs.configuration_results([row.uid])
        return convert.configuration_out(row, results.get(row.uid))

    # --- jobs ----------------------------------------------------------------------------------

    async def CreateJob(self, request, context):
        config = request.configuration
        values, uid = hyperparameters.from_proto(config.hyperparameters)
        saving = {f.name: v for f, v in request.model_saving.ListFields() if f.name != "hub_token"}
        draft = JobDraft(
            display_name=request.name, description=request.description, tags=list(request.tags), model=config.model.uid,
            model_name=config.model.name, dataset=config.dataset.uid, dataset_name=config.dataset.name, hyperparameters=values,
            configuration_uid=uid, model_saving=saving, hub_token=request.model_saving.hub_token,
            priority=convert.PRIORITY_NAMES.get(request.priority, "?"), timeout_seconds=request.timeout.ToNanoseconds() / 1e9,
            gpu_count=request.gpu_count, workers=request.workers, mode=convert.MODE_NAMES.get(request.mode, "?"),
            job_id=request.job_id,
            metadata=dict(request.metadata),
        )
        row = await self.jobs.create(draft, validate_only=request.validate_only)
        return convert.job_out(row, [] if request.validate_only else await self.store.transitions(row.id))

    async def GetJob(self, request, context):
        job_id = parse_name(request.name, "jobs")
        row = await self.store.get_job(job_id)
        return convert.job_out(row, await self.store.transitions(job_id))

    async def ListJobs(self, request, context):
        size, offset = clamp_page_size(request.page_size), page_offset(request.page_token)
        sweep_id = parse_name(request.sweep, "sweeps") if request.sweep.strip() else ""
        dataset_id = parse_name(request.dataset, "datasets") if request.dataset.strip() else ""
        rows, total = await self.store.list_jobs(offset, size, state=convert.job_state_name(request.state), tag=request.tag.strip(),
                                                 sweep_id=sweep_id, dataset_id=dataset_id, unfinished=request.unfinished,
                                                 model=request.model.strip())
        return jobs_service_pb2.ListJobsResponse(jobs=[convert.job_out(r) for r in rows], total_size=total,
                                                 next_page_token=next_page_token(offset, size, len(rows), total))

    async def CancelJob(self, request, context):
        job_id = parse_name(request.name, "jobs")
        message = request.reason.strip() or "cancelled by request"
        await self.jobs.dispatcher.cancel(job_id, "CANCEL_REQUESTED", message)
        return await self.GetJob(request, context)

    async def PauseJob(self, request, context):
        await self.jobs.dispatcher.pause(parse_name(request.name, "jobs"))
        return await self.GetJob(request, context)

    async def ResumeJob(self, request, context):
        await self.jobs.dispatcher.resume(parse_name(request.name, "jobs"))
        return await self.GetJob(request, context)

    async def StreamJobStateChanges(self, request, context) -> AsyncIterator:
        job_id = parse_name(request.name, "jobs")
        if request.after_sequence < 0:
            raise InvalidArgument("after_sequence must not be negative", reason="INVALID_SEQUENCE")
        await self.store.get_job(job_id)
        seen = request.after_sequence
        while True:
            for row in await self.store.transitions(job_id, seen):
                seen = row.seq
                yield convert.transition_out(row)
                if JobState(row.to_state).final:
                    return
            if (await self.store.get_job(job_id)).job_state.final and not await self.store.transitions(job_id, seen):
                return  # ended before `after_sequence`: nothing more will come
            await self.store.changes.wait(job_id, STREAM_POLL_SECONDS)

    async def CompareJobs(self, request, context):
        ids = [parse_name(j, "jobs") for j in request.job_ids]
        ids = list(dict.fromkeys(ids))
        if not analytics.MIN_COMPARE <= len(ids) <= analytics.MAX_COMPARE:
            raise InvalidArgument(f"compare {analytics.MIN_COMPARE} to {analytics.MAX_COMPARE} different jobs; got {len(ids)}",
                                  reason="INVALID_JOB_COUNT")
        metrics = analytics.metric_names(request.metrics)
        found = await self.store.jobs_by_ids(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise job_not_found(missing[0])
        return convert.comparison_out(analytics.compare([found[i] for i in ids], metrics))

    async def GetJobStatistics(self, request, context):
        start = request.start_time.ToDatetime(tzinfo=now().tzinfo) if request.HasField("start_time") else None
        end = request.end_time.ToDatetime(tzinfo=now().tzinfo) if request.HasField("end_time") else None
        start, end = analytics.window(start, end, now())
        jobs = await self.store.jobs_created_between(start, end)
        queued = len(await self.store.queued_jobs())
        return convert.statistics_out(analytics.statistics(jobs, start, end, queued))

    # --- sweeps --------------------------------------------------------------------------------

    # --- ensembles -----------------------------------------------------------------------------

    async def CreateEnsemble(self, request, context):
        e = request.ensemble
        config = e.configuration
        values, _ = hyperparameters.from_proto(config.hyperparameters)
        row, members = await self.ensembles.create(
            display_name=e.display_name, model=config.model.uid.strip(), model_name=config.model.name, dataset=config.dataset.uid.strip(),
            dataset_name=config.dataset.name, values=values, size=e.size, spread=e.learning_rate_spread)
        return convert.ensemble_out(row, members, RULE)

    async def GetEnsemble(self, request, context):
        return convert.ensemble_out(*await self.ensembles.get(parse_name(request.name, "ensembles")), RULE)

    async def ListEnsembles(self, request, context):
        rows = await self.store.list_ensembles(clamp_page_size(request.page_size))
        return jobs_service_pb2.ListEnsemblesResponse(
            ensembles=[convert.ensemble_out(*await self.ensembles.get(r.id), RULE) for r in rows])

    async def GenerateEnsemble(self, request, context):
        ensemble_id = parse_name(request.name, "ensembles")
        if not request.prompt:
            raise InvalidArgument("prompt is required", reason="PROMPT_REQUIRED", metadata={"field": "prompt"})
        if not 0 <= request.max_new_tokens <= 4096:
            raise InvalidArgument(f"max_new_tokens must be in [1, 4096], got {request.max_new_tokens}", reason="INVALID_MAX_NEW_TOKENS",
                                  metadata={"field": "max_new_tokens"})
        chosen, answers = await self.ensembles.generate(ensemble_id, request.prompt, request.max_new_tokens or 64)
        return ensemble_pb2.EnsembleAnswer(text=chosen.text, votes=chosen.votes, chosen_job=f"jobs/{chosen.chosen_job}",
                                           answers=[ensemble_pb2.MemberAnswer(job=f"jobs/{j}", text=t) for j, t in answers])

    async def EvaluateEnsemble(self, request, context):
        ensemble_id = parse_name(request.name, "ensembles")
        rows, members, ensemble_match = await self.ensembles.evaluate(ensemble_id, request.max_rows)
        return jobs_service_pb2.EnsembleEvaluation(
            name=f"ensembles/{ensemble_id}", rows=rows, ensemble_exact_match=ensemble_match,
            members=[ensemble_pb2.MemberScore(job=f"jobs/{m.id}", exact_match=score, final_validation_loss=m.final_validation_loss)
                     for m, score in members])

    async def CreateSweep(self, request, context):
        sweep = request.sweep
        config = sweep.configuration
        values, _ = hyperparameters.from_proto(config.hyperparameters)
        draft = JobDraft(
            display_name=sweep.display_name, model=config.model.uid, model_name=config.model.name, dataset=config.dataset.uid,
            dataset_name=config.dataset.name, hyperparameters=values,
            model_saving={f.name: v for f, v in sweep.model_saving.ListFields() if f.name != "hub_token"},
            priority=convert.PRIORITY_NAMES.get(sweep.priority, "?"), timeout_seconds=request.trial_timeout.ToNanoseconds() / 1e9,
            mode="automated",
        )
        row = await self.sweeps.check(draft, [convert.range_in(r) for r in sweep.search_space], display_name=sweep.display_name,
                                      algorithm=convert.ALGORITHM_NAMES.get(sweep.algorithm, "?"), max_trials=sweep.max_trials or 10,
                                      parallel_trials=sweep.parallel_trials or 1, pruning=sweep.pruning, seed=sweep.seed or 42)
        await self.sweeps.create(row)
        return await self._sweep(row.id)

    async def GetSweep(self, request, context):
        return await self._sweep(parse_name(request.name, "sweeps"))

    async def ListSweeps(self, request, context):
        size, offset = clamp_page_size(request.page_size), page_offset(request.page_token)
        rows, total = await self.store.list_sweeps(offset, size)
        out = [await self._sweep(r.id) for r in rows]
        return jobs_service_pb2.ListSweepsResponse(sweeps=out, total_size=total,
                                                   next_page_token=next_page_token(offset, size, len(rows), total))

    async def ListSweepTrials(self, request, context):
        sweep_id = parse_name(request.parent, "sweeps")
        await self.store.get_sweep(sweep_id)
        return jobs_service_pb2.ListSweepTrialsResponse(trials=[convert.trial_out(t) for t in await self.store.trials(sweep_id)])

    async def CancelSweep(self, request, context):
        sweep_id = parse_name(request.name, "sweeps")
        await self.sweeps.cancel(sweep_id)
        return await self._sweep(sweep_id)

    async def PromoteSweepTrial(self, request, context):
        sweep_id = parse_name(request.name, "sweeps")
        number = request.trial_number if request.HasField("trial_number") else None
        row = await self.sweeps.promote(sweep_id, number, request.display_name)
        return await self._configuration(row)

    async def _sweep(self, sweep_id: str):
        row = await self.store.get_sweep(sweep_id)
        return convert.sweep_out(row, await self.store.trials(sweep_id), await self.sweeps.best_trial(sweep_id))

