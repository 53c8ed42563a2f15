// The guide's comparison table: one row per metric (final_loss, training_time, gpu_hours...), one column per
// job, the best value of each metric marked (every job that ties with it; none when all are equal).
import { Trophy } from "lucide-react";
import { TABLE, TD, TableHead, cx } from "../../../components/ui";
import { fmtDuration, fmtInt, fmtNumber } from "../../../lib/format";
import type { Comparison } from "../api/compare";
import { JobHeader, type ColumnJob } from "./JobHeader";

const METRICS: Record<string, { label: string; format: (v: number) => string; higherIsBetter?: boolean }> = {
  final_loss: { label: "Final training loss", format: (v) => fmtNumber(v, 4) },
  final_validation_loss: { label: "Final validation loss", format: (v) => fmtNumber(v, 4) },
  best_validation_loss: { label: "Best validation loss", format: (v) => fmtNumber(v, 4) },
  training_time: { label: "Training time", format: fmtDuration },
  gpu_hours: { label: "GPU hours", format: (v) => fmtNumber(v, 3) },
  tokens_per_second: { label: "Tokens per second", format: fmtInt, higherIsBetter: true },
};

export function MetricsTable({ comparison, columns }: { comparison: Comparison; columns: ColumnJob[] }) {
  const jobs = comparison.jobs ?? [];
  const best = new Map((comparison.best ?? []).map((b) => [b.metric ?? "", b.value]));
  return (
    <div className="overflow-x-auto">
      <table className={TABLE} aria-label="Metrics by job">
        <TableHead columns={["Metric"]}>{columns.map((c) => <JobHeader key={c.id} job={c} />)}</TableHead>
        <tbody className="divide-y divide-slate-100">
          {(comparison.metrics ?? []).map((metric) => {
            const spec = METRICS[metric] ?? { label: metric, format: (v: number) => fmtNumber(v) };
            const values = jobs.map((j) => j.metrics?.[metric]);
            const measured = values.filter((v): v is number => typeof v === "number");
            const winner = best.get(metric);
            const allEqual = measured.length > 1 && measured.every((v) => v === measured[0]);
            return (
              <tr key={metric} data-metric={metric}>
                <th scope="row" className={`${TD} text-left font-medium`}>
                  {spec.label}
                  <div className="text-xs font-normal text-slate-500">{metric} · {spec.higherIsBetter ? "higher" : "lower"} is better</div>
                </th>
                {values.map((v, i) => {
                  const isBest = typeof v === "number" && v === winner && !allEqual && measured.length > 1;
                  return (
                    <td key={columns[i]?.id ?? i} data-best={isBest || undefined}
                      className={cx(TD, "tabular-nums", isBest && "bg-emerald-50 font-semibold text-emerald-900")}>
                      {typeof v === "number" ? spec.format(v) : <span className="text-slate-500" title="not measured">—</span>}
                      {isBest && (
                        <span className="ml-1.5 inline-flex items-center gap-0.5 text-xs font-medium text-emerald-800">
                          <Trophy className="size-3" aria-hidden /> best
                        </span>
                      )}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
