// A length histogram as bars, one per bucket of the service's scheme (so the x axis grows by doublings),
// with the buckets over a limit marked; a screen reader gets the same numbers as a table.
import { useId } from "react";
import { cx } from "../../../components/ui";
import { fmtInt } from "../../../lib/format";
import { bucketLabel, buckets, total, type Histogram } from "../histogram";

export function HistogramChart({ histogram, title, unit, limit }: { histogram?: Histogram; title: string; unit: string; limit?: number }) {
  const id = useId();
  const all = buckets(histogram);
  const rows = total(histogram);
  const most = Math.max(1, ...all.map((b) => b.count));
  return (
    <figure aria-labelledby={`${id}-title`} data-buckets={all.length} data-total={rows} className="min-w-0">
      <figcaption id={`${id}-title`} className="mb-2 text-sm font-medium text-slate-800">{title}</figcaption>
      {!all.length ? (
        <p className="text-sm text-slate-500">No lengths to show.</p>
      ) : (
        <>
          <div aria-hidden className="flex h-28 items-end gap-px border-b border-slate-300">
            {all.map((b) => {
              const over = limit !== undefined && b.high > limit;
              return (
                <div key={b.high} title={`${bucketLabel(b)} ${unit}: ${fmtInt(b.count)} row(s)`}
                  className={cx("min-w-0.5 flex-1 rounded-t-sm", over ? "bg-amber-500" : "bg-indigo-500")}
                  style={{ height: b.count ? `${Math.max(2, (100 * b.count) / most)}%` : 0 }} />
              );
            })}
          </div>
          <div aria-hidden className="mt-1 flex justify-between text-xs text-slate-600 tabular-nums">
            <span>{fmtInt(all[0].low)}</span>
            <span>{fmtInt(all.at(-1)!.high)}</span>
          </div>
          <p className="mt-0.5 text-center text-xs text-slate-500">
            {unit}; a bar per bucket, bucket widths double every 4 bars past 8
            {limit !== undefined && all.some((b) => b.high > limit) ? `; amber: over ${fmtInt(limit)}` : ""}
          </p>
          <table className="sr-only">
            <caption>{title}</caption>
            <thead><tr><th scope="col">{unit}</th><th scope="col">rows</th></tr></thead>
            <tbody>
              {all.filter((b) => b.count).map((b) => <tr key={b.high}><td>{bucketLabel(b)}</td><td>{b.count}</td></tr>)}
            </tbody>
          </table>
        </>
      )}
    </figure>
  );
}
