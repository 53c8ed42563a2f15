// Values by count, most first, with a bar each (popular models, datasets, dataset sizes).
import type { JobStatistics } from "../api/statistics";

type ValueCount = NonNullable<JobStatistics["popular_models"]>[number];

export function RankedList({ label, items, empty = "None yet." }: { label: string; items: ValueCount[] | undefined; empty?: string }) {
  const list = items ?? [];
  if (!list.length) return <p className="text-sm text-slate-500">{empty}</p>;
  const max = Math.max(1, ...list.map((i) => i.count ?? 0));
  return (
    <ol aria-label={label} className="flex flex-col gap-2">
      {list.map((item) => (
        <li key={item.value} className="text-sm">
          <div className="flex justify-between gap-3">
            <span className="min-w-0 truncate font-medium text-slate-800" title={item.value}>{item.value}</span>
            <span className="shrink-0 tabular-nums text-slate-700">{item.count ?? 0} {(item.count ?? 0) === 1 ? "job" : "jobs"}</span>
          </div>
          <div aria-hidden className="mt-1 h-1.5 rounded-full bg-slate-100">
            <div className="h-full rounded-full bg-indigo-500" style={{ width: `${(100 * (item.count ?? 0)) / max}%` }} />
          </div>
        </li>
      ))}
    </ol>
  );
}
