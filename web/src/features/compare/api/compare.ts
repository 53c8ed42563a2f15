// Compare's server state: the CompareJobs answer (metrics, differences, best per metric) and each job's
// curves (GetRunMetrics), both refetched while a compared job is still training.
import { useQueries, useQuery } from "@tanstack/react-query";
import { isFinal } from "../../../hooks/useJobList";
import { api, unwrap, type JobState, type Schemas } from "../../../lib/api";
import { fetchRunMetrics } from "../../../lib/useRunStream";

export type Comparison = Schemas["finetune.jobs.v1.CompareJobsResponse"];
export type ComparedJob = Schemas["finetune.jobs.v1.ComparedJob"];

const LIVE_MS = 3000;

export function useComparison(jobIds: string[]) {
  return useQuery({
    queryKey: ["jobs", "compare", jobIds],
    queryFn: () => unwrap(api.POST("/v1/jobs:compare", { body: { job_ids: jobIds, metrics: [] } })),
    enabled: jobIds.length >= 2,
    refetchInterval: (query) =>
      (query.state.data?.jobs ?? []).some((j) => !isFinal(j.state as JobState)) ? LIVE_MS : false,
  });
}

/** Each job's run history, in the order given; `live` says which jobs may still be adding points. */
export function useRunsMetrics(jobIds: string[], live: (jobId: string) => boolean) {
  return useQueries({
    queries: jobIds.map((id) => ({
      queryKey: ["runs", id, "metrics"],
      queryFn: async () => (await fetchRunMetrics(id)) ?? null, // null: no run yet (queued)
      refetchInterval: live(id) ? LIVE_MS : (false as const),
    })),
  });
}
