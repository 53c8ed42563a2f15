// This machine as training sees it: RAM used and total, each GPU's memory, or a plain "no GPU".
import { ErrorMessage } from "../../../components/ErrorMessage";
import { ProgressBar } from "../../../components/ui";
import { fmtBytes, fmtPercent } from "../../../lib/format";
import { useMachine } from "../api/models";

export function MachinePanel() {
  const { resources, capacity } = useMachine();
  const r = resources.data;
  const gpus = r?.gpus ?? [];
  return (
    <div className="flex flex-col gap-2 text-sm" aria-label="This machine" role="group">
      <p className="text-xs font-medium uppercase tracking-wide text-slate-500">This machine</p>
      {resources.error ? <ErrorMessage error={resources.error} title="The trainer's resources could not be read" /> : null}
      {!r && !resources.error && <p className="text-slate-500">Reading the trainer's resources…</p>}
      {r && (
        <>
          <div>
            <p className="mb-1 text-slate-700">
              RAM: {fmtBytes(r.memory_used_bytes)} used of {fmtBytes(r.memory_total_bytes)} ({fmtPercent(r.memory_percent)}), {r.cpu_count} CPU cores
            </p>
            <ProgressBar percent={r.memory_percent ?? 0} label="RAM in use" />
          </div>
          {gpus.length === 0 ? (
            <p className="text-slate-700">No GPU: training runs on the CPU.</p>
          ) : gpus.map((g) => {
            const percent = g.memory_total_bytes ? (100 * (g.memory_used_bytes ?? 0)) / g.memory_total_bytes : 0;
            return (
              <div key={g.index}>
                <p className="mb-1 text-slate-700">GPU {g.index} {g.name}: {fmtBytes(g.memory_used_bytes)} used of {fmtBytes(g.memory_total_bytes)}</p>
                <ProgressBar percent={percent} label={`GPU ${g.index} memory in use`} />
              </div>
            );
          })}
        </>
      )}
      {capacity.data && (
        <p className="text-xs text-slate-500">
          The trainer runs up to {capacity.data.max_concurrent_runs} job{capacity.data.max_concurrent_runs === 1 ? "" : "s"} at once
          ({capacity.data.active_runs ?? 0} running{capacity.data.gpu_count ? `, ${capacity.data.gpu_count} GPUs` : ""}).
        </p>
      )}
    </div>
  );
}
