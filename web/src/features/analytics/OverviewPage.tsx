// The first page: the guide's workflow as a short path with links, the newest jobs with their state and
// progress, and the services' health in one line.
import { ArrowRight, Boxes, Database, Eye, MessageSquare, Play, SlidersHorizontal } from "lucide-react";
import { Link } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { JobStateBadge } from "../../components/JobStateBadge";
import { Card, Empty, Loading, PageHeader, ProgressBar, TABLE, TD, TableHead } from "../../components/ui";
import { useJobList } from "../../hooks/useJobList";
import type { Job } from "../../lib/api";
import { fmtInt, fmtNumber, idOf, num, timeAgo } from "../../lib/format";
import { useWorkflow } from "../../lib/workflow";
import { ServiceHealthLine } from "./components/ServiceHealth";

const RECENT = 8;

function WorkflowPath() {
  const wf = useWorkflow();
  const steps = [
    { to: "/datasets/new", label: "Upload a dataset", help: "CSV, TSV or JSONL with input and output columns.", icon: Database, done: wf.dataset?.name },
    { to: "/models", label: "Pick a model", help: "From the catalog or the hub; check it fits here.", icon: Boxes, done: wf.model?.name },
    { to: "/configure", label: "Configure", help: "Hyperparameters with the guide's advice, or a sweep.", icon: SlidersHorizontal,
      done: wf.configuration ? wf.configuration.uid || "set" : undefined },
    { to: "/jobs/new", label: "Create a job", help: "Name, tags, priority and how to save the model.", icon: Play },
    { to: "/jobs", label: "Watch it", help: "Live loss curves, resources, pause and resume.", icon: Eye },
    { to: "/playground", label: "Test it", help: "Prompt the fine-tuned model; compare two side by side.", icon: MessageSquare },
  ];
  return (
    <nav aria-label="Workflow stages">
      <ol className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3 2xl:grid-cols-6">
        {steps.map((s, i) => (
          <li key={s.to} className="relative">
            <Link to={s.to} className="group flex h-full flex-col gap-1 rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-200 hover:ring-indigo-400 focus-visible:outline-2 focus-visible:outline-indigo-600">
              <span className="flex items-center gap-2 text-sm font-semibold text-slate-900">
                <span aria-hidden className="flex size-6 items-center justify-center rounded-full bg-indigo-600 text-xs text-white">{i + 1}</span>
                <s.icon className="size-4 text-indigo-700" aria-hidden />
                {s.label}
                <ArrowRight className="ml-auto size-4 text-slate-400 group-hover:text-indigo-600" aria-hidden />
              </span>
              <span className="text-xs text-slate-600">{s.help}</span>
              {s.done && <span className="truncate text-xs font-medium text-emerald-800" title={s.done}>Picked: {s.done}</span>}
            </Link>
          </li>
        ))}
      </ol>
    </nav>
  );
}

function progress(j: Job): number {
  if (j.state === "JOB_STATE_COMPLETED") return 100;
  const p = num(j.metrics?.percent);
  if (Number.isFinite(p) && p > 0) return p;
  const total = num(j.metrics?.total_steps);
  return total > 0 ? (100 * num(j.metrics?.step)) / total : 0;
}

function RecentJobs() {
  const list = useJobList({ pageSize: RECENT });
  if (list.isPending) return <Loading label="Loading the newest jobs…" />;
  if (list.isError) return <ErrorMessage error={list.error} title="Could not list the jobs" onRetry={() => void list.refetch()} />;
  const jobs = list.data.jobs ?? [];
  if (!jobs.length) {
    return <Empty title="No jobs yet">Start with <Link className="text-indigo-700 underline" to="/datasets/new">a dataset</Link>: the path above takes you to a trained model.</Empty>;
  }
  return (
    <div className="overflow-x-auto">
      <table className={TABLE} aria-label="Recent jobs">
        <TableHead columns={["Job", "State", { key: "progress", label: "Progress", className: "w-1/4" }, "Loss", "Created"]} />
        <tbody className="divide-y divide-slate-100">
          {jobs.map((j) => {
            const id = j.job_uid || idOf(j.name);
            const name = j.display_name || id;
            const p = progress(j);
            return (
              <tr key={id} data-job={id}>
                <th scope="row" className={`${TD} text-left font-medium`}>
                  <Link to={`/jobs/${id}`} className="text-indigo-700 hover:underline">{name}</Link>
                  <div className="text-xs font-normal text-slate-500">{j.configuration?.model?.uid}</div>
                </th>
                <td className={TD}><JobStateBadge state={j.state} /></td>
                <td className={TD}>
                  <ProgressBar percent={p} label={`Progress of ${name}`} />
                  <div className="mt-1 text-xs tabular-nums text-slate-600">
                    {Math.round(p)}% · step {fmtInt(j.metrics?.step ?? 0)} of {j.metrics?.total_steps ? fmtInt(j.metrics.total_steps) : "—"}
                  </div>
                </td>
                <td className={`${TD} tabular-nums`}>{fmtNumber(j.metrics?.final_loss, 4)}</td>
                <td className={TD}>{timeAgo(j.create_time)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function OverviewPage() {
  return (
    <div className="flex flex-col gap-5">
      <PageHeader title="Overview" description="Fine-tune a language model on your own examples with LoRA: follow the path, one stage at a time." />
      <ServiceHealthLine />
      <WorkflowPath />
      <Card title="Recent jobs" actions={
        <>
          <Link to="/jobs" className="text-sm text-indigo-700 hover:underline">All jobs</Link>
          <Link to="/compare" className="text-sm text-indigo-700 hover:underline">Compare</Link>
          <Link to="/analytics" className="text-sm text-indigo-700 hover:underline">Analytics</Link>
        </>
      }>
        <RecentJobs />
      </Card>
    </div>
  );
}
