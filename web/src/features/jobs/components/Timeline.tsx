// The job's state changes, oldest first, each with its time, reason and message.
import { JobStateBadge } from "../../../components/JobStateBadge";
import { Card } from "../../../components/ui";
import type { Job } from "../../../lib/api";
import { fmtTime } from "../../../lib/format";

export function Timeline({ job }: { job: Job }) {
  const transitions = job.transitions ?? [];
  return (
    <Card title="State timeline">
      <ol className="flex flex-col gap-3" aria-label="State changes">
        {transitions.map((t) => (
          <li key={t.sequence} className="flex gap-3 text-sm">
            <span aria-hidden className="mt-1.5 size-2 shrink-0 rounded-full bg-indigo-500" />
            <div className="min-w-0">
              <div className="flex flex-wrap items-center gap-2">
                <JobStateBadge state={t.to_state} />
                <span className="font-mono text-xs text-slate-500">{t.reason}</span>
                <time className="text-xs text-slate-500" dateTime={t.time}>{fmtTime(t.time)}</time>
              </div>
              {t.message && <p className="mt-0.5 break-words text-slate-700">{t.message}</p>}
            </div>
          </li>
        ))}
      </ol>
    </Card>
  );
}
