// The machine while the run trains: CPU, memory and the worker's memory, per-GPU utilisation, memory,
// temperature and power, or plainly "No GPU"; with the CPU and memory history beside it.
import { Cpu, MemoryStick, Thermometer, Zap } from "lucide-react";
import { LiveChart, type LineSpec } from "../../../components/LiveChart";
import { Card, ProgressBar, Stat } from "../../../components/ui";
import { useSeriesVersion } from "../../../hooks/useSeriesVersion";
import { fmtBytes, fmtNumber, fmtPercent, num } from "../../../lib/format";
import type { RunSeries } from "../../../lib/runSeries";

const CPU_HISTORY: LineSpec[] = [
  { label: "CPU %", color: "#4f46e5", values: (s) => s.cpu },
  { label: "memory %", color: "#0d9488", values: (s) => s.memory },
];
const GPU_HISTORY: LineSpec[] = [
  ...CPU_HISTORY,
  { label: "GPU %", color: "#ea580c", values: (s) => s.gpuUtilization },
  { label: "GPU memory %", color: "#a16207", values: (s) => s.gpuMemory },
];
const percentFormat = (v: number) => `${v.toFixed(0)}%`;

export function ResourcePanel({ series }: { series: RunSeries }) {
  useSeriesVersion(series, 500);
  const r = series.latestResources;
  if (!r) {
    return (
      <Card title="Resources">
        <p className="text-sm text-slate-600" role="status">No resource sample yet: they arrive about once a second while the worker runs.</p>
      </Card>
    );
  }
  const gpus = r.gpus ?? [];
  return (
    <Card title={r.node ? `Resources of node ${r.node}` : "Resources"}>
      <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
        <Stat label="CPU" value={fmtPercent(r.cpu_percent)} hint={`${r.cpu_count ?? "?"} cores`} />
        <Stat label="Memory" value={fmtPercent(r.memory_percent)} hint={`${fmtBytes(r.memory_used_bytes)} of ${fmtBytes(r.memory_total_bytes)}`} />
        {/* 0 in a sample taken as the worker exited: no process to measure, not an empty one */}
        <Stat label="Worker memory" value={num(r.process_rss_bytes) > 0 ? fmtBytes(r.process_rss_bytes) : "—"}
              hint={num(r.process_rss_bytes) > 0 ? "resident set" : "no worker running"} />
        <Stat label="Disk" value={fmtPercent(r.disk_percent)} hint={`read ${fmtBytes(r.disk_read_bytes_per_second)}/s`} />
      </dl>
      <div className="mt-4">
        {gpus.length === 0 ? (
          <p className="flex items-center gap-2 text-sm text-slate-600"><Cpu className="size-4" aria-hidden /> No GPU: this run trains on the CPU.</p>
        ) : (
          <ul className="grid gap-3 md:grid-cols-2" aria-label="GPUs">
            {gpus.map((g) => (
              <li key={g.index} className="rounded-md bg-slate-50 p-3 ring-1 ring-slate-200">
                <p className="text-sm font-medium">GPU {g.index}: {g.name}</p>
                <div className="mt-2"><ProgressBar percent={num(g.utilization_percent)} label={`GPU ${g.index} utilisation`} /></div>
                <p className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-700">
                  <span>{fmtPercent(g.utilization_percent)} busy</span>
                  <span className="flex items-center gap-1"><MemoryStick className="size-3" aria-hidden />{fmtBytes(g.memory_used_bytes)} / {fmtBytes(g.memory_total_bytes)}</span>
                  <span className="flex items-center gap-1"><Thermometer className="size-3" aria-hidden />{fmtNumber(g.temperature_celsius, 3)} °C</span>
                  <span className="flex items-center gap-1"><Zap className="size-3" aria-hidden />{fmtNumber(g.power_watts, 3)} W</span>
                </p>
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="mt-4">
        <LiveChart title="Utilisation history" series={series} lines={gpus.length ? GPU_HISTORY : CPU_HISTORY} x="resources" height={160} valueFormat={percentFormat} />
      </div>
    </Card>
  );
}
