// The datasets feature's server state: the list (by tag, paged), one dataset, a page of its rows, and the
// preview, upload, edit, repair and delete calls.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, postForm, readNdjson, request, unwrap, type Dataset, type DatasetPreview, type Schemas } from "../../../lib/api";

export type Split = "SPLIT_TRAIN" | "SPLIT_VALIDATION";
export type RowsPage = Schemas["finetune.dataset.v1.ReadDatasetRowsResponse"];
export type RepairRequest = Omit<Schemas["finetune.dataset.v1.RepairDatasetRequest"], "name">;
export type RepairResponse = Schemas["finetune.dataset.v1.RepairDatasetResponse"];
export type DatasetEdit = Pick<Dataset, "display_name" | "description" | "tags">;

export const PREVIEW_ROWS = 20;

export function useDatasets(filters: { tag?: string; pageToken?: string; pageSize?: number }) {
  return useQuery({
    queryKey: ["datasets", "list", filters],
    queryFn: () => unwrap(api.GET("/v1/datasets", { params: { query: {
      page_size: filters.pageSize ?? 20, page_token: filters.pageToken || undefined, tag: filters.tag || undefined,
    } } })),
    placeholderData: keepPreviousData,
  });
}

export function useDataset(datasetId: string) {
  return useQuery({
    queryKey: ["datasets", "one", datasetId],
    queryFn: () => unwrap(api.GET("/v1/datasets/{dataset_id}", { params: { path: { dataset_id: datasetId } } })),
  });
}

/** One page of a split: the first message of the rows stream from `offset`, then the stream is closed. */
export async function fetchRowsPage(datasetId: string, split: Split, offset: number, size: number, signal?: AbortSignal): Promise<RowsPage> {
  const stop = new AbortController();
  signal?.addEventListener("abort", () => stop.abort());
  const query = new URLSearchParams({ split, offset: String(offset), batch_size: String(size) });
  const response = await request(`/v1/datasets/${encodeURIComponent(datasetId)}:rows?${query}`, { signal: stop.signal });
  let page: RowsPage | undefined;
  try {
    await readNdjson<RowsPage>(response, (item) => {
      page ??= item;
      stop.abort();
    }, stop.signal);
  } catch (error) {
    if (!page) throw error; // aborting after the first page is how the stream ends here
  }
  return page ?? { rows: [], total_rows: 0 };
}

export function useDatasetRows(datasetId: string, split: Split, offset: number, size: number, enabled = true) {
  return useQuery({
    queryKey: ["datasets", "rows", datasetId, split, offset, size],
    queryFn: ({ signal }) => fetchRowsPage(datasetId, split, offset, size, signal),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export interface UploadFields {
  file: File;
  repair?: boolean;
  name?: string;
  description?: string;
  tags?: string[];
  validationFraction?: number;
}

function form({ file, repair, name, description, tags, validationFraction }: UploadFields, extra: Record<string, string> = {}) {
  const body = new FormData();
  body.append("file", file, file.name);
  if (repair) body.append("repair", "true");
  if (name) body.append("name", name);
  if (description) body.append("description", description);
  if (tags?.length) body.append("tags", tags.join(","));
  if (validationFraction) body.append("validation_fraction", String(validationFraction));
  for (const [k, v] of Object.entries(extra)) body.append(k, v);
  return body;
}

export function usePreview() {
  return useMutation({
    mutationFn: (fields: Pick<UploadFields, "file" | "repair">) =>
      postForm<DatasetPreview>("/v1/datasets:preview", form(fields, { preview_rows: String(PREVIEW_ROWS) })),
  });
}

export function useUploadDataset() {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (fields: UploadFields) => postForm<Dataset>("/v1/datasets:upload", form(fields)),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["datasets"] }),
  });
}

export function useUpdateDataset(datasetId: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (edit: DatasetEdit) => unwrap(api.PATCH("/v1/datasets/{dataset_id}", {
      params: { path: { dataset_id: datasetId }, query: { update_mask: "display_name,description,tags" } },
      body: edit,
    })),
    onSuccess: (dataset) => {
      queries.setQueryData(["datasets", "one", datasetId], dataset);
      void queries.invalidateQueries({ queryKey: ["datasets", "list"] });
    },
  });
}

export function useRepairDataset(datasetId: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (options: RepairRequest) => unwrap(api.POST("/v1/datasets/{dataset_id}:repair", {
      params: { path: { dataset_id: datasetId } }, body: options,
    })),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["datasets", "list"] }),
  });
}

export function useDeleteDataset() {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (datasetId: string) => unwrap(api.DELETE("/v1/datasets/{dataset_id}", { params: { path: { dataset_id: datasetId } } })),
    onSuccess: (_, datasetId) => {
      queries.removeQueries({ queryKey: ["datasets", "one", datasetId] });
      void queries.invalidateQueries({ queryKey: ["datasets", "list"] });
    },
  });
}
