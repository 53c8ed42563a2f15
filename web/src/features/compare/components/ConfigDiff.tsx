// The compared jobs' configurations side by side, every parameter or only those that differ.
import { useState } from "react";
import { TABLE, TD, TH, cx } from "../../../components/ui";
import type { DiffRow } from "../configDiff";
import { JobHeader, type ColumnJob } from "./JobHeader";

export function ConfigDiff({ rows, columns }: { rows: DiffRow[]; columns: ColumnJob[] }) {
  const [onlyDifferences, setOnlyDifferences] = useState(true);
  const differing = rows.filter((r) => r.differs).length;
  const shown = onlyDifferences ? rows.filter((r) => r.differs) : rows;
  return (
    <div>
      <div className="mb-3 flex flex-wrap items-center justify-between gap-3">
        <label className="flex items-center gap-2 text-sm font-medium text-slate-800">
          <input type="checkbox" role="switch" className="size-4 accent-indigo-600" checked={onlyDifferences}
            onChange={(e) => setOnlyDifferences(e.target.checked)} />
          Differences only
        </label>
        <p className="text-sm text-slate-600" role="status">
          {differing === 0 ? "The configurations are the same." : `${differing} of ${rows.length} parameters differ.`}
        </p>
      </div>
      {shown.length > 0 && (
        <div className="overflow-x-auto">
          <table className={TABLE} aria-label="Configuration by job">
            <thead className="bg-slate-50">
              <tr>
                <th scope="col" className={TH}>Parameter</th>
                {columns.map((c) => <JobHeader key={c.id} job={c} />)}
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {shown.map((r) => (
                <tr key={r.parameter} data-parameter={r.parameter} data-differs={r.differs || undefined}>
                  <th scope="row" className={cx(TD, "text-left font-mono text-xs font-medium")}>{r.parameter}</th>
                  {r.values.map((v, i) => (
                    <td key={columns[i]?.id ?? i} className={cx(TD, "break-all font-mono text-xs", r.differs && "bg-amber-50 text-amber-950")}>{v}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
