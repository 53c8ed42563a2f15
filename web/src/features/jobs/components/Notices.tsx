// Alerts (with what to do about them) and the run's log lines, newest last, as they stream in.
import { AlertOctagon, AlertTriangle } from "lucide-react";
import { Card, Empty } from "../../../components/ui";
import { useSeriesVersion } from "../../../hooks/useSeriesVersion";
import { enumLabel, fmtNumber, fmtTime } from "../../../lib/format";
import type { RunSeries } from "../../../lib/runSeries";

const MAX_LOG_LINES = 300;

export function Notices({ series }: { series: RunSeries }) {
  useSeriesVersion(series, 500);
  const alerts = series.notices.filter((n) => n.kind === "alert");
  const lines = series.notices.filter((n) => n.kind !== "alert" && n.kind !== "summary").slice(-MAX_LOG_LINES);
  return (
    <div className="grid gap-5 lg:grid-cols-2">
      <Card title={`Alerts (${alerts.length})`}>
        {alerts.length === 0 ? <Empty title="No alert: no threshold crossed." /> : (
          <ul className="flex flex-col gap-2" aria-label="Alerts">
            {alerts.map(({ seq, time, event }) => {
              const a = event.alert!;
              const critical = a.level === "ALERT_LEVEL_CRITICAL";
              const Icon = critical ? AlertOctagon : AlertTriangle;
              return (
                <li key={seq} className={`rounded-md p-3 text-sm ring-1 ${critical ? "bg-red-50 text-red-900 ring-red-200" : "bg-amber-50 text-amber-950 ring-amber-200"}`}>
                  <p className="flex items-center gap-2 font-medium">
                    <Icon className="size-4" aria-hidden /> {enumLabel(a.level)}: {a.code}
                    <time className="ml-auto text-xs font-normal" dateTime={time}>{fmtTime(time)}</time>
                  </p>
                  <p className="mt-1">{a.message}{a.threshold ? ` (value ${fmtNumber(a.value)}, threshold ${fmtNumber(a.threshold)})` : ""}</p>
                  {a.suggestion && <p className="mt-1 text-xs">What to do: {a.suggestion}</p>}
                </li>
              );
            })}
          </ul>
        )}
      </Card>
      <Card title="Log">
        {lines.length === 0 ? <Empty title="No log line yet." /> : (
          <ol className="max-h-80 overflow-y-auto rounded bg-slate-950 p-3 font-mono text-xs leading-relaxed text-slate-100" aria-label="Log lines" tabIndex={0}>
            {lines.map(({ seq, time, kind, event }) => (
              <li key={seq} className="break-words">
                <span className="text-slate-400">{new Date(time).toLocaleTimeString()} </span>
                {kind === "log" && <><span className={event.log?.level === "error" ? "text-red-300" : event.log?.level === "warning" ? "text-amber-300" : "text-sky-300"}>{event.log?.level}</span> {event.log?.message}</>}
                {kind === "state" && <><span className="text-emerald-300">state</span> {enumLabel(event.state?.state)}{event.state?.message ? `: ${event.state.message}` : ""}</>}
                {kind === "checkpoint" && <><span className="text-violet-300">checkpoint</span> step {event.checkpoint?.step}</>}
              </li>
            ))}
          </ol>
        )}
      </Card>
    </div>
  );
}
