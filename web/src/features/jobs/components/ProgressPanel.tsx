// Where the run is: epoch, step, elapsed, ETA and percent, from the newest step (live) or the job's metrics.
import { Card, ProgressBar, Stat } from "../../../components/ui";
import { useSeriesVersion } from "../../../hooks/useSeriesVersion";
import type { Job } from "../../../lib/api";
import { fmtDuration, fmtInt, fmtNumber, num } from "../../../lib/format";
import type { RunSeries } from "../../../lib/runSeries";
import { isFinal } from "../api/jobs";

export function ProgressPanel({ job, series }: { job: Job; series: RunSeries }) {
  useSeriesVersion(series);
  const live = series.latestStep;
  const metrics = job.metrics ?? {};
  const step = live ? num(live.step) : num(metrics.step);
  const total = live ? num(live.total_steps) : num(metrics.total_steps);
  const percent = live ? num(live.percent) : num(metrics.percent);
  const totalEpochs = num(job.configuration?.hyperparameters?.epochs);
  // A page opened after the run has only the loaded history (no live step): its newest epoch says the same.
  const epoch = live ? num(live.epoch) : num(series.epoch.at(-1) ?? Number.NaN);
  const finished = isFinal(job.state);
  return (
    <Card title="Progress">
      <ProgressBar percent={finished && job.state === "JOB_STATE_COMPLETED" ? 100 : percent} label="Training progress" />
      <dl className="mt-4 grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-6">
        <Stat label="Percent" value={`${fmtNumber(job.state === "JOB_STATE_COMPLETED" ? 100 : percent || 0, 3)}%`} />
        <Stat label="Step" value={<span data-testid="progress-step">{fmtInt(step || 0)} / {total ? fmtInt(total) : "?"}</span>} />
        <Stat label="Epoch" value={`${fmtNumber(epoch, 3)} / ${Number.isFinite(totalEpochs) ? totalEpochs : "?"}`} />
        <Stat label="Elapsed" value={fmtDuration(live ? num(live.elapsed_seconds) : num(metrics.training_time_seconds))} />
        <Stat label="ETA" value={finished ? "—" : fmtDuration(live ? num(live.eta_seconds) : Number.NaN)} />
        <Stat label="Train loss" value={fmtNumber(live ? num(live.train_loss) : num(metrics.final_loss), 4)}
          hint={metrics.best_validation_loss !== undefined ? `best validation ${fmtNumber(metrics.best_validation_loss, 4)}` : undefined} />
      </dl>
    </Card>
  );
}
