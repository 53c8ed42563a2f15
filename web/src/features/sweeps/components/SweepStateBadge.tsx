// A sweep's state as a coloured badge.
import { Badge } from "../../../components/ui";
import type { Sweep } from "../../../lib/api";
import { enumLabel } from "../../../lib/format";

const TONE = {
  SWEEP_STATE_RUNNING: "blue",
  SWEEP_STATE_COMPLETED: "green",
  SWEEP_STATE_FAILED: "red",
  SWEEP_STATE_CANCELLED: "gray",
} as const;

export function SweepStateBadge({ state }: { state: Sweep["state"] }) {
  return <Badge tone={TONE[state as keyof typeof TONE] ?? "gray"}>{enumLabel(state, "SWEEP_STATE_")}</Badge>;
}

export function algorithmLabel(algorithm: Sweep["algorithm"]): string {
  return algorithm === "SEARCH_ALGORITHM_GRID" ? "Grid" : "Bayesian (Optuna)";
}
