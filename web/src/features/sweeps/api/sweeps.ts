// Sweeps' server state: the list, one sweep and its trials (polled while it runs), cancel and promote.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Sweep } from "../../../lib/api";

const running = (s: Sweep | undefined) => s?.state === "SWEEP_STATE_RUNNING";

export function useSweeps() {
  return useQuery({
    queryKey: ["sweeps", "list"],
    queryFn: () => unwrap(api.GET("/v1/sweeps", { params: { query: { page_size: 200 } } })),
    refetchInterval: (q) => ((q.state.data?.sweeps ?? []).some(running) ? 3_000 : 15_000),
  });
}

export function useSweep(id: string) {
  return useQuery({
    queryKey: ["sweeps", id],
    queryFn: () => unwrap(api.GET("/v1/sweeps/{sweep_id}", { params: { path: { sweep_id: id } } })),
    refetchInterval: (q) => (running(q.state.data) ? 2_000 : false),
  });
}

export function useTrials(id: string, live: boolean) {
  return useQuery({
    queryKey: ["sweeps", id, "trials"],
    queryFn: () => unwrap(api.GET("/v1/sweeps/{sweep_id}/trials", { params: { path: { sweep_id: id } } })),
    refetchInterval: live ? 2_000 : false,
  });
}

export function useCancelSweep(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/v1/sweeps/{sweep_id}:cancel", { params: { path: { sweep_id: id } }, body: {} })),
    onSuccess: (sweep) => {
      client.setQueryData(["sweeps", id], sweep);
      client.invalidateQueries({ queryKey: ["sweeps"] });
    },
  });
}

/** Saves a trial's values (the best trial's when no number is given) as an automated-mode configuration. */
export function usePromoteTrial(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (trialNumber?: number) => unwrap(api.POST("/v1/sweeps/{sweep_id}:promote", {
      params: { path: { sweep_id: id } }, body: trialNumber === undefined ? {} : { trial_number: trialNumber },
    })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["configurations"] }),
  });
}
