// Creating a job: the same request checked as you type (validate_only) and then sent for real.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../lib/api";

export type CreateJobRequest = Schemas["finetune.jobs.v1.CreateJobRequest"];

export function useJobCheck(body: CreateJobRequest, enabled: boolean) {
  return useQuery({
    queryKey: ["job-check", body],
    queryFn: () => unwrap(api.POST("/v1/jobs", { body: { ...body, validate_only: true } })),
    enabled,
    retry: false,
    staleTime: 60_000,
  });
}

export function useCreateJob() {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateJobRequest) => unwrap(api.POST("/v1/jobs", { body: { ...body, validate_only: false } })),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["jobs"] }),
  });
}
