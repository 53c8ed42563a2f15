// A sweep's trials: each one's values of the searched parameters, state, final validation loss and job; the
// best trial marked; any completed trial can be promoted to a saved configuration.
import { Trophy } from "lucide-react";
import { Link } from "react-router";
import { Badge, Button, TABLE, TD, TableHead, cx } from "../../../components/ui";
import { enumLabel, fmtInt, fmtNumber, idOf } from "../../../lib/format";
import { trialLoss, trialValue, type Trial } from "../trials";

const STATE_TONE = {
  TRIAL_STATE_RUNNING: "blue",
  TRIAL_STATE_COMPLETED: "green",
  TRIAL_STATE_PRUNED: "amber",
  TRIAL_STATE_FAILED: "red",
} as const;

export interface TrialsTableProps {
  trials: Trial[];
  parameters: string[];
  bestNumber?: number;
  /** Whether the sweep prunes: only then do trials report validation losses along the way. */
  pruning?: boolean;
  promoting?: number | "best";
  onPromote: (trialNumber: number) => void;
}

export function TrialsTable({ trials, parameters, bestNumber, pruning, promoting, onPromote }: TrialsTableProps) {
  return (
    <div className="overflow-x-auto">
      <table className={TABLE} aria-label="Trials">
        <TableHead columns={["Trial", "State", ...parameters.map((p) => ({ key: p, label: p, className: "font-mono normal-case" })),
          "Validation loss", ...(pruning ? ["Last reported step"] : []), "Job", { key: "actions", label: <span className="sr-only">Actions</span> }]} />
        <tbody className="divide-y divide-slate-100">
          {trials.map((t) => {
            const best = t.number === bestNumber;
            const number = t.number ?? 0;
            return (
              <tr key={number} className={best ? "bg-amber-50" : undefined} aria-current={best ? "true" : undefined}>
                <td className={cx(TD, "tabular-nums")}>
                  <span className="flex items-center gap-1.5">
                    #{number}
                    {best && <Badge tone="amber"><Trophy className="size-3" aria-hidden />Best</Badge>}
                  </span>
                </td>
                <td className={TD}>
                  <Badge tone={STATE_TONE[t.state as keyof typeof STATE_TONE] ?? "gray"}>{enumLabel(t.state, "TRIAL_STATE_")}</Badge>
                </td>
                {parameters.map((p) => <td key={p} className={cx(TD, "font-mono tabular-nums")}>{trialValue(t, p)}</td>)}
                <td className={cx(TD, "tabular-nums", best && "font-semibold")}>{fmtNumber(trialLoss(t), 5)}</td>
                {pruning && <td className={cx(TD, "tabular-nums")}>{t.last_reported_step ? fmtInt(t.last_reported_step) : "—"}</td>}
                <td className={TD}>
                  {t.job ? <Link to={`/jobs/${idOf(t.job)}`} className="font-mono text-xs text-indigo-700 underline">{idOf(t.job)}</Link> : "—"}
                </td>
                <td className={TD}>
                  {t.state === "TRIAL_STATE_COMPLETED" && (
                    <Button className="px-2 py-1 text-xs" busy={promoting === number} onClick={() => onPromote(number)}
                      aria-label={`Promote trial ${number}`}>
                      Promote
                    </Button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
