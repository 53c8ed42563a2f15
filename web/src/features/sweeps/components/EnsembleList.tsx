// Ensembles (the guide's multi-model ensemble): each with its members' seeds, learning rates, states and
// validation losses, the voting rule, a link into the playground, and its evaluation on the validation split.
import { MessageSquare } from "lucide-react";
import { Link } from "react-router";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Badge, Button, Card, TABLE, TD, TableHead, cx } from "../../../components/ui";
import { fmtNumber, idOf } from "../../../lib/format";
import { useEvaluateEnsemble, type Ensemble } from "../api/ensembles";

const TONE = { running: "blue", completed: "green", failed: "red", cancelled: "amber" } as const;

export function EnsembleList({ ensembles }: { ensembles: Ensemble[] }) {
  return (
    <div className="flex flex-col gap-4">
      {ensembles.map((e) => <EnsembleCard key={e.name} ensemble={e} />)}
    </div>
  );
}

function EnsembleCard({ ensemble: e }: { ensemble: Ensemble }) {
  const id = idOf(e.name);
  const evaluation = useEvaluateEnsemble(id);
  const scores = new Map((evaluation.data?.members ?? []).map((m) => [m.job, m.exact_match ?? 0]));
  const ready = e.members?.some((m) => m.state === "JOB_STATE_COMPLETED");
  return (
    <Card title={<span className="flex items-center gap-2">{e.display_name || id}
      <Badge tone={TONE[e.state as keyof typeof TONE] ?? "gray"}>{e.state}</Badge></span>}
      actions={<div className="flex items-center gap-3">
        <Button busy={evaluation.isPending} disabled={!ready} onClick={() => evaluation.mutate()}>Evaluate</Button>
        {ready && <Link to={`/playground?job=${encodeURIComponent(e.name ?? "")}`} className="inline-flex items-center gap-1 text-sm text-indigo-700 underline">
          <MessageSquare className="size-4" aria-hidden />Ask it</Link>}
      </div>}>
      <p className="-mt-2 mb-3 text-xs text-slate-600">{e.size} members of {e.configuration?.model?.uid}; answers by {e.rule}.</p>
      <div className="overflow-x-auto">
        <table className={TABLE} aria-label={`Members of ${e.display_name || id}`}>
          <TableHead columns={["Member", "Seed", "Learning rate", "State", "Validation loss", ...(evaluation.data ? ["Exact answers"] : [])]} />
          <tbody className="divide-y divide-slate-100">
            {e.members?.map((m) => (
              <tr key={m.job}>
                <td className={TD}><Link to={`/jobs/${idOf(m.job)}`} className="font-mono text-xs text-indigo-700 underline">{idOf(m.job)}</Link></td>
                <td className={cx(TD, "tabular-nums")}>{m.seed}</td>
                <td className={cx(TD, "tabular-nums")}>{fmtNumber(m.learning_rate)}</td>
                <td className={TD}>{(m.state ?? "").replace("JOB_STATE_", "").toLowerCase()}</td>
                <td className={cx(TD, "tabular-nums")}>{m.final_validation_loss !== undefined ? fmtNumber(m.final_validation_loss, 5) : "—"}</td>
                {evaluation.data && <td className={cx(TD, "tabular-nums")}>{scores.has(m.job) ? `${Math.round(100 * (scores.get(m.job) ?? 0))}%` : "—"}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {evaluation.data && (
        <p className="mt-2 text-sm font-medium" role="status">
          The ensemble answers {Math.round(100 * (evaluation.data.ensemble_exact_match ?? 0))}% of {evaluation.data.rows} validation rows exactly.
        </p>
      )}
      {evaluation.isError && <ErrorMessage title="Could not evaluate the ensemble" error={evaluation.error} />}
    </Card>
  );
}
