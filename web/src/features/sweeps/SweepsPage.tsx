// Stage 3's automated mode, afterwards: every sweep with its state, trials and best validation loss.
import { FlaskConical } from "lucide-react";
import { Link } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Empty, Loading, PageHeader, TABLE, TD, TableHead, cx } from "../../components/ui";
import { fmtNumber, idOf, timeAgo } from "../../lib/format";
import { useEnsembles } from "./api/ensembles";
import { useSweeps } from "./api/sweeps";
import { EnsembleList } from "./components/EnsembleList";
import { SweepStateBadge, algorithmLabel } from "./components/SweepStateBadge";
import { describeRange } from "./trials";

export function SweepsPage() {
  const sweeps = useSweeps();
  const list = sweeps.data?.sweeps ?? [];
  const ensembles = useEnsembles();
  return (
    <>
      <PageHeader title="Sweeps"
        description="Hyperparameter searches: each trial is a real job, ranked by its final validation loss. Start one from Configure's automated mode."
        actions={<Link to="/configure?mode=automated" className="inline-flex items-center gap-1.5 rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600">
          <FlaskConical className="size-4" aria-hidden />New sweep</Link>} />
      {sweeps.error ? <ErrorMessage error={sweeps.error} title="The sweeps could not be listed" onRetry={() => sweeps.refetch()} /> : null}
      {sweeps.isPending ? <Loading label="Loading the sweeps…" /> : list.length === 0 && !sweeps.error ? (
        <Empty title="No sweep yet">
          Open <Link className="text-indigo-700 underline" to="/configure?mode=automated">Configure in automated mode</Link>, give ranges, and start one.
        </Empty>
      ) : list.length > 0 && (
        <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
          <table className={TABLE} aria-label="Sweeps">
            <TableHead columns={["Sweep", "State", "Search", "Trials", "Best validation loss", "Created"]} />
            <tbody className="divide-y divide-slate-100">
              {list.map((s) => {
                const id = idOf(s.name);
                return (
                  <tr key={id}>
                    <td className={TD}>
                      <Link to={`/sweeps/${id}`} className="font-medium text-indigo-700 underline">{s.display_name || id}</Link>
                      <span className="block font-mono text-xs text-slate-500">{id}</span>
                    </td>
                    <td className={TD}><SweepStateBadge state={s.state} /></td>
                    <td className={TD}>
                      {algorithmLabel(s.algorithm)}
                      <span className="block text-xs text-slate-600">
                        {(s.search_space ?? []).map((r) => `${r.parameter}: ${describeRange(r)}`).join("; ")}
                      </span>
                    </td>
                    <td className={cx(TD, "tabular-nums")}>
                      {s.completed_trials ?? 0} of {s.max_trials} done
                      {s.pruned_trials ? `, ${s.pruned_trials} pruned` : ""}{s.failed_trials ? `, ${s.failed_trials} failed` : ""}
                    </td>
                    <td className={cx(TD, "tabular-nums")}>
                      {s.best_trial ? `${fmtNumber(s.best_trial.validation_loss, 5)} (trial #${s.best_trial.number ?? 0})` : "—"}
                    </td>
                    <td className={TD} title={s.create_time}>{timeAgo(s.create_time)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <section className="mt-8" aria-labelledby="ensembles-heading">
        <h2 id="ensembles-heading" className="mb-1 text-lg font-semibold text-slate-900">Ensembles</h2>
        <p className="mb-3 text-sm text-slate-600">One configuration trained with several seeds, answering as one model by majority vote
          (<code>finetune ensembles create</code>, <code>POST /v1/ensembles</code>).</p>
        {ensembles.error ? <ErrorMessage error={ensembles.error} title="The ensembles could not be listed" /> : null}
        {ensembles.isPending ? <Loading label="Loading the ensembles…" /> : (ensembles.data?.ensembles ?? []).length === 0 ? (
          <p className="text-sm text-slate-600">No ensemble yet.</p>
        ) : <EnsembleList ensembles={ensembles.data?.ensembles ?? []} />}
      </section>
    </>
  );
}
