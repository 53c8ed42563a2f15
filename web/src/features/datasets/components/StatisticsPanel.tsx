// A dataset's statistics: counts, per-column lengths, length histograms over every row, and how many rows a
// chosen max sequence length would truncate. Token counts are estimates (characters / 4), said so everywhere.
import { useState } from "react";
import { Field, Input, Stat, TABLE, TD, TH } from "../../../components/ui";
import type { Schemas } from "../../../lib/api";
import { fmtInt, fmtNumber } from "../../../lib/format";
import { useWorkflow } from "../../../lib/workflow";
import { nearestBounds, rowsOver, total } from "../histogram";
import { HistogramChart } from "./HistogramChart";

type Statistics = Schemas["finetune.dataset.v1.DatasetStatistics"];

const ESTIMATE = "Token counts are estimates (characters ÷ 4, the usual rule for English text); a real tokenizer may differ, "
  + "and the prompt template adds a few tokens per row.";

export function StatisticsPanel({ statistics }: { statistics?: Statistics }) {
  const workflowLength = useWorkflow().configuration?.hyperparameters?.max_seq_length;
  const [maxLength, setMaxLength] = useState(String(workflowLength || 512));
  const columns = statistics?.column_stats ?? [];
  const tokens = statistics?.row_tokens_est_histogram;
  const limit = Number.parseInt(maxLength, 10);
  const valid = Number.isFinite(limit) && limit >= 1;
  const rows = total(tokens);

  return (
    <div className="space-y-5">
      <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
        <Stat label="Rows" value={fmtInt(statistics?.total_rows)} />
        <Stat label="Columns" value={fmtInt(statistics?.total_columns)} hint={statistics?.has_required_columns ? "input and output present" : "input or output missing"} />
        <Stat label="Empty rows" value={fmtInt(statistics?.empty_rows ?? 0)} />
        <Stat label="Duplicate rows" value={fmtInt(statistics?.duplicate_rows ?? 0)} />
      </dl>

      {columns.length > 0 && (
        <div className="overflow-x-auto">
          <table className={TABLE}>
            <caption className="sr-only">Length of each column's cells</caption>
            <thead>
              <tr>
                <th scope="col" className={TH}>Column</th>
                <th scope="col" className={TH}>Blank</th>
                <th scope="col" className={TH}>Characters min / median / p95 / max</th>
                <th scope="col" className={TH}>Mean characters</th>
                <th scope="col" className={TH}>Est. tokens mean / max</th>
                <th scope="col" className={TH}>Est. tokens total</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {columns.map((c) => (
                <tr key={c.name}>
                  <th scope="row" className={`${TD} text-left font-mono text-xs font-medium`}>{c.name}</th>
                  <td className={`${TD} tabular-nums`}>{fmtInt(c.empty)}</td>
                  <td className={`${TD} tabular-nums`}>{[c.chars_min, c.chars_p50, c.chars_p95, c.chars_max].map(fmtInt).join(" / ")}</td>
                  <td className={`${TD} tabular-nums`}>{fmtNumber(c.chars_mean)}</td>
                  <td className={`${TD} tabular-nums`}>≈ {fmtNumber(c.tokens_est_mean)} / {fmtInt(c.tokens_est_max)}</td>
                  <td className={`${TD} tabular-nums`}>≈ {fmtInt(c.tokens_est_total)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <div className="grid gap-6 lg:grid-cols-3">
        <HistogramChart title="Estimated tokens per row (input + output)" unit="estimated tokens" histogram={tokens} limit={valid ? limit : undefined} />
        {columns.filter((c) => c.name === "input" || c.name === "output").map((c) => (
          <HistogramChart key={c.name} title={`Length of ${c.name} (characters)`} unit="characters" histogram={c.chars_histogram} />
        ))}
      </div>

      <div className="flex flex-wrap items-start gap-4 rounded-md bg-slate-50 p-3 ring-1 ring-slate-200">
        <Field label="Max sequence length (tokens)" className="w-56"
          error={!valid ? "Enter a whole number of tokens, at least 1." : undefined}
          help="The training setting max_seq_length: longer rows are cut.">
          {(p) => <Input {...p} type="number" min={1} step={1} inputMode="numeric" value={maxLength} onChange={(e) => setMaxLength(e.target.value)} />}
        </Field>
        <div className="min-w-64 flex-1 text-sm text-slate-800" aria-live="polite" data-testid="truncation">
          {!rows ? (
            <p className="text-slate-600">No token histogram for these rows (it needs both input and output, and datasets saved before it was added lack it).</p>
          ) : valid ? (
            <Truncation histogram={tokens} limit={limit} rows={rows} />
          ) : null}
          <p className="mt-1 text-xs text-slate-500">{ESTIMATE}</p>
        </div>
      </div>
    </div>
  );
}

function Truncation({ histogram, limit, rows }: { histogram: Statistics["row_tokens_est_histogram"]; limit: number; rows: number }) {
  const over = rowsOver(histogram, limit);
  const pct = (n: number) => `${fmtNumber((100 * n) / rows, 3)}%`;
  if (over.exact) {
    return (
      <p>
        <strong className="tabular-nums">{fmtInt(over.min)}</strong> of {fmtInt(rows)} rows ({pct(over.min)}) have an
        estimated length over {fmtInt(limit)} tokens and would be truncated.
      </p>
    );
  }
  const [below, above] = nearestBounds(histogram, limit);
  return (
    <p>
      Between <strong className="tabular-nums">{fmtInt(over.min)}</strong> and <strong className="tabular-nums">{fmtInt(over.max)}</strong> of{" "}
      {fmtInt(rows)} rows ({pct(over.min)}–{pct(over.max)}) have an estimated length over {fmtInt(limit)} tokens and would be truncated
      {below !== undefined && above !== undefined ? ` (the histogram counts exactly at ${fmtInt(below)} or ${fmtInt(above)})` : ""}.
    </p>
  );
}
