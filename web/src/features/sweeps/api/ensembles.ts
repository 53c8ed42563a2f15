// Ensembles' server state: the list (polled while one trains) and the evaluation of one on its validation split.
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../lib/api";

export type Ensemble = Schemas["finetune.jobs.v1.Ensemble"];

export function useEnsembles() {
  return useQuery({
    queryKey: ["ensembles"],
    queryFn: () => unwrap(api.GET("/v1/ensembles", {})),
    refetchInterval: (q) => ((q.state.data?.ensembles ?? []).some((e) => e.state === "running") ? 3_000 : 15_000),
  });
}

export function useEvaluateEnsemble(ensembleId: string) {
  return useMutation({
    mutationFn: () => unwrap(api.POST("/v1/ensembles/{ensemble_id}:evaluate",
      { params: { path: { ensemble_id: ensembleId } }, body: { max_rows: 16 } })),
  });
}
