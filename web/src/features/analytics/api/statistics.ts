// GetJobStatistics over a window ending now, refetched so throughput and queue numbers stay current.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../lib/api";

export type JobStatistics = Schemas["finetune.jobs.v1.JobStatistics"];

export const WINDOWS = [
  { days: 1, label: "Last 24 hours" },
  { days: 7, label: "Last 7 days" },
  { days: 30, label: "Last 30 days" },
  { days: 365, label: "Last year" },
] as const;

export function useStatistics(days: number) {
  return useQuery({
    queryKey: ["jobs", "statistics", days],
    queryFn: () => unwrap(api.GET("/v1/jobs:statistics", {
      params: { query: { start_time: new Date(Date.now() - days * 86_400_000).toISOString() } },
    })),
    refetchInterval: 10_000,
  });
}
