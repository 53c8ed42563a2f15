// Models as a list a person scans: name, id, provider, category, size, the hub's numbers, whether it can be
// LoRA-tuned, and the actions (check here, add to or remove from the collection, use it).
import { ArrowRight, Check, MessageSquare, Plus, Search, Trash2 } from "lucide-react";
import { Link } from "react-router";
import { Badge, Button } from "../../../components/ui";
import type { Model } from "../../../lib/api";
import { fmtBytes, fmtInt, fmtNumber, idOf } from "../../../lib/format";

export interface ModelActions {
  inCollection: Set<string>;
  busyId?: string;
  checkedId?: string;
  onCheck: (model: Model) => void;
  onAdd: (model: Model) => void;
  onRemove: (model: Model) => void;
  onUse: (model: Model) => void;
}

export function ModelList({ models, actions, label }: { models: Model[]; actions: ModelActions; label: string }) {
  return (
    <ul aria-label={label} className="divide-y divide-slate-200 rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
      {models.map((m) => <ModelRow key={m.id} model={m} actions={actions} />)}
    </ul>
  );
}

function ModelRow({ model: m, actions }: { model: Model; actions: ModelActions }) {
  const id = m.id ?? "";
  const name = m.display_name || id;
  const saved = actions.inCollection.has(id);
  const busy = actions.busyId === id;
  return (
    <li aria-label={name} className={actions.checkedId === id ? "bg-indigo-50/60 p-4" : "p-4"}>
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0 flex-1">
          <p className="flex flex-wrap items-center gap-2">
            <span className="font-semibold text-slate-900">{name}</span>
            {m.fine_tunable
              ? <Badge tone="green" title="A causal LM with linear layers LoRA can adapt">LoRA-tunable</Badge>
              : <Badge tone="amber" title={m.fine_tune_note || undefined}>Not LoRA-tunable{m.fine_tune_note ? ": see why" : ""}</Badge>}
            {saved && <Badge tone="indigo"><Check className="size-3" aria-hidden />In collection</Badge>}
            {m.gated && m.gated !== "false" && <Badge tone="amber">Gated ({m.gated})</Badge>}
          </p>
          <p className="mt-0.5 font-mono text-xs text-slate-600 break-all">{id}</p>
        </div>
        <div className="flex flex-wrap gap-2">
          <Button icon={<Search className="size-4" aria-hidden />} onClick={() => actions.onCheck(m)} aria-label={`Check availability of ${name}`}>
            Check availability
          </Button>
          {saved ? (
            <Button variant="danger" busy={busy} icon={<Trash2 className="size-4" aria-hidden />} onClick={() => actions.onRemove(m)}
              aria-label={`Remove ${name} from the collection`}>Remove</Button>
          ) : (
            <Button busy={busy} icon={<Plus className="size-4" aria-hidden />} onClick={() => actions.onAdd(m)}
              aria-label={`Add ${name} to the collection`}>Add</Button>
          )}
          <Button variant="primary" icon={<ArrowRight className="size-4" aria-hidden />} onClick={() => actions.onUse(m)}
            aria-label={`Use this model: ${name}`}>Use this model</Button>
        </div>
      </div>
    {m.fine_tuned?.job ? <FineTunedOrigin origin={m.fine_tuned} /> : m.description && <p className="mt-1 text-sm text-slate-700">{m.description}</p>}
    {!m.fine_tunable && m.fine_tune_note && <p className="mt-1 text-xs text-amber-800">{m.fine_tune_note}</p>}
    <dl className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600">
      <Fact label="Provider" value={m.provider} />
      <Fact label="Category" value={m.category} />
      <Fact label="Parameters" value={m.parameters} />
      <Fact label="Architecture" value={m.architecture} />
      <Fact label="License" value={m.license} />
      {m.download_size_bytes ? <Fact label="Download" value={fmtBytes(m.download_size_bytes)} /> : null}
      {m.downloads ? <Fact label="Downloads" value={fmtInt(m.downloads)} /> : null}
      {m.likes ? <Fact label="Likes" value={fmtInt(m.likes)} /> : null}
      <Fact label="Source" value={m.source} />
    </dl>
    </li>
  );
}

/** Where a model fine-tuned here came from: its base, the job (linked), its final losses, and the playground. */
function FineTunedOrigin({ origin }: { origin: NonNullable<Model["fine_tuned"]> }) {
  const jobId = idOf(origin.job ?? "");
  const metrics = origin.metrics ?? {};
  return (
    <p className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 text-sm text-slate-700">
      <span>
        Fine-tuned from <span className="font-mono text-xs">{origin.base_model}</span> by job{" "}
        <Link to={`/jobs/${jobId}`} className="font-medium text-indigo-700 underline">{jobId}</Link>
        {metrics.final_loss !== undefined && <>; final loss {fmtNumber(Number(metrics.final_loss))}</>}
        {metrics.final_validation_loss !== undefined && <>, validation {fmtNumber(Number(metrics.final_validation_loss))}</>}
      </span>
      <Link to={`/playground?job=${encodeURIComponent(jobId)}`} className="inline-flex items-center gap-1 text-indigo-700 underline">
        <MessageSquare className="size-4" aria-hidden />Try it in the playground
      </Link>
    </p>
  );
}

function Fact({ label, value }: { label: string; value?: string }) {
  if (!value) return null;
  return (
    <div className="flex gap-1">
      <dt className="text-slate-600">{label}</dt>
      <dd className="font-medium text-slate-800">{value}</dd>
    </div>
  );
}
