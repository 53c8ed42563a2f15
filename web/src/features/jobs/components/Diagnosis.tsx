// The trainer's diagnosis of the run's curves (convergence, instability, gradients), with advice; and, on
// request while it runs, a profile of its next steps: where a step's time goes.
import { Gauge } from "lucide-react";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Badge, Button, Card, Loading } from "../../../components/ui";
import type { Schemas } from "../../../lib/api";
import { fmtBytes, fmtNumber } from "../../../lib/format";
import { useDiagnosis, useProfile } from "../api/jobs";

const PROFILE_STEPS = 5;

export function Diagnosis({ jobId, running }: { jobId: string; running: boolean }) {
  const diagnosis = useDiagnosis(jobId, true);
  const profile = useProfile(jobId);
  return (
    <Card title="Diagnosis" actions={
      <div className="flex items-center gap-3">
        <Button icon={<Gauge className="size-4" aria-hidden />} disabled={!running} busy={profile.isPending}
          title={running ? undefined : "Profiling needs a running job"} onClick={() => profile.mutate(PROFILE_STEPS)}>
          Profile {PROFILE_STEPS} steps
        </Button>
        <button type="button" className="text-sm text-indigo-700 underline" onClick={() => void diagnosis.refetch()}>Run again</button>
      </div>}>
      {profile.isError && <ErrorMessage title="Could not profile the run" error={profile.error} />}
      {diagnosis.isPending ? <Loading label="Diagnosing…" /> : diagnosis.isError ? (
        <ErrorMessage title="Could not diagnose the run" error={diagnosis.error} />
      ) : (
        <>
          <p className="text-sm font-medium">{diagnosis.data.summary || "Training appears healthy."}</p>
          <ul className="mt-3 flex flex-col gap-2" aria-label="Findings">
            {diagnosis.data.findings?.map((f, i) => (
              <li key={i} className="rounded-md bg-slate-50 p-3 text-sm ring-1 ring-slate-200">
                <div className="flex items-center gap-2">
                  <Badge tone={f.severity === "error" ? "red" : f.severity === "warning" ? "amber" : "gray"}>{f.severity}</Badge>
                  <span className="font-mono text-xs text-slate-500">{f.code}</span>
                </div>
                <p className="mt-1">{f.message}</p>
                {f.suggestion && <p className="mt-1 text-xs text-slate-600">What to do: {f.suggestion}</p>}
              </li>
            ))}
          </ul>
          {diagnosis.data.profile?.phases?.length ? <StepProfile profile={diagnosis.data.profile} /> : null}
        </>
      )}
    </Card>
  );
}

function StepProfile({ profile }: { profile: Schemas["finetune.trainer.v1.StepProfile"] }) {
  return (
    <section className="mt-4" aria-label="Step profile">
      <h3 className="text-sm font-semibold">
        Where steps {profile.first_step} to {profile.last_step} spent their {fmtNumber(profile.wall_seconds ?? 0)} s
      </h3>
      <table className="mt-2 w-full max-w-xl text-sm" aria-label="Time by phase">
        <thead><tr className="text-left text-xs text-slate-600"><th className="py-1">Phase</th><th>Seconds</th><th>Share</th></tr></thead>
        <tbody>
          {profile.phases?.map((p) => (
            <tr key={p.phase} className="border-t border-slate-100">
              <td className="py-1 font-medium">{p.phase}</td>
              <td className="tabular-nums">{fmtNumber(p.seconds ?? 0)}</td>
              <td className="w-1/2">
                <div className="flex items-center gap-2">
                  <div className="h-2 flex-1 rounded bg-slate-100"><div className="h-2 rounded bg-indigo-500" style={{ width: `${Math.min(100, p.percent ?? 0)}%` }} /></div>
                  <span className="w-10 text-right tabular-nums">{Math.round(p.percent ?? 0)}%</span>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="mt-2 text-xs text-slate-600">
        Peak memory {fmtBytes(Number(profile.peak_memory_bytes ?? 0))} on {profile.device}; longest operators:{" "}
        {profile.top_operators?.slice(0, 4).map((o) => `${o.name} (${fmtNumber(o.self_seconds ?? 0)} s)`).join(", ")}
      </p>
    </section>
  );
}
