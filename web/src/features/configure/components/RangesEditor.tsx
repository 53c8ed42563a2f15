// Automated mode's search space: one row per searched parameter (values, choices, or min/max/step), each with
// the error the browser or the jobs service found in it.
import { Plus, Trash2 } from "lucide-react";
import { Button, Field, Input, Select } from "../../../components/ui";
import { PARAMETERS, SEARCHABLE_KEYS, type ParamKey } from "../parameters";
import { gridPoints, isText, newRow, type RangeRow } from "../ranges";

export interface RangesEditorProps {
  rows: RangeRow[];
  onChange: (rows: RangeRow[]) => void;
  /** Errors by row index. */
  errors: (string | undefined)[];
  grid: boolean;
}

export function RangesEditor({ rows, onChange, errors, grid }: RangesEditorProps) {
  const used = new Set(rows.map((r) => r.parameter));
  const next = SEARCHABLE_KEYS.find((k) => !used.has(k));
  const set = (i: number, change: Partial<RangeRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <div className="flex flex-col gap-3">
      {rows.length === 0 && <p className="text-sm text-slate-600">No parameter is searched yet: add a range.</p>}
      {rows.map((row, i) => {
        const label = PARAMETERS[row.parameter].label;
        const points = grid ? gridPoints(row) : undefined;
        return (
          <fieldset key={i} className="rounded-md p-3 ring-1 ring-slate-200" aria-label={`Range ${i + 1}: ${label}`}>
            <div className="grid grid-cols-1 items-start gap-3 md:grid-cols-[minmax(12rem,1fr)_auto_2fr_auto]">
              <Field label={`Range ${i + 1} parameter`}>
                {(a11y) => (
                  <Select {...a11y} value={row.parameter}
                    onChange={(e) => set(i, { ...newRow(e.target.value as ParamKey) })}>
                    {SEARCHABLE_KEYS.filter((k) => k === row.parameter || !used.has(k)).map((k) => (
                      <option key={k} value={k}>{PARAMETERS[k].label}</option>
                    ))}
                  </Select>
                )}
              </Field>
              {!isText(row.parameter) ? (
                <Field label="Given as">
                  {(a11y) => (
                    <Select {...a11y} value={row.how} onChange={(e) => set(i, { how: e.target.value as RangeRow["how"] })}>
                      <option value="values">values</option>
                      <option value="range">min / max</option>
                    </Select>
                  )}
                </Field>
              ) : <div />}
              {isText(row.parameter) || row.how === "values" ? (
                <Field label={isText(row.parameter) ? `${label} choices` : `${label} values`}
                  help={`Separated by commas${points ? ` · ${points} point${points > 1 ? "s" : ""}` : ""}`} error={errors[i]}>
                  {(a11y) => <Input {...a11y} value={row.values} placeholder={isText(row.parameter) ? "adamw, sgd" : "0.0001, 0.0003"}
                    onChange={(e) => set(i, { values: e.target.value })} />}
                </Field>
              ) : (
                <div className="flex flex-col gap-1">
                  <div className="grid grid-cols-3 gap-2">
                    <Field label={`${label} min`}>{(a11y) => <Input {...a11y} type="number" step="any" value={row.min} onChange={(e) => set(i, { min: e.target.value })} />}</Field>
                    <Field label={`${label} max`}>{(a11y) => <Input {...a11y} type="number" step="any" value={row.max} onChange={(e) => set(i, { max: e.target.value })} />}</Field>
                    <Field label={`${label} step`}>{(a11y) => <Input {...a11y} type="number" step="any" value={row.step} placeholder={grid ? "min, mid, max" : "continuous"} onChange={(e) => set(i, { step: e.target.value })} />}</Field>
                  </div>
                  <label className="flex items-center gap-2 text-sm text-slate-700">
                    <input type="checkbox" checked={row.log} onChange={(e) => set(i, { log: e.target.checked })}
                      className="size-4 rounded border-slate-300 focus-visible:outline-2 focus-visible:outline-indigo-600" />
                    Log scale
                  </label>
                  <p className="text-xs text-slate-500">
                    {grid ? `Grid: every step from min to max, or min, middle and max without a step${points ? ` · ${points} points` : ""}.`
                      : "Bayesian search samples between min and max (on a log scale if ticked)."}
                  </p>
                  {errors[i] && <p className="text-xs font-medium text-red-700" role="alert">{errors[i]}</p>}
                </div>
              )}
              <Button variant="ghost" className="md:mt-6" icon={<Trash2 className="size-4" aria-hidden />}
                onClick={() => onChange(rows.filter((_, j) => j !== i))} aria-label={`Remove the ${label} range`}>
                Remove
              </Button>
            </div>
          </fieldset>
        );
      })}
      <div>
        <Button icon={<Plus className="size-4" aria-hidden />} disabled={!next} onClick={() => next && onChange([...rows, newRow(next)])}>
          Add a range
        </Button>
      </div>
    </div>
  );
}
