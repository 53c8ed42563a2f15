// How a sweep searches: grid or Bayesian (Optuna's TPE), how many trials, how many at once, pruning, seed.
import { Field, Input, Select } from "../../../components/ui";

export interface SweepSettingsValue {
  displayName: string;
  algorithm: "grid" | "bayesian";
  maxTrials: string;
  parallelTrials: string;
  pruning: boolean;
  seed: string;
}

export const DEFAULT_SWEEP: SweepSettingsValue = {
  displayName: "", algorithm: "grid", maxTrials: "4", parallelTrials: "1", pruning: false, seed: "",
};

export interface SweepSettingsProps {
  value: SweepSettingsValue;
  onChange: (value: SweepSettingsValue) => void;
  errors: { maxTrials?: string; parallelTrials?: string; algorithm?: string };
  gridSize?: number;
}

export function SweepSettings({ value, onChange, errors, gridSize }: SweepSettingsProps) {
  const set = (change: Partial<SweepSettingsValue>) => onChange({ ...value, ...change });
  return (
    <div className="grid grid-cols-1 gap-4 md:grid-cols-3">
      <Field label="Sweep name" help="Optional; shown in the sweep list.">
        {(a11y) => <Input {...a11y} value={value.displayName} placeholder="learning-rate search" onChange={(e) => set({ displayName: e.target.value })} />}
      </Field>
      <Field label="Search algorithm" error={errors.algorithm}
        help={value.algorithm === "grid" ? "Every combination of the ranges' points." : "Optuna's TPE sampler picks each next point from the losses so far."}>
        {(a11y) => (
          <Select {...a11y} value={value.algorithm} onChange={(e) => set({ algorithm: e.target.value as SweepSettingsValue["algorithm"] })}>
            <option value="grid">Grid search</option>
            <option value="bayesian">Bayesian (Optuna)</option>
          </Select>
        )}
      </Field>
      <Field label="Max trials" error={errors.maxTrials}
        help={value.algorithm === "grid" && gridSize ? `The grid has ${gridSize} point${gridSize > 1 ? "s" : ""}; a grid runs at most that many.` : "Each trial is a real job."}>
        {(a11y) => <Input {...a11y} type="number" min={1} value={value.maxTrials} onChange={(e) => set({ maxTrials: e.target.value })} />}
      </Field>
      <Field label="Trials at once" error={errors.parallelTrials} help="Trials running at the same time (the trainer's capacity permitting).">
        {(a11y) => <Input {...a11y} type="number" min={1} value={value.parallelTrials} onChange={(e) => set({ parallelTrials: e.target.value })} />}
      </Field>
      <Field label="Sampler seed" help="Of the Bayesian sampler, so a sweep can be repeated (empty: a fixed default).">
        {(a11y) => <Input {...a11y} type="number" value={value.seed} onChange={(e) => set({ seed: e.target.value })} />}
      </Field>
      <div className="flex flex-col justify-center">
        <label className="flex items-center gap-2 text-sm text-slate-800">
          <input type="checkbox" checked={value.pruning} onChange={(e) => set({ pruning: e.target.checked })}
            className="size-4 rounded border-slate-300 focus-visible:outline-2 focus-visible:outline-indigo-600" />
          Stop poor trials early (pruning)
        </label>
        <p className="mt-1 text-xs text-slate-500">Optuna's median rule on the validation losses at the same step.</p>
      </div>
    </div>
  );
}
