// Rows as a table with their row numbers; rows an error is about are marked, blank cells said plainly.
import { TABLE, TD, TH, cx } from "../../../components/ui";

export interface TableRow {
  number: number; // what a person calls the row: 1-based data row of the file, or of the split
  cells: Record<string, unknown>;
}

function text(value: unknown): string {
  return value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
}

export function RowsTable({ columns, rows, flagged, caption }: { columns: string[]; rows: TableRow[]; flagged?: Set<number>; caption: string }) {
  return (
    <div className="overflow-x-auto rounded-md ring-1 ring-slate-200">
      <table className={TABLE}>
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-slate-50">
          <tr>
            <th scope="col" className={cx(TH, "w-16")}>Row</th>
            {columns.map((c) => <th scope="col" key={c} className={TH}>{c}</th>)}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 bg-white">
          {rows.map((row) => {
            const bad = flagged?.has(row.number);
            return (
              <tr key={row.number} className={bad ? "bg-red-50" : undefined} aria-invalid={bad || undefined}>
                <th scope="row" className={cx(TD, "font-mono text-xs font-normal tabular-nums", bad ? "text-red-800" : "text-slate-500")}>
                  {row.number}
                  {bad && <span className="sr-only"> (has an error)</span>}
                </th>
                {columns.map((c) => {
                  const value = text(row.cells[c]);
                  return (
                    <td key={c} className={cx(TD, "max-w-md")} title={value.length > 200 ? value.slice(0, 2000) : undefined}>
                      {value.trim() ? (
                        <span className="line-clamp-3 whitespace-pre-wrap break-words">{value}</span>
                      ) : (
                        <span className={cx("text-xs italic", bad ? "text-red-800" : "text-slate-500")}>(blank)</span>
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
