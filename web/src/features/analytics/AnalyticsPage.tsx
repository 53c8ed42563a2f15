// Analytics and health (the guide's dashboard analytics): throughput, success rate, queue waits, popular
// models and datasets, configuration trends (GetJobStatistics over a window), and each service's health.
import { useState } from "react";
import { ErrorMessage } from "../../components/ErrorMessage";
import { JobStateBadge } from "../../components/JobStateBadge";
import { Card, Field, Loading, PageHeader, Select, Stat } from "../../components/ui";
import { fmtDuration, fmtInt, fmtNumber, fmtPercent, fmtTime } from "../../lib/format";
import { WINDOWS, useStatistics, type JobStatistics } from "./api/statistics";
import { RankedList } from "./components/RankedList";
import { ServiceHealthTable } from "./components/ServiceHealth";
import { Throughput } from "./components/Throughput";

type Distribution = NonNullable<JobStatistics["queue_wait_seconds"]>;

function spread(d: Distribution | undefined, format: (v: number) => string): string {
  return d?.count ? `median ${format(d.p50 ?? 0)} · p95 ${format(d.p95 ?? 0)} · max ${format(d.max ?? 0)}` : "none yet";
}

function Statistics({ s }: { s: JobStatistics }) {
  const finished = (s.jobs_by_state?.JOB_STATE_COMPLETED ?? 0) + (s.jobs_by_state?.JOB_STATE_FAILED ?? 0);
  const seconds = (v: number) => fmtDuration(v);
  return (
    <>
      <Card title="Summary">
        <dl className="grid grid-cols-2 gap-4 md:grid-cols-3 xl:grid-cols-6">
          <Stat label="Jobs" value={fmtInt(s.total_jobs)} hint="created in the window" />
          <Stat label="Success rate" value={finished ? fmtPercent(100 * (s.success_rate ?? 0)) : "—"}
            hint={finished ? `completed of ${finished} finished` : "no job finished yet"} />
          <Stat label="Queued now" value={fmtInt(s.queued_now ?? 0)} hint="waiting for a trainer" />
          <Stat label="Queue wait" value={s.queue_wait_seconds?.count ? fmtDuration(s.queue_wait_seconds.mean) : "—"}
            hint={s.queue_wait_seconds?.count ? `mean of ${s.queue_wait_seconds.count} · p95 ${fmtDuration(s.queue_wait_seconds.p95)}` : "no job ran yet"} />
          <Stat label="Training time" value={s.training_seconds?.count ? fmtDuration(s.training_seconds.mean) : "—"}
            hint={s.training_seconds?.count ? `mean of ${s.training_seconds.count} completed` : "none completed yet"} />
          <Stat label="GPU hours" value={fmtNumber(s.gpu_hours ?? 0)} hint="0 for jobs on the CPU" />
        </dl>
        <div className="mt-4 flex flex-wrap items-center gap-2 text-sm text-slate-700" aria-label="Jobs by state">
          <span className="font-medium">Now:</span>
          {Object.entries(s.jobs_by_state ?? {}).sort((a, b) => b[1] - a[1]).map(([state, n]) => (
            <span key={state} className="inline-flex items-center gap-1"><JobStateBadge state={state} /> <span className="tabular-nums">{n}</span></span>
          ))}
          {!Object.keys(s.jobs_by_state ?? {}).length && <span>no jobs in this window</span>}
        </div>
        <p className="mt-2 text-xs text-slate-500">From {fmtTime(s.start_time)} to {fmtTime(s.end_time)}.</p>
      </Card>
      <div className="grid gap-5 xl:grid-cols-[2fr_1fr]">
        <Card title="Throughput"><Throughput statistics={s} /></Card>
        <Card title="Queue waits">
          <p className="text-sm text-slate-700">{spread(s.queue_wait_seconds, seconds)}</p>
          <h3 className="mt-4 text-sm font-semibold text-slate-900">Training time of completed jobs</h3>
          <p className="text-sm text-slate-700">{spread(s.training_seconds, seconds)}</p>
        </Card>
      </div>
      <div className="grid gap-5 lg:grid-cols-3">
        <Card title="Popular models"><RankedList label="Popular models" items={s.popular_models} /></Card>
        <Card title="Popular datasets"><RankedList label="Popular datasets" items={s.popular_datasets} /></Card>
        <Card title="Dataset sizes">
          <RankedList label="Dataset sizes" items={s.dataset_size_classes} />
          <p className="mt-3 text-xs text-slate-600">Training rows: {spread(s.dataset_rows, fmtInt)}.</p>
        </Card>
      </div>
      <Card title="Configuration trends">
        {!s.hyperparameter_choices?.length ? (
          <p className="text-sm text-slate-500">No jobs in this window.</p>
        ) : (
          <dl className="grid gap-x-6 gap-y-3 sm:grid-cols-2 xl:grid-cols-4">
            {s.hyperparameter_choices.map((p) => (
              <div key={p.parameter}>
                <dt className="font-mono text-xs font-medium text-slate-700">{p.parameter}</dt>
                <dd className="mt-1 flex flex-wrap gap-1.5">
                  {(p.values ?? []).map((v) => (
                    <span key={v.value} className="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-800">
                      {v.value} <span className="text-slate-600">× {v.count}</span>
                    </span>
                  ))}
                </dd>
              </div>
            ))}
          </dl>
        )}
      </Card>
    </>
  );
}

export function AnalyticsPage() {
  const [days, setDays] = useState(30);
  const statistics = useStatistics(days);
  return (
    <div className="flex flex-col gap-5">
      <PageHeader title="Analytics and health" description="How jobs have gone over a window of time, what people train, and whether every service is up."
        actions={
          <Field label="Window" className="w-44">
            {(p) => (
              <Select {...p} value={days} onChange={(e) => setDays(Number(e.target.value))}>
                {WINDOWS.map((w) => <option key={w.days} value={w.days}>{w.label}</option>)}
              </Select>
            )}
          </Field>
        } />
      <Card title="Service health"><ServiceHealthTable /></Card>
      {statistics.isPending ? (
        <Loading label="Counting jobs…" />
      ) : statistics.isError ? (
        <ErrorMessage error={statistics.error} title="Could not load the job statistics" onRetry={() => void statistics.refetch()} />
      ) : (
        <Statistics s={statistics.data} />
      )}
    </div>
  );
}
