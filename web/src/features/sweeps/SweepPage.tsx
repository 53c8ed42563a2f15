// One sweep: what it searches and on what, its trials as a table and a chart of the objective per trial (the best
// highlighted), cancel while it runs, and promote a trial to a saved configuration to train with.
import { ArrowRight, Ban, Trophy } from "lucide-react";
import { useMemo } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { LINE_COLORS, OverlayChart, type OverlayLine } from "../../components/OverlayChart";
import { Button, Card, Empty, Loading, PageHeader, Stat } from "../../components/ui";
import type { Configuration, Sweep } from "../../lib/api";
import { fmtNumber, fmtTime, idOf } from "../../lib/format";
import { updateWorkflow } from "../../lib/workflow";
import { useCancelSweep, usePromoteTrial, useSweep, useTrials } from "./api/sweeps";
import { SweepStateBadge, algorithmLabel } from "./components/SweepStateBadge";
import { TrialsTable } from "./components/TrialsTable";
import { bestSoFar, describeRange, searchedParameters, trialLoss, valueText, type Trial } from "./trials";

export function SweepPage() {
  const { sweepId = "" } = useParams();
  const sweep = useSweep(sweepId);
  const live = sweep.data?.state === "SWEEP_STATE_RUNNING";
  const trials = useTrials(sweepId, live);
  const cancel = useCancelSweep(sweepId);
  const promote = usePromoteTrial(sweepId);

  if (sweep.error) {
    return (
      <>
        <PageHeader title={`Sweep ${sweepId}`} />
        <ErrorMessage error={sweep.error} title="The sweep could not be loaded" onRetry={() => sweep.refetch()} />
        <p className="mt-3 text-sm"><Link className="text-indigo-700 underline" to="/sweeps">All sweeps</Link></p>
      </>
    );
  }
  if (!sweep.data) return <Loading label={`Loading sweep ${sweepId}…`} />;
  const s = sweep.data;
  const list = trials.data?.trials ?? [];
  const best = s.best_trial;
  const promoting = promote.isPending ? (promote.variables ?? "best") : undefined;
  return (
    <>
      <PageHeader title={s.display_name || sweepId}
        description={<span className="flex flex-wrap items-center gap-2"><SweepStateBadge state={s.state} />{algorithmLabel(s.algorithm)} search
          <span className="font-mono text-xs text-slate-500">{sweepId}</span></span>}
        actions={
          <>
            <Button variant="danger" icon={<Ban className="size-4" aria-hidden />} busy={cancel.isPending} disabled={!live}
              onClick={() => cancel.mutate()}>Cancel sweep</Button>
            <Button variant="primary" icon={<Trophy className="size-4" aria-hidden />} busy={promoting === "best"} disabled={!best}
              onClick={() => promote.mutate(undefined)}>Promote best trial</Button>
          </>
        } />
      <div className="flex flex-col gap-4">
        {cancel.error ? <ErrorMessage error={cancel.error} title="The sweep was not cancelled" /> : null}
        {promote.error ? <ErrorMessage error={promote.error} title="The trial was not promoted" /> : null}
        {s.error ? <ErrorMessage error={{ message: s.error, reason: "SWEEP_FAILED" }} title="The sweep failed" /> : null}
        {promote.data && <Promoted configuration={promote.data} sweep={s} />}
        <Summary sweep={s} />
        <Card title="Objective per trial">
          <TrialsChart trials={list} best={best?.number} />
        </Card>
        <Card title={`Trials (${list.length} of at most ${s.max_trials})`}>
          {trials.error ? <ErrorMessage error={trials.error} title="The trials could not be listed" onRetry={() => trials.refetch()} /> : null}
          {trials.isPending ? <Loading label="Loading the trials…" /> : list.length === 0 ? (
            <Empty title={live ? "The first trial is starting" : "This sweep ran no trial"}>
              {live ? "Trials appear here as their jobs are queued; each runs as a real job." : null}
            </Empty>
          ) : (
            <TrialsTable trials={list} parameters={searchedParameters(s)} bestNumber={best?.number} pruning={s.pruning}
              promoting={promoting} onPromote={(n) => promote.mutate(n)} />
          )}
        </Card>
      </div>
    </>
  );
}

function Summary({ sweep: s }: { sweep: Sweep }) {
  const fixed = Object.entries(s.configuration?.hyperparameters ?? {})
    .filter(([k, v]) => k !== "uid" && v !== undefined && !(Array.isArray(v) && v.length === 0));
  return (
    <Card title="What it searches">
      <dl className="grid grid-cols-2 gap-4 md:grid-cols-4 xl:grid-cols-6">
        <Stat label="Completed" value={`${s.completed_trials ?? 0} of ${s.max_trials}`} />
        <Stat label="Pruned" value={s.pruned_trials ?? 0} hint={s.pruning ? "pruning on" : "pruning off"} />
        <Stat label="Failed" value={s.failed_trials ?? 0} />
        <Stat label="Best validation loss" value={s.best_trial ? fmtNumber(s.best_trial.validation_loss, 5) : "—"}
          hint={s.best_trial ? `trial #${s.best_trial.number ?? 0}` : undefined} />
        <Stat label="At once" value={s.parallel_trials ?? 1} />
        <Stat label="Created" value={<span className="whitespace-normal text-sm">{fmtTime(s.create_time)}</span>}
          hint={s.end_time ? `ended ${fmtTime(s.end_time)}` : undefined} />
      </dl>
      <div className="mt-4 grid grid-cols-1 gap-4 text-sm md:grid-cols-3">
        <div>
          <p className="text-xs font-medium uppercase tracking-wide text-slate-500">Ranges</p>
          <ul className="mt-1">
            {(s.search_space ?? []).map((r, i) => (
              <li key={i}><span className="font-mono">{r.parameter}</span>: {describeRange(r)}</li>
            ))}
          </ul>
        </div>
        <div>
          <p className="text-xs font-medium uppercase tracking-wide text-slate-500">Model and data</p>
          <p className="mt-1 font-mono break-all">{s.configuration?.model?.uid}</p>
          <p className="font-mono break-all">{s.configuration?.dataset?.name || s.configuration?.dataset?.uid}</p>
        </div>
        <div>
          <p className="text-xs font-medium uppercase tracking-wide text-slate-500">Fixed values</p>
          <p className="mt-1 font-mono text-xs">
            {fixed.length ? fixed.map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(",") : v}`).join(" · ") : "every other value at its default"}
          </p>
        </div>
      </div>
    </Card>
  );
}

const integerTick = (v: number) => `#${v}`;

function TrialsChart({ trials, best }: { trials: Trial[]; best?: number }) {
  const lines = useMemo((): OverlayLine[] => {
    const x = trials.map((t) => t.number ?? 0);
    const losses = trials.map((t) => {
      const loss = trialLoss(t);
      return Number.isFinite(loss) ? loss : null;
    });
    const bestTrial = trials.find((t) => t.number === best);
    return [
      { key: "loss", label: "Validation loss", color: LINE_COLORS[0], x, y: losses, points: true },
      { key: "best-so-far", label: "Best so far", color: LINE_COLORS[2], x, y: bestSoFar(trials), dash: [6, 4] },
      ...(bestTrial ? [{ key: "best", label: `Best trial (#${bestTrial.number ?? 0})`, color: LINE_COLORS[3], x: [bestTrial.number ?? 0],
        y: [trialLoss(bestTrial)], points: true }] : []),
    ];
  }, [trials, best]);
  return (
    <OverlayChart title="Final validation loss by trial" lines={lines} xLabel="trial" integerX xFormat={integerTick} height={220}
      empty="No trial has finished yet: each point is a trial's final validation loss." valueFormat={(v) => fmtNumber(v, 4)} />
  );
}

function Promoted({ configuration: c, sweep }: { configuration: Configuration; sweep: Sweep }) {
  const navigate = useNavigate();
  const startJob = () => {
    const model = sweep.configuration?.model;
    const dataset = sweep.configuration?.dataset;
    updateWorkflow({
      model: model?.uid ? { uid: model.uid, name: model.name || model.uid } : undefined,
      dataset: dataset?.uid ? { uid: dataset.uid, name: dataset.name || dataset.uid } : undefined,
      configuration: { uid: c.uid, hyperparameters: c.hyperparameters ?? {} },
    });
    navigate("/jobs/new");
  };
  const h = c.hyperparameters ?? {};
  return (
    <div role="status" className="rounded-lg bg-emerald-50 p-4 text-sm text-emerald-950 ring-1 ring-emerald-200">
      <p className="font-medium">Saved as configuration <span className="font-mono" data-testid="promoted-uid">{c.uid}</span></p>
      <p className="mt-0.5">{c.display_name}{c.best_job ? ` · validation loss ${fmtNumber(c.best_validation_loss, 5)} in job ${idOf(c.best_job)}` : ""}</p>
      <p className="mt-1 font-mono text-xs">
        learning_rate {valueText(h.learning_rate)} · batch_size {h.batch_size} · epochs {h.epochs} · lora_r {h.lora_r} · lora_alpha {h.lora_alpha}
        {h.max_steps ? ` · max_steps ${h.max_steps}` : ""}
      </p>
      <div className="mt-3 flex flex-wrap gap-2">
        <Link to={`/configure?configuration=${encodeURIComponent(c.uid ?? "")}`}
          className="inline-flex items-center rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 shadow-sm ring-1 ring-slate-300 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-indigo-600">
          Open in Configure
        </Link>
        <Button variant="primary" icon={<ArrowRight className="size-4" aria-hidden />} onClick={startJob}>Create a job with it</Button>
      </div>
    </div>
  );
}
