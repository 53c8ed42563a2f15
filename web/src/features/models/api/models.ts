// Models' server state: hub search, browse by category or provider, the categories, the collection (add,
// remove), the availability check with its memory estimate, and this machine's memory and GPUs.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Model } from "../../../lib/api";

export type SortBy = "downloads" | "likes" | "trending";
export type GroupBy = "category" | "provider";

export interface CheckParams {
  batch_size: number;
  seq_len: number;
  lora_r: number;
}

export function useSearchModels(query: string, category: string, sort: SortBy) {
  return useQuery({
    queryKey: ["models", "search", { query, category, sort }],
    queryFn: () => unwrap(api.GET("/v1/models:search", {
      params: { query: { query, limit: 30, category: category || undefined, sort } },
    })),
    enabled: query.trim() !== "",
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
}

export function useBrowseModels(groupBy: GroupBy) {
  return useQuery({
    queryKey: ["models", "browse", groupBy],
    queryFn: () => unwrap(api.GET("/v1/models:browse", { params: { query: { group_by: groupBy } } })),
    staleTime: 60_000,
  });
}

export function useCategories() {
  return useQuery({
    queryKey: ["models", "categories"],
    queryFn: () => unwrap(api.GET("/v1/categories")),
    staleTime: Infinity,
  });
}

export function useCollection() {
  return useQuery({
    queryKey: ["models", "collection"],
    queryFn: () => unwrap(api.GET("/v1/models", { params: { query: { page_size: 200 } } })),
  });
}

export function useAddModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (model: Model) => unwrap(api.POST("/v1/models", { body: model })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["models", "collection"] }),
  });
}

export function useRemoveModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/v1/models/{model_id}", { params: { path: { model_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["models", "collection"] }),
  });
}

/** The availability check of `id` (undefined: none picked) for a batch, sequence length and LoRA rank. */
/** The catalog's availability check; without params, the model's own defaults (its LoRA targets and size). */
export function useCheckModel(id: string | undefined, params: Partial<CheckParams> = {}) {
  return useQuery({
    queryKey: ["models", "check", id, params],
    queryFn: () => unwrap(api.GET("/v1/models/{model_id}:check", { params: { path: { model_id: id! }, query: { ...params } } })),
    enabled: !!id,
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
}

/** This machine as the trainer sees it: memory and GPUs now, and how many runs it takes at once. */
export function useMachine() {
  const resources = useQuery({
    queryKey: ["resources", "current"],
    queryFn: () => unwrap(api.GET("/v1/resources:current")),
    refetchInterval: 10_000,
  });
  const capacity = useQuery({
    queryKey: ["capacity"],
    queryFn: () => unwrap(api.GET("/v1/capacity")),
    staleTime: 30_000,
  });
  return { resources, capacity };
}
