// The configuration diff: one row per parameter (model, dataset, configuration UID, every hyperparameter)
// with each job's value as text, and whether the values differ (by the compare answer's differences, or
// by the values themselves for what the answer does not list).
import type { Job } from "../../lib/api";
import type { Comparison } from "./api/compare";

export interface DiffRow {
  parameter: string;
  values: string[];
  differs: boolean;
}

/** A parameter's value as the diff shows it: `0.001`, `q_proj, v_proj`, `true`, `—` when unset. */
export function valueText(value: unknown): string {
  if (value === undefined || value === null || value === "") return "—";
  if (Array.isArray(value)) return value.length ? value.map(valueText).join(", ") : "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** The rows for the compared jobs, in the compare answer's order; `jobs` (from the job list, by id) adds
 * what the answer lacks: the dataset. `uid` inside the hyperparameters is the configuration UID's row. */
export function diffRows(comparison: Comparison, jobs: Map<string, Job>): DiffRow[] {
  const compared = comparison.jobs ?? [];
  const listed = compared.map((c) => jobs.get((c.job ?? "").split("/").pop() ?? ""));
  const serverDiffers = new Map((comparison.differences ?? []).map((d) => [d.parameter ?? "", d.values ?? []]));
  const keys: string[] = [];
  for (const c of compared) for (const k of Object.keys(c.hyperparameters ?? {})) if (k !== "uid" && !keys.includes(k)) keys.push(k);

  const rows: { parameter: string; values: string[] }[] = [
    { parameter: "model", values: compared.map((c) => valueText(c.model)) },
    {
      parameter: "dataset",
      values: listed.map((j, i) => {
        const d = j?.configuration?.dataset;
        return d?.uid ? valueText(d.name ? `${d.name} (${d.uid})` : d.uid) : valueText(serverDiffers.get("dataset")?.[i]);
      }),
    },
    { parameter: "configuration_uid", values: compared.map((c) => valueText(c.configuration_uid)) },
    ...keys.map((k) => ({
      parameter: k,
      values: compared.map((c) => valueText((c.hyperparameters as Record<string, unknown> | undefined)?.[k])),
    })),
  ];
  return rows.map((r) => ({ ...r, differs: serverDiffers.has(r.parameter) || new Set(r.values).size > 1 }));
}
