// The typed API client: openapi-fetch over the paths generated from the gateway's own /openapi.json.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./api-schema";
import { ApiError, networkError, toApiError } from "./errors";
import { getToken, reportUnauthenticated } from "./token";

export type Schemas = components["schemas"];
export type Dataset = Schemas["finetune.dataset.v1.Dataset"];
export type DatasetPreview = Schemas["finetune.dataset.v1.DatasetPreview"];
export type Model = Schemas["finetune.catalog.v1.Model"];
export type ModelAvailability = Schemas["finetune.catalog.v1.ModelAvailability"];
export type Job = Schemas["finetune.jobs.v1.Job"];
export type JobState = NonNullable<Job["state"]>;
// Through the job, not by message name: the schema behind it may move between proto packages.
export type Hyperparameters = NonNullable<NonNullable<Job["configuration"]>["hyperparameters"]>;
export type Configuration = Schemas["finetune.jobs.v1.Configuration"];
export type Sweep = Schemas["finetune.jobs.v1.Sweep"];
export type RunEvent = Schemas["finetune.trainer.v1.RunEvent"];
export type RunMetrics = Schemas["finetune.trainer.v1.RunMetrics"];
export type ResourceSample = Schemas["finetune.trainer.v1.ResourceSample"];
export type Artifact = Schemas["finetune.trainer.v1.Artifact"];

function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

const auth: Middleware = {
  onRequest({ request }) {
    for (const [k, v] of Object.entries(authHeaders())) request.headers.set(k, v);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) reportUnauthenticated();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? "http://localhost" });
api.use(auth);

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of an openapi-fetch call, or a thrown ApiError carrying the gateway's error. */
export async function unwrap<T>(call: Promise<Answer<T>>): Promise<NonNullable<T>> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch (cause) {
    throw networkError(cause);
  }
  if (!answer.response.ok) throw toApiError(answer.response.status, answer.error);
  return (answer.data ?? {}) as NonNullable<T>;
}

/** A raw request to the gateway with the token, for what openapi-fetch does not cover (forms, streams, files). */
export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers ?? {}) } });
  } catch (cause) {
    throw networkError(cause);
  }
  if (response.status === 401) reportUnauthenticated();
  if (!response.ok) {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    throw toApiError(response.status, body);
  }
  return response;
}

/** POST a multipart form (dataset preview and upload) and parse the JSON answer. */
export async function postForm<T>(path: "/v1/datasets:preview" | "/v1/datasets:upload", form: FormData): Promise<T> {
  return (await (await request(path, { method: "POST", body: form })).json()) as T;
}

/** Reads an NDJSON stream (server-streaming RPCs), calling `onItem` for each message as it arrives. A line
 * `{"error": ...}` (a failure after the stream started) is thrown as an ApiError. */
export async function readNdjson<T>(response: Response, onItem: (item: T) => void, signal?: AbortSignal): Promise<void> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const handle = (line: string) => {
    if (!line.trim()) return;
    const item = JSON.parse(line);
    if (item && typeof item === "object" && "error" in item) throw toApiError(500, item);
    onItem(item as T);
  };
  try {
    for (;;) {
      if (signal?.aborted) return;
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        handle(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    }
    handle(buffer);
  } finally {
    reader.releaseLock();
  }
}

/** The URL of a WebSocket path on this origin, with the token as `access_token` (browsers cannot set headers). */
export function websocketUrl(path: string, params: Record<string, string | number> = {}): string {
  const url = new URL(path, globalThis.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  const token = getToken();
  if (token) url.searchParams.set("access_token", token);
  return url.toString();
}

/** Saves an artifact file: fetched with the token, then handed to the browser as a download. */
export async function downloadArtifact(jobId: string, path: string): Promise<void> {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  const response = await request(`/v1/runs/${encodeURIComponent(jobId)}/artifacts/${encoded}:download`);
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = path.split("/").pop() || "download";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export { ApiError };
