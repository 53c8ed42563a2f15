// The guide's intervention points, each enabled only in the states where it can act: pause, resume,
// cancel (jobs service), set the learning rate, checkpoint now and stop early (the job's run in the trainer).
import { Ban, Flag, Pause, Play, Save, Stethoscope } from "lucide-react";
import { useId, useState, type FormEvent } from "react";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Button, Input } from "../../../components/ui";
import { useSeriesVersion } from "../../../hooks/useSeriesVersion";
import type { Job } from "../../../lib/api";
import type { RunSeries } from "../../../lib/runSeries";
import { isFinal, useJobAction, useRunControl } from "../api/jobs";

export function JobControls({ job, series, onDiagnose }: { job: Job; series: RunSeries; onDiagnose: () => void }) {
  useSeriesVersion(series, 300);
  const jobId = job.job_uid ?? "";
  const action = useJobAction(jobId);
  const control = useRunControl(jobId);
  const [lr, setLr] = useState("");
  const lrId = useId();
  const state = job.state;
  // The job says RUNNING from dispatch on; its run takes commands once its worker trains (the run's own state).
  const training = series.state === "RUN_STATE_RUNNING" || (series.state === undefined && series.latestStep !== undefined);
  const running = state === "JOB_STATE_RUNNING" && training;
  const paused = state === "JOB_STATE_PAUSED";
  const live = running || paused;
  const busy = action.isPending || control.isPending;

  const applyLr = (event: FormEvent) => {
    event.preventDefault();
    control.mutate({ kind: "learningRate", value: Number(lr) }, { onSuccess: () => setLr("") });
  };

  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-2" role="toolbar" aria-label="Job controls">
        <Button icon={<Pause className="size-4" aria-hidden />} disabled={!running || busy} busy={action.isPending && action.variables === "pause"}
          onClick={() => action.mutate("pause")}>Pause</Button>
        <Button icon={<Play className="size-4" aria-hidden />} disabled={!paused || busy} busy={action.isPending && action.variables === "resume"}
          onClick={() => action.mutate("resume")}>Resume</Button>
        <Button icon={<Save className="size-4" aria-hidden />} disabled={!live || busy}
          busy={control.isPending && control.variables?.kind === "checkpoint"} onClick={() => control.mutate({ kind: "checkpoint" })}>
          Checkpoint now
        </Button>
        <Button icon={<Flag className="size-4" aria-hidden />} disabled={!live || busy}
          busy={control.isPending && control.variables?.kind === "stopEarly"} onClick={() => control.mutate({ kind: "stopEarly" })}>
          Stop early
        </Button>
        <Button variant="danger" icon={<Ban className="size-4" aria-hidden />} disabled={isFinal(state) || busy}
          busy={action.isPending && action.variables === "cancel"}
          onClick={() => window.confirm("Cancel this job? Its checkpoints are kept; no final model is written.") && action.mutate("cancel")}>
          Cancel
        </Button>
        <Button variant="ghost" icon={<Stethoscope className="size-4" aria-hidden />} onClick={onDiagnose}
          disabled={state === "JOB_STATE_QUEUED" || state === "JOB_STATE_CREATED"}>Diagnose</Button>
      </div>
      <form onSubmit={applyLr} className="flex flex-wrap items-end gap-2" aria-label="Set learning rate">
        <div className="flex flex-col gap-1">
          <label htmlFor={lrId} className="text-xs font-medium text-slate-700">New learning rate</label>
          <Input id={lrId} className="w-36" type="number" step="any" min={0} max={1} placeholder="1e-4" value={lr} required
            disabled={!live} onChange={(e) => setLr(e.target.value)} />
        </div>
        <Button type="submit" disabled={!live || !lr || busy} busy={control.isPending && control.variables?.kind === "learningRate"}>
          Set learning rate
        </Button>
      </form>
      {state === "JOB_STATE_RUNNING" && !training && (
        <p role="status" className="text-sm text-slate-600">The trainer is preparing the run (model and rows); controls open at its first step.</p>
      )}
      {action.error && <ErrorMessage title={`Could not ${action.variables ?? "do that"}`} error={action.error} />}
      {control.error && <ErrorMessage title="The trainer refused the command" error={control.error} />}
      {control.isSuccess && control.variables?.kind === "checkpoint" && <p role="status" className="text-sm text-emerald-800">Checkpoint requested.</p>}
      {control.isSuccess && control.variables?.kind === "learningRate" && <p role="status" className="text-sm text-emerald-800">Learning rate changed.</p>}
    </div>
  );
}
