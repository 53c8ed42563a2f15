// The manual-mode form: every training parameter by section, each with its help, the guide's warning (and a
// button that applies its suggestion) and the error that makes it impossible, next to the field.
import { Card, Field, Input, cx } from "../../../components/ui";
import type { Issue } from "../issues";
import { PARAMETERS, PARAM_KEYS, SECTIONS, type FormValues, type ParamKey } from "../parameters";

export interface ParameterFormProps {
  values: FormValues;
  defaults: FormValues;
  onChange: (key: ParamKey, value: string) => void;
  errors: Partial<Record<ParamKey, string>>;
  warnings: Partial<Record<ParamKey, Issue[]>>;
  /** Parameters a sweep searches instead (automated mode): not editable here. */
  searched?: Set<ParamKey>;
  /** Extra help for a parameter (say, the model's own LoRA target modules). */
  hints?: Partial<Record<ParamKey, string>>;
}

export function ParameterForm({ values, defaults, onChange, errors, warnings, searched, hints }: ParameterFormProps) {
  return (
    <div className="flex flex-col gap-4">
      {SECTIONS.map((section) => (
        <Card key={section.id} title={`${section.title} parameters`}>
          <p className="-mt-2 mb-3 text-sm text-slate-600">{section.description}</p>
          <div className="grid grid-cols-1 gap-x-5 gap-y-4 md:grid-cols-2 xl:grid-cols-3">
            {PARAM_KEYS.filter((k) => PARAMETERS[k].section === section.id).map((key) => (
              <ParameterField key={key} name={key} value={values[key]} fallback={defaults[key]} onChange={onChange}
                error={errors[key]} warnings={warnings[key]} searched={searched?.has(key) ?? false} hint={hints?.[key]} />
            ))}
          </div>
        </Card>
      ))}
    </div>
  );
}

interface ParameterFieldProps {
  name: ParamKey;
  value: string;
  fallback: string;
  onChange: (key: ParamKey, value: string) => void;
  error?: string;
  warnings?: Issue[];
  searched: boolean;
  hint?: string;
}

function ParameterField({ name, value, fallback, onChange, error, warnings, searched, hint }: ParameterFieldProps) {
  const spec = PARAMETERS[name];
  const warning = warnings?.length ? (
    <>
      {warnings.map((w, i) => (
        <span key={i} className="block">
          {w.message}
          {w.suggested_value && w.suggested_value !== value && (
            <button type="button" onClick={() => onChange(name, w.suggested_value!)}
              className="ml-1 rounded px-1 font-medium text-indigo-700 underline hover:bg-indigo-50 focus-visible:outline-2 focus-visible:outline-indigo-600">
              Use {w.suggested_value}
            </button>
          )}
        </span>
      ))}
    </>
  ) : undefined;
  const help = (
    <>
      <span className="font-mono text-[11px] text-slate-600">{name}</span> · {searched ? "searched by the sweep (see the ranges below)" : spec.help}
      {hint && <span className="block text-slate-600">{hint}</span>}
    </>
  );
  return (
    <Field label={spec.label} help={help} error={error} warning={warning}>
      {(a11y) => {
        if (spec.kind === "bool") {
          return (
            <label className="flex items-center gap-2 py-1.5 text-sm text-slate-700">
              <input {...a11y} type="checkbox" checked={value === "true"} disabled={searched}
                onChange={(e) => onChange(name, e.target.checked ? "true" : "false")}
                className="size-4 rounded border-slate-300 text-indigo-600 focus-visible:outline-2 focus-visible:outline-indigo-600" />
              {value === "true" ? "On" : "Off"}
            </label>
          );
        }
        const numeric = spec.kind === "int" || spec.kind === "float";
        const listId = spec.suggestions ? `${a11y.id}-suggestions` : undefined;
        return (
          <>
            <Input {...a11y} name={name} value={searched ? "" : value} disabled={searched}
              type={numeric ? "number" : "text"} step={numeric ? "any" : undefined}
              inputMode={spec.kind === "int" ? "numeric" : spec.kind === "float" ? "decimal" : undefined}
              placeholder={searched ? "searched" : spec.optional ? "no limit" : fallback ? `default ${fallback}` : undefined}
              list={listId} autoComplete="off" spellCheck={false}
              className={cx(warnings?.length && !error ? "ring-amber-400" : undefined, numeric ? "tabular-nums" : undefined)}
              onChange={(e) => onChange(name, e.target.value)} />
            {listId && (
              <datalist id={listId}>
                {spec.suggestions!.map((s) => <option key={s} value={s} />)}
              </datalist>
            )}
          </>
        );
      }}
    </Field>
  );
}
