// A sweep's trials as tables and charts read them: the searched parameters, each range in words, each trial's
// value of a parameter, and the best loss so far after each trial.
import type { Schemas, Sweep } from "../../lib/api";
import { num } from "../../lib/format";

/** A parameter value exactly as given (0.0005, not 5.00e-4: these are settings, not measurements). */
export const valueText = (v: number | undefined) => (v === undefined ? "—" : String(v));

export type Trial = Schemas["finetune.jobs.v1.SweepTrial"];
export type ParameterRange = Schemas["finetune.jobs.v1.ParameterRange"];

/** The parameters the sweep searches, in its order, once each. */
export function searchedParameters(sweep: Sweep | undefined): string[] {
  return [...new Set((sweep?.search_space ?? []).map((r) => r.parameter ?? "").filter(Boolean))];
}

export function describeRange(r: ParameterRange): string {
  if (r.choices?.length) return r.choices.join(", ");
  if (r.values?.length) return r.values.map(valueText).join(", ");
  const parts = [`${valueText(r.min ?? 0)} to ${valueText(r.max ?? 0)}`];
  if (r.step) parts.push(`step ${valueText(r.step)}`);
  if (r.log_scale) parts.push("log scale");
  return parts.join(", ");
}

/** A trial's value of a searched parameter, as text. */
export function trialValue(trial: Trial, parameter: string): string {
  const v = (trial.parameters as Record<string, unknown> | undefined)?.[parameter];
  if (v === undefined || v === null) return "—";
  return typeof v === "number" ? valueText(v) : Array.isArray(v) ? v.join(", ") : String(v);
}

/** A trial's final validation loss (NaN until it has one). */
export function trialLoss(trial: Trial): number {
  return num(trial.validation_loss);
}

/** The lowest loss among trials 0..i for each trial (null before any loss). */
export function bestSoFar(trials: Trial[]): (number | null)[] {
  let best = Number.POSITIVE_INFINITY;
  return trials.map((t) => {
    const loss = trialLoss(t);
    if (Number.isFinite(loss) && t.state === "TRIAL_STATE_COMPLETED") best = Math.min(best, loss);
    return Number.isFinite(best) ? best : null;
  });
}
