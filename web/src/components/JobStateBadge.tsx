// A job's state as a coloured badge (`JOB_STATE_RUNNING` -> "Running", blue).
import type { JobState } from "../lib/api";
import { enumLabel } from "../lib/format";
import { Badge } from "./ui";

const TONE: Record<string, "gray" | "blue" | "green" | "amber" | "red" | "indigo"> = {
  JOB_STATE_CREATED: "gray",
  JOB_STATE_QUEUED: "gray",
  JOB_STATE_RUNNING: "blue",
  JOB_STATE_PAUSED: "amber",
  JOB_STATE_COMPLETED: "green",
  JOB_STATE_FAILED: "red",
  JOB_STATE_CANCELLED: "gray",
};

export function JobStateBadge({ state }: { state: JobState | string | undefined }) {
  return <Badge tone={TONE[state ?? ""] ?? "gray"}>{enumLabel(state, "JOB_STATE_")}</Badge>;
}
