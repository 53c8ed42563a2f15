// Automated mode's ranges as the form holds them, and as the sweep's `search_space` sends them: text parameters
// list their choices; numbers list values, or give min and max (with a step for the grid, or a log scale).
import type { Schemas } from "../../lib/api";
import { PARAMETERS, type ParamKey } from "./parameters";

export type ParameterRange = Schemas["finetune.jobs.v1.ParameterRange"];

export interface RangeRow {
  parameter: ParamKey;
  how: "values" | "range";
  /** Numbers (or, for text parameters, choices), separated by commas. */
  values: string;
  min: string;
  max: string;
  step: string;
  log: boolean;
}

export function newRow(parameter: ParamKey): RangeRow {
  const examples: Partial<Record<ParamKey, Partial<RangeRow>>> = {
    learning_rate: { how: "range", min: "0.0001", max: "0.0005", log: true },
    optimizer: { values: "adamw, sgd" },
    scheduler: { values: "linear, cosine" },
  };
  return { parameter, how: "values", values: "", min: "", max: "", step: "", log: false, ...examples[parameter] };
}

export function isText(parameter: ParamKey): boolean {
  return PARAMETERS[parameter].kind === "text";
}

const list = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/** The row as a ParameterRange, or the message saying what the browser cannot send. */
export function toRange(row: RangeRow): { range: ParameterRange } | { error: string } {
  const { parameter } = row;
  if (isText(parameter)) return { range: { parameter, choices: list(row.values) } };
  const number = (text: string, what: string): number | string => {
    const n = Number(text.trim());
    return text.trim() === "" ? `${parameter} needs ${what}` : Number.isFinite(n) ? n : `${parameter} ${what} must be a number, got "${text.trim()}"`;
  };
  if (row.how === "values") {
    const values = list(row.values).map((v) => number(v, "a value"));
    const bad = values.find((v) => typeof v === "string");
    if (bad !== undefined) return { error: bad as string };
    return { range: { parameter, values: values as number[] } };
  }
  const [min, max] = [number(row.min, "a minimum"), number(row.max, "a maximum")];
  if (typeof min === "string") return { error: min };
  if (typeof max === "string") return { error: max };
  const step = row.step.trim() ? number(row.step, "a step") : 0;
  if (typeof step === "string") return { error: step };
  return { range: { parameter, min, max, step, log_scale: row.log } };
}

/** How many grid points a row has (as the jobs service counts them, before rounding whole numbers), for the "N trials" hint; undefined when unknown. */
export function gridPoints(row: RangeRow): number | undefined {
  const result = toRange(row);
  if ("error" in result) return undefined;
  const r = result.range;
  if (r.choices?.length) return new Set(r.choices).size;
  if (r.values?.length) return new Set(r.values).size;
  if (r.min === undefined || r.max === undefined || r.max < r.min) return undefined;
  if (!r.step) return r.min === r.max ? 1 : 3;
  return Math.floor((r.max - r.min) / r.step + 1e-9) + 1;
}
