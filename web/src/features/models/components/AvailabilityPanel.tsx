// The availability check of one model: where it is, whether it is a causal LM with LoRA targets, and its memory
// estimate for a batch, sequence length and rank against this machine's free memory; problems and notes in words.
import { CheckCircle2, CircleHelp, XCircle } from "lucide-react";
import { useState, type ReactNode } from "react";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Badge, Card, Empty, Field, Input, Loading, ProgressBar } from "../../../components/ui";
import { fmtPercent } from "../../../lib/format";
import { useCheckModel, type CheckParams } from "../api/models";
import { fineTuneCriteria, memoryShare, type Verdict } from "../fineTune";
import { MachinePanel } from "./MachinePanel";

const ICONS: Record<Verdict, ReactNode> = {
  yes: <><CheckCircle2 className="size-4 shrink-0 text-emerald-600" aria-hidden /><span className="sr-only">Yes: </span></>,
  no: <><XCircle className="size-4 shrink-0 text-red-600" aria-hidden /><span className="sr-only">No: </span></>,
  unknown: <><CircleHelp className="size-4 shrink-0 text-slate-400" aria-hidden /><span className="sr-only">Unknown: </span></>,
};

export function AvailabilityPanel({ modelId, name }: { modelId?: string; name?: string }) {
  const [form, setForm] = useState({ batch_size: "8", seq_len: "512", lora_r: "16" });
  const params: CheckParams = { batch_size: Number(form.batch_size) || 8, seq_len: Number(form.seq_len) || 512, lora_r: Number(form.lora_r) || 16 };
  const check = useCheckModel(modelId, params);
  const data = check.data;
  const share = data ? memoryShare(data) : Number.NaN;
  return (
    <Card title="Availability here">
      {!modelId ? (
        <Empty title="No model checked yet">Press “Check availability” on a model to see whether it can be fine-tuned on this machine.</Empty>
      ) : (
        <div className="flex flex-col gap-3 text-sm" aria-live="polite">
          <p className="font-medium text-slate-900">{name || modelId} <span className="block font-mono text-xs font-normal text-slate-600 break-all">{modelId}</span></p>
          <div className="grid grid-cols-3 gap-2">
            {(["batch_size", "seq_len", "lora_r"] as const).map((k) => (
              <Field key={k} label={{ batch_size: "Batch", seq_len: "Tokens", lora_r: "LoRA r" }[k]}>
                {(a11y) => <Input {...a11y} type="number" min={1} value={form[k]} onChange={(e) => setForm({ ...form, [k]: e.target.value })} />}
              </Field>
            ))}
          </div>
          {check.isPending && <Loading label="Checking the model…" />}
          {check.error ? <ErrorMessage error={check.error} title="The model could not be checked" onRetry={() => check.refetch()} /> : null}
          {data && data.model_id === modelId && (
            <>
              <p className="flex items-center gap-2" data-testid="fine-tune-verdict">
                {data.can_fine_tune ? <Badge tone="green">Can be fine-tuned here</Badge> : <Badge tone="red">Cannot be fine-tuned here</Badge>}
                {check.isFetching && <span className="text-xs text-slate-500">updating…</span>}
              </p>
              <ul className="flex flex-col gap-1.5" aria-label="Fine-tuning criteria">
                {fineTuneCriteria(data).map((c) => (
                  <li key={c.label} className="flex gap-2">
                    {ICONS[c.verdict]}
                    <span><span className="font-medium text-slate-800">{c.label}</span>: <span className="text-slate-600 break-words">{c.detail}</span></span>
                  </li>
                ))}
              </ul>
              {Number.isFinite(share) && (
                <div>
                  <p className="mb-1 text-xs text-slate-600">Memory estimate: {fmtPercent(share)} of what is free in {data.memory_device}</p>
                  <ProgressBar percent={Math.min(share, 100)} label="Memory estimate against free memory" />
                </div>
              )}
              {data.problems?.map((p, i) => <p key={i} role="alert" className="text-red-700">{p}</p>)}
              {data.notes?.map((n, i) => <p key={i} className="text-slate-600">{n}</p>)}
              {data.hub_reason && <p className="text-xs text-slate-500">Hub: {data.hub_reachable ? "reachable" : "not reachable"} ({data.hub_reason})</p>}
            </>
          )}
        </div>
      )}
      <div className="mt-4 border-t border-slate-200 pt-3">
        <MachinePanel />
      </div>
    </Card>
  );
}
