// A saved dataset's rows, page by page, in its train or validation split (read from the rows stream).
import { useState } from "react";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Button, Field, Loading, Select, cx } from "../../../components/ui";
import type { Dataset } from "../../../lib/api";
import { fmtInt } from "../../../lib/format";
import { useDatasetRows, type Split } from "../api/datasets";
import { RowsTable } from "./RowsTable";

const SIZES = [10, 25, 50, 100];

export function RowBrowser({ dataset }: { dataset: Dataset }) {
  const [split, setSplit] = useState<Split>("SPLIT_TRAIN");
  const [size, setSize] = useState(25);
  const [offset, setOffset] = useState(0);
  const uid = dataset.uid ?? "";
  const rows = useDatasetRows(uid, split, offset, size);
  const splits: { value: Split; label: string; count: number }[] = [
    { value: "SPLIT_TRAIN", label: "Train", count: dataset.train_rows ?? 0 },
    { value: "SPLIT_VALIDATION", label: "Validation", count: dataset.validation_rows ?? 0 },
  ];
  const total = rows.data?.total_rows ?? splits.find((s) => s.value === split)!.count;
  const shown = rows.data?.rows ?? [];
  const pick = (next: Split) => {
    setSplit(next);
    setOffset(0);
  };

  return (
    <div>
      <div className="mb-3 flex flex-wrap items-end justify-between gap-3">
        <div role="group" aria-label="Split" className="inline-flex rounded-md shadow-sm ring-1 ring-slate-300">
          {splits.map((s, i) => (
            <button key={s.value} type="button" aria-pressed={split === s.value} disabled={!s.count} onClick={() => pick(s.value)}
              className={cx("px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600",
                "disabled:cursor-not-allowed disabled:text-slate-400", i === 0 ? "rounded-l-md" : "rounded-r-md border-l border-slate-300",
                split === s.value ? "bg-indigo-600 text-white" : "bg-white text-slate-800 hover:bg-slate-50")}
              title={!s.count ? "This dataset has no validation split" : undefined}>
              {s.label} ({fmtInt(s.count)})
            </button>
          ))}
        </div>
        <Field label="Rows per page" className="w-36">
          {(p) => (
            <Select {...p} value={size} onChange={(e) => {
              setSize(Number(e.target.value));
              setOffset(0);
            }}>
              {SIZES.map((n) => <option key={n} value={n}>{n}</option>)}
            </Select>
          )}
        </Field>
      </div>
      {rows.isPending ? <Loading label="Loading rows…" /> : rows.isError ? (
        <ErrorMessage title="Could not read the rows" error={rows.error} onRetry={() => void rows.refetch()} />
      ) : !shown.length ? (
        <p className="text-sm text-slate-600">No rows here.</p>
      ) : (
        <RowsTable caption={`${split === "SPLIT_TRAIN" ? "Train" : "Validation"} rows ${offset + 1} to ${offset + shown.length}`}
          columns={["input", "output"]}
          rows={shown.map((r) => ({ number: (r.index ?? 0) + 1, cells: { input: r.input, output: r.output } }))} />
      )}
      <div className="mt-3 flex flex-wrap items-center justify-between gap-2 text-sm text-slate-600">
        <span role="status" aria-live="polite">
          {shown.length ? `Rows ${fmtInt(offset + 1)}–${fmtInt(offset + shown.length)} of ${fmtInt(total)}` : `${fmtInt(total)} rows`}
          {rows.isFetching && !rows.isPending ? " (loading…)" : ""}
        </span>
        <div className="flex gap-2">
          <Button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - size))}>Previous rows</Button>
          <Button disabled={offset + size >= total} onClick={() => setOffset(offset + size)}>Next rows</Button>
        </div>
      </div>
    </div>
  );
}
