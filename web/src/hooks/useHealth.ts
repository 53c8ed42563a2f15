// `GET /health`: every service's gRPC health (200 when all serve, 503 otherwise, with the same body).
// Not part of /openapi.json, so its shape is written here, as the gateway's gateway/health.py answers it.
import { useQuery } from "@tanstack/react-query";
import { networkError, toApiError } from "../lib/errors";
import { getToken } from "../lib/token";

export interface ServiceHealth {
  /** Short name: `dataset`, `catalog`, `jobs`, `trainer`. */
  service: string;
  grpc_service: string;
  /** SERVING, NOT_SERVING, UNREACHABLE, TIMEOUT, SERVICE_UNKNOWN, NO_HEALTH_SERVICE, NOT_CONFIGURED... */
  status: string;
  /** host:port; left out for a caller without the API token. */
  address?: string;
  /** Why it is not serving, when the check failed. */
  message?: string;
}

export interface Health {
  status: string;
  services: ServiceHealth[];
}

export async function fetchHealth(): Promise<Health> {
  const token = getToken();
  let response: Response;
  try {
    response = await fetch("/health", { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  } catch (cause) {
    throw networkError(cause);
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: reported below
  }
  if (body && typeof body === "object" && Array.isArray((body as Health).services)) return body as Health;
  throw toApiError(response.status, body);
}

export function useHealth(intervalMs = 15_000) {
  return useQuery({ queryKey: ["health"], queryFn: fetchHealth, refetchInterval: intervalMs, retry: false });
}
