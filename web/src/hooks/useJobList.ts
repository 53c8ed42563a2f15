// The job list as several pages show it (compare's picker, the playground's models, the overview's recent
// jobs): newest first, polled while any job listed is still moving so states and progress stay current.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Job, type JobState } from "../lib/api";

export const FINAL_STATES: readonly JobState[] = ["JOB_STATE_COMPLETED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"];

export function isFinal(state: JobState | undefined): boolean {
  return !!state && FINAL_STATES.includes(state);
}

export interface JobListOptions {
  state?: JobState;
  pageSize?: number;
  /** Poll this often (ms) while a listed job is not in a final state; 0: never. */
  activeIntervalMs?: number;
}

export function useJobList({ state, pageSize = 200, activeIntervalMs = 3000 }: JobListOptions = {}) {
  return useQuery({
    queryKey: ["jobs", "list", { state: state ?? "", pageSize }],
    queryFn: () => unwrap(api.GET("/v1/jobs", { params: { query: { page_size: pageSize, ...(state ? { state } : {}) } } })),
    refetchInterval: (query) => {
      const jobs: Job[] = query.state.data?.jobs ?? [];
      return activeIntervalMs && jobs.some((j) => !isFinal(j.state)) ? activeIntervalMs : 15_000;
    },
  });
}
