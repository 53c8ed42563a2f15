// Jobs per hour or day as a table with a bar per bucket: created, and how the ones that ended did.
import { useState } from "react";
import { Empty, TABLE, TD, TH, cx } from "../../../components/ui";
import type { JobStatistics } from "../api/statistics";

type Bucket = NonNullable<JobStatistics["jobs_per_hour"]>[number];

const PARTS = [
  { key: "completed", label: "Completed", color: "bg-emerald-500" },
  { key: "failed", label: "Failed", color: "bg-red-500" },
  { key: "cancelled", label: "Cancelled", color: "bg-slate-400" },
] as const;

function label(start: string | undefined, hourly: boolean): string {
  if (!start) return "—";
  const d = new Date(start);
  return hourly ? d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
    : d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function Throughput({ statistics }: { statistics: JobStatistics }) {
  const [hourly, setHourly] = useState(false);
  const buckets: Bucket[] = (hourly ? statistics.jobs_per_hour : statistics.jobs_per_day) ?? [];
  const max = Math.max(1, ...buckets.map((b) => Math.max(b.created ?? 0, (b.completed ?? 0) + (b.failed ?? 0) + (b.cancelled ?? 0))));
  return (
    <div>
      <div role="radiogroup" aria-label="Throughput by" className="mb-3 inline-flex rounded-md ring-1 ring-slate-300">
        {[false, true].map((h) => (
          <button key={String(h)} type="button" role="radio" aria-checked={hourly === h} onClick={() => setHourly(h)}
            className={cx("px-3 py-1 text-sm first:rounded-l-md last:rounded-r-md focus-visible:outline-2 focus-visible:outline-indigo-600",
              hourly === h ? "bg-indigo-600 text-white" : "bg-white text-slate-800 hover:bg-slate-50")}>
            {h ? "Per hour" : "Per day"}
          </button>
        ))}
      </div>
      {!buckets.length ? (
        <Empty title="No jobs in this window" />
      ) : (
        <div className="max-h-80 overflow-auto">
          <table className={TABLE} aria-label={hourly ? "Jobs per hour" : "Jobs per day"}>
            <thead className="sticky top-0 bg-slate-50">
              <tr>
                <th scope="col" className={TH}>{hourly ? "Hour" : "Day"}</th>
                <th scope="col" className={TH}>Created</th>
                {PARTS.map((p) => <th key={p.key} scope="col" className={TH}>{p.label}</th>)}
                <th scope="col" className={cx(TH, "w-1/3")}><span className="sr-only">Bar</span></th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {buckets.map((b) => (
                <tr key={b.start_time}>
                  <th scope="row" className={cx(TD, "whitespace-nowrap text-left font-medium")}>{label(b.start_time, hourly)}</th>
                  <td className={cx(TD, "tabular-nums")}>{b.created ?? 0}</td>
                  {PARTS.map((p) => <td key={p.key} className={cx(TD, "tabular-nums")}>{b[p.key] ?? 0}</td>)}
                  <td className={TD} aria-hidden>
                    <div className="relative h-4 w-full">
                      <div className="absolute inset-y-0 left-0 rounded-sm bg-indigo-100" style={{ width: `${(100 * (b.created ?? 0)) / max}%` }} />
                      <div className="absolute inset-x-0 inset-y-1 flex overflow-hidden rounded-sm">
                        {PARTS.map((p) => <div key={p.key} className={p.color} style={{ width: `${(100 * (b[p.key] ?? 0)) / max}%` }} />)}
                      </div>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
