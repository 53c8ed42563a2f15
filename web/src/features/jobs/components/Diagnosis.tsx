// The trainer's diagnosis of the run's curves (convergence, instability, gradients), with advice.
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Badge, Card, Loading } from "../../../components/ui";
import { useDiagnosis } from "../api/jobs";

export function Diagnosis({ jobId }: { jobId: string }) {
  const diagnosis = useDiagnosis(jobId, true);
  return (
    <Card title="Diagnosis" actions={<button type="button" className="text-sm text-indigo-700 underline" onClick={() => void diagnosis.refetch()}>Run again</button>}>
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
        </>
      )}
    </Card>
  );
}
