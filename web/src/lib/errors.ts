// The gateway's error body, `{"error": {"code", "reason", "message", "metadata"}}`, as a thrown Error.

export interface ErrorBody {
  code?: string;
  reason?: string;
  message?: string;
  metadata?: Record<string, string>;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly reason: string;
  readonly metadata: Record<string, string>;

  constructor(status: number, body: ErrorBody) {
    super(body.message || `request failed with HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = body.code ?? "UNKNOWN";
    this.reason = body.reason ?? "UNKNOWN";
    this.metadata = body.metadata ?? {};
  }

  /** The request field the error is about (`hyperparameters.learning_rate`), when the server named one. */
  get field(): string | undefined {
    return this.metadata.field || undefined;
  }

  /** Whether this error is about `field` or one of its parts (`modelSaving` matches `modelSaving.saveModel`). */
  isAbout(field: string): boolean {
    const f = this.field;
    if (!f) return false;
    const norm = (s: string) => s.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
    const [a, b] = [norm(f), norm(field)];
    return a === b || a.startsWith(b + ".") || a.endsWith("." + b);
  }
}

/** Any thrown value as an ApiError: network failures become UNAVAILABLE, odd bodies keep their text. */
export function toApiError(status: number, body: unknown): ApiError {
  if (body && typeof body === "object" && "error" in body && body.error && typeof body.error === "object") {
    return new ApiError(status, body.error as ErrorBody);
  }
  const text = typeof body === "string" ? body.slice(0, 300) : "";
  return new ApiError(status, {
    code: status >= 500 ? "UNAVAILABLE" : "UNKNOWN",
    reason: "UNEXPECTED_RESPONSE",
    message: text ? `HTTP ${status}: ${text}` : `the gateway answered HTTP ${status} without an error body`,
  });
}

export function networkError(cause: unknown): ApiError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ApiError(0, {
    code: "UNAVAILABLE",
    reason: "GATEWAY_UNREACHABLE",
    message: `Cannot reach the gateway (${detail}). Is \`make run\` still running?`,
  });
}

/** Any thrown or reported error as an ApiError: a failed fetch (TypeError) is the gateway being unreachable,
 * another Error keeps its message, and a plain `{message, reason}` object (a job's error) is shown as it is. */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof TypeError) return networkError(error);
  if (error instanceof Error) return new ApiError(0, { code: "UNKNOWN", reason: "CLIENT_ERROR", message: error.message });
  if (error && typeof error === "object" && "message" in error) return new ApiError(0, error as ErrorBody);
  return new ApiError(0, { code: "UNKNOWN", reason: "CLIENT_ERROR", message: String(error) });
}
