// Stage 4: every job with its state and progress, filtered by state and tag; pick some to compare.
import { GitCompare, Plus } from "lucide-react";
import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { JobStateBadge } from "../../components/JobStateBadge";
import { Button, Card, Empty, Field, Input, Loading, PageHeader, ProgressBar, Select, TABLE, TD, TH } from "../../components/ui";
import type { JobState } from "../../lib/api";
import { enumLabel, fmtNumber, idOf, timeAgo } from "../../lib/format";
import { useJobs } from "./api/jobs";

const STATES: JobState[] = ["JOB_STATE_QUEUED", "JOB_STATE_RUNNING", "JOB_STATE_PAUSED", "JOB_STATE_COMPLETED",
  "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"];

export function JobsPage() {
  const [params, setParams] = useSearchParams();
  const state = (params.get("state") || undefined) as JobState | undefined;
  const tag = params.get("tag") ?? "";
  const [tokens, setTokens] = useState<string[]>([""]); // page tokens seen, for Previous
  const [selected, setSelected] = useState<string[]>([]);
  const navigate = useNavigate();
  const jobs = useJobs({ state, tag, pageToken: tokens.at(-1) });

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
    setTokens([""]);
  };
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));

  return (
    <>
      <PageHeader title="Jobs" description="Every fine-tuning job, newest first. Open one to watch it live."
        actions={<>
          <Button icon={<GitCompare className="size-4" aria-hidden />} disabled={selected.length < 2}
            onClick={() => navigate(`/compare?jobs=${selected.join(",")}`)}>
            Compare selected ({selected.length})
          </Button>
          <Link to="/jobs/new" className="inline-flex items-center gap-1.5 rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-indigo-700">
            <Plus className="size-4" aria-hidden /> New job
          </Link>
        </>} />
      <Card>
        <div className="mb-4 flex flex-wrap gap-3">
          <Field label="State" className="w-48">
            {(p) => (
              <Select {...p} value={state ?? ""} onChange={(e) => setFilter("state", e.target.value)}>
                <option value="">All states</option>
                {STATES.map((s) => <option key={s} value={s}>{enumLabel(s)}</option>)}
              </Select>
            )}
          </Field>
          <Field label="Tag" className="w-48">
            {(p) => <Input {...p} value={tag} placeholder="e.g. production" onChange={(e) => setFilter("tag", e.target.value.trim())} />}
          </Field>
        </div>
        {jobs.isPending ? <Loading label="Loading jobs…" /> : jobs.isError ? (
          <ErrorMessage title="Could not list the jobs" error={jobs.error} onRetry={() => void jobs.refetch()} />
        ) : !jobs.data.jobs?.length ? (
          <Empty title={state || tag ? "No job matches these filters." : "No job yet."}>
            {!state && !tag && <Link className="text-indigo-700 underline" to="/jobs/new">Create the first one</Link>}
          </Empty>
        ) : (
          <>
            <div className="overflow-x-auto">
              <table className={TABLE}>
                <thead>
                  <tr>
                    <th className={TH}><span className="sr-only">Select to compare</span></th>
                    <th className={TH}>Job</th>
                    <th className={TH}>State</th>
                    <th className={TH}>Progress</th>
                    <th className={TH}>Model</th>
                    <th className={TH}>Train loss</th>
                    <th className={TH}>Created</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {jobs.data.jobs.map((job) => {
                    const id = job.job_uid || idOf(job.name);
                    const percent = Number(job.metrics?.percent ?? 0);
                    return (
                      <tr key={id}>
                        <td className={TD}>
                          <input type="checkbox" aria-label={`Select ${job.display_name || id} to compare`} checked={selected.includes(id)}
                            onChange={() => toggle(id)} className="size-4 accent-indigo-600" />
                        </td>
                        <td className={TD}>
                          <Link to={`/jobs/${id}`} className="font-medium text-indigo-700 hover:underline">{job.display_name || id}</Link>
                          <div className="font-mono text-xs text-slate-500">{id}</div>
                          {job.tags?.length ? <div className="mt-0.5 text-xs text-slate-500">{job.tags.join(", ")}</div> : null}
                        </td>
                        <td className={TD}><JobStateBadge state={job.state} /></td>
                        <td className={`${TD} w-48`}>
                          <ProgressBar percent={percent} label={`Progress of ${job.display_name || id}`} />
                          <div className="mt-1 text-xs text-slate-500 tabular-nums">
                            {fmtNumber(percent, 3)}% · step {job.metrics?.step ?? 0}/{job.metrics?.total_steps || "?"}
                          </div>
                        </td>
                        <td className={`${TD} text-xs`}>{job.configuration?.model?.uid}</td>
                        <td className={`${TD} tabular-nums`}>{fmtNumber(job.metrics?.final_loss)}</td>
                        <td className={`${TD} text-xs text-slate-600`} title={job.create_time}>{timeAgo(job.create_time)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <div className="mt-3 flex items-center justify-between text-sm text-slate-600">
              <span>{jobs.data.total_size ?? jobs.data.jobs.length} job(s)</span>
              <div className="flex gap-2">
                <Button disabled={tokens.length < 2} onClick={() => setTokens((t) => t.slice(0, -1))}>Previous</Button>
                <Button disabled={!jobs.data.next_page_token} onClick={() => setTokens((t) => [...t, jobs.data.next_page_token!])}>Next</Button>
              </div>
            </div>
          </>
        )}
      </Card>
    </>
  );
}
