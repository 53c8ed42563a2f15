// Picks the jobs to compare from the job list, filtered by text (name, id, model, tag) and state.
import { useMemo, useState } from "react";
import { Link } from "react-router";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { JobStateBadge } from "../../../components/JobStateBadge";
import { Card, Empty, Field, Input, Loading, Select, TABLE, TD, TH } from "../../../components/ui";
import { useJobList } from "../../../hooks/useJobList";
import type { Job, JobState } from "../../../lib/api";
import { enumLabel, fmtNumber, idOf, timeAgo } from "../../../lib/format";

export const MAX_COMPARED = 50; // CompareJobs takes 2 to 50 jobs

const STATES: JobState[] = ["JOB_STATE_COMPLETED", "JOB_STATE_RUNNING", "JOB_STATE_PAUSED", "JOB_STATE_QUEUED", "JOB_STATE_FAILED",
  "JOB_STATE_CANCELLED"];

function matches(job: Job, text: string): boolean {
  if (!text) return true;
  const hay = [job.display_name, job.job_uid, job.configuration?.model?.uid, job.configuration?.dataset?.name, ...(job.tags ?? [])]
    .join(" ").toLowerCase();
  return text.toLowerCase().split(/\s+/).every((word) => hay.includes(word));
}

export function JobPicker({ selected, onChange }: { selected: string[]; onChange: (ids: string[]) => void }) {
  const list = useJobList();
  const [text, setText] = useState("");
  const [state, setState] = useState<JobState | "">("");
  const jobs = useMemo(
    () => (list.data?.jobs ?? []).filter((j) => (!state || j.state === state) && matches(j, text)),
    [list.data, text, state],
  );
  const toggle = (id: string, on: boolean) => onChange(on ? [...selected, id] : selected.filter((s) => s !== id));
  const full = selected.length >= MAX_COMPARED;

  return (
    <Card title="Jobs" actions={<span className="text-sm text-slate-600">{selected.length} selected</span>}>
      <div className="mb-3 grid gap-3 sm:grid-cols-[1fr_14rem]">
        <Field label="Filter jobs" help="Words to find in the name, id, model, dataset or tags.">
          {(p) => <Input {...p} type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="e.g. support lr" />}
        </Field>
        <Field label="State">
          {(p) => (
            <Select {...p} value={state} onChange={(e) => setState(e.target.value as JobState | "")}>
              <option value="">Any state</option>
              {STATES.map((s) => <option key={s} value={s}>{enumLabel(s, "JOB_STATE_")}</option>)}
            </Select>
          )}
        </Field>
      </div>
      {list.isPending ? (
        <Loading label="Loading jobs…" />
      ) : list.isError ? (
        <ErrorMessage error={list.error} title="Could not list the jobs" onRetry={() => void list.refetch()} />
      ) : !list.data.jobs?.length ? (
        <Empty title="No jobs yet">Create two jobs (say, with different learning rates) and compare them here. <Link className="text-indigo-700 underline" to="/jobs/new">Create a job</Link></Empty>
      ) : !jobs.length ? (
        <Empty title="No job matches the filter">Clear the filter or pick another state.</Empty>
      ) : (
        <div className="max-h-72 overflow-auto rounded-md ring-1 ring-slate-200">
          <table className={TABLE}>
            <thead className="sticky top-0 bg-slate-50">
              <tr>
                <th className={TH}><span className="sr-only">Compare</span></th>
                <th className={TH}>Job</th>
                <th className={TH}>State</th>
                <th className={TH}>Model</th>
                <th className={TH}>Final loss</th>
                <th className={TH}>Created</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {jobs.map((j) => {
                const id = j.job_uid || idOf(j.name);
                const on = selected.includes(id);
                return (
                  <tr key={id} className={on ? "bg-indigo-50/60" : undefined}>
                    <td className={TD}>
                      <input type="checkbox" className="size-4 accent-indigo-600" checked={on} disabled={!on && full}
                        aria-label={`Compare ${j.display_name || id}`} onChange={(e) => toggle(id, e.target.checked)} />
                    </td>
                    <td className={TD}>
                      <Link to={`/jobs/${id}`} className="font-medium text-indigo-700 hover:underline">{j.display_name || id}</Link>
                      <div className="text-xs text-slate-600">{id}</div>
                    </td>
                    <td className={TD}><JobStateBadge state={j.state} /></td>
                    <td className={TD}>{j.configuration?.model?.uid ?? "—"}</td>
                    <td className={`${TD} tabular-nums`}>{fmtNumber(j.metrics?.final_loss, 4)}</td>
                    <td className={TD}>{timeAgo(j.create_time)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {full && <p className="mt-2 text-xs text-amber-800" role="status">At most {MAX_COMPARED} jobs can be compared at once.</p>}
    </Card>
  );
}
