// What the guide's check says about the values: valid or not, the configuration UID, the memory estimate
// against this machine with the batch advice, and every value as the trainer will use it.
import { CheckCircle2, Loader2, XCircle } from "lucide-react";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Badge, Button, Card } from "../../../components/ui";
import { fmtBytes } from "../../../lib/format";
import type { ValidateResponse } from "../api/configure";
import type { Issue } from "../issues";
import { PARAMETERS, PARAM_KEYS, type ParamKey } from "../parameters";

export interface SummaryPanelProps {
  result: ValidateResponse | undefined;
  checking: boolean;
  error: unknown;
  /** Problems the browser found before asking (values that are not numbers). */
  clientErrors: number;
  /** Issues about no field of the form. */
  general: Issue[];
  onApply: (changes: Partial<Record<ParamKey, string>>) => void;
}

export function SummaryPanel({ result, checking, error, clientErrors, general, onApply }: SummaryPanelProps) {
  const errors = (result?.errors?.length ?? 0) + clientErrors;
  const warnings = result?.warnings?.length ?? 0;
  const uid = result?.normalized?.uid;
  const estimated = result?.estimated_memory_bytes ?? 0;
  const available = result?.available_memory_bytes ?? 0;
  const suggested = result?.suggested;
  const suggestion = suggested?.batch_size
    ? { batch_size: String(suggested.batch_size), gradient_accumulation_steps: String(suggested.gradient_accumulation_steps ?? 1) }
    : undefined;
  return (
    <Card title="The guide's check" actions={checking ? <span className="flex items-center gap-1 text-xs text-slate-500"><Loader2 className="size-3 animate-spin" aria-hidden />checking…</span> : undefined}>
      <div aria-live="polite" className="flex flex-col gap-3 text-sm">
        {error ? <ErrorMessage error={error} title="The values could not be checked" /> : null}
        {!result && !error && <p className="text-slate-600">Checking the values…</p>}
        {result && (
          <p className="flex flex-wrap items-center gap-2" data-testid="check-status">
            {errors ? <XCircle className="size-4 text-red-600" aria-hidden /> : <CheckCircle2 className="size-4 text-emerald-600" aria-hidden />}
            <span className="font-medium text-slate-900">
              {errors ? `${errors} impossible value${errors > 1 ? "s" : ""}` : "Every value is possible"}
            </span>
            {warnings > 0 && <Badge tone="amber">{warnings} warning{warnings > 1 ? "s" : ""}</Badge>}
          </p>
        )}
        {general.map((issue, i) => (
          <p key={i} className={issue.code === "INVALID_VALUE" ? "text-red-700" : "text-amber-800"}>{issue.message}</p>
        ))}
        {uid && (
          <div>
            <p className="text-xs font-medium uppercase tracking-wide text-slate-500">Configuration UID</p>
            <p className="font-mono text-sm break-all text-slate-900" data-testid="configuration-uid">{uid}</p>
            <p className="text-xs text-slate-500">The same values always get the same UID (epochs, learning rate, batch, r, alpha, mode).</p>
          </div>
        )}
        {estimated > 0 && (
          <div>
            <p className="text-xs font-medium uppercase tracking-wide text-slate-500">Training memory</p>
            <p className={estimated > available ? "font-medium text-red-700" : "text-slate-900"}>
              about {fmtBytes(estimated)} of {fmtBytes(available)} free {estimated > available ? "— does not fit" : "— fits"}
            </p>
            {suggestion && (
              <p className="mt-1 text-xs text-slate-600">
                The guide's advice here: batch size {suggestion.batch_size} with gradient accumulation {suggestion.gradient_accumulation_steps}
                {" "}(an effective batch of 32).{" "}
                <Button variant="ghost" className="px-1 py-0 text-xs text-indigo-700 underline" onClick={() => onApply(suggestion)}>Apply</Button>
              </p>
            )}
          </div>
        )}
        {result?.normalized && (
          <details>
            <summary className="cursor-pointer text-sm font-medium text-slate-800">Every value as the trainer will use it</summary>
            <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 text-xs">
              {PARAM_KEYS.map((key) => {
                const v = result.normalized![key];
                return [
                  <dt key={`${key}-k`} className="font-mono text-slate-500">{key}</dt>,
                  <dd key={`${key}-v`} className="font-mono text-slate-900">{v === undefined ? (PARAMETERS[key].optional ? "not set" : "—") : Array.isArray(v) ? v.join(", ") : String(v)}</dd>,
                ];
              })}
            </dl>
          </details>
        )}
      </div>
    </Card>
  );
}
