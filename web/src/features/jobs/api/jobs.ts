// The jobs feature's server state: lists, one job (polled while it is alive), its run's controls and reads.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { isFinal } from "../../../hooks/useJobList";
import { api, request, unwrap, type Job, type JobState } from "../../../lib/api";
import { parsePythonJson } from "../../../lib/format";

export { isFinal };

export interface JobFilters {
  state?: JobState;
  tag?: string;
  pageToken?: string;
  pageSize?: number;
}

export function useJobs(filters: JobFilters) {
  return useQuery({
    queryKey: ["jobs", filters],
    queryFn: () => unwrap(api.GET("/v1/jobs", { params: { query: {
      page_size: filters.pageSize ?? 25, page_token: filters.pageToken || undefined, state: filters.state || undefined,
      tag: filters.tag || undefined,
    } } })),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.jobs?.some((j) => !isFinal(j.state)) ? 2_000 : 15_000),
  });
}

export function jobQuery(jobId: string) {
  return {
    queryKey: ["job", jobId],
    queryFn: () => unwrap(api.GET("/v1/jobs/{job_id}", { params: { path: { job_id: jobId } } })),
  };
}

export function useJob(jobId: string) {
  return useQuery({
    ...jobQuery(jobId),
    refetchInterval: (query) => (isFinal(query.state.data?.state) ? false : 1_500),
  });
}

type JobAction = "pause" | "resume" | "cancel";

/** Pause, resume and cancel go through the jobs service, which records the transition. */
export function useJobAction(jobId: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: async (action: JobAction): Promise<Job> => {
      const path = { params: { path: { job_id: jobId } } };
      if (action === "pause") return unwrap(api.POST("/v1/jobs/{job_id}:pause", { ...path, body: {} }));
      if (action === "resume") return unwrap(api.POST("/v1/jobs/{job_id}:resume", { ...path, body: {} }));
      return unwrap(api.POST("/v1/jobs/{job_id}:cancel", { ...path, body: { reason: "cancelled from the dashboard" } }));
    },
    onSuccess: (job) => {
      queries.setQueryData(["job", jobId], job);
      void queries.invalidateQueries({ queryKey: ["jobs"] });
    },
  });
}

/** Learning rate, checkpoint now and stop early act on the job's run in the trainer (the run is named after the job). */
export function useRunControl(jobId: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: async (control: { kind: "learningRate"; value: number } | { kind: "checkpoint" } | { kind: "stopEarly" }) => {
      const path = { params: { path: { run_id: jobId } } };
      if (control.kind === "learningRate") {
        return unwrap(api.POST("/v1/runs/{run_id}:setLearningRate", { ...path, body: { learning_rate: control.value } }));
      }
      if (control.kind === "checkpoint") return unwrap(api.POST("/v1/runs/{run_id}:saveCheckpoint", { ...path, body: {} }));
      return unwrap(api.POST("/v1/runs/{run_id}:stopEarly", { ...path, body: {} }));
    },
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["job", jobId] }),
  });
}

export function useDiagnosis(jobId: string, enabled: boolean) {
  return useQuery({
    queryKey: ["diagnosis", jobId],
    queryFn: () => unwrap(api.GET("/v1/runs/{run_id}:diagnose", { params: { path: { run_id: jobId } } })),
    enabled,
  });
}

/** Profiles the running job's next steps (ProfileRun); the diagnosis shows the profile after. */
export function useProfile(jobId: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (steps: number) => unwrap(api.POST("/v1/runs/{run_id}:profile", { params: { path: { run_id: jobId } }, body: { steps } })),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["diagnosis", jobId] }),
  });
}

export function useArtifacts(jobId: string, enabled: boolean) {
  return useQuery({
    queryKey: ["artifacts", jobId],
    queryFn: () => unwrap(api.GET("/v1/runs/{run_id}/artifacts", { params: { path: { run_id: jobId } } })),
    enabled,
  });
}

export interface Sample {
  input: string;
  expected: string;
  generated: string;
}

export interface FinalMetrics {
  summary?: Record<string, unknown> & { samples?: Sample[]; bleu?: number | null };
}

/** The run's artifacts/metrics.json (final metrics, samples beside their expected outputs). */
export function useFinalMetrics(jobId: string, enabled: boolean) {
  return useQuery({
    queryKey: ["final-metrics", jobId],
    queryFn: async (): Promise<FinalMetrics> => {
      const response = await request(`/v1/runs/${encodeURIComponent(jobId)}/artifacts/metrics.json:download`);
      return parsePythonJson(await response.text()) as FinalMetrics;
    },
    enabled,
    staleTime: Infinity,
  });
}
