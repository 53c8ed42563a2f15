// Whether an error is worth a Retry button: the gateway or a service was away, not a problem with the request.
import { asApiError } from "../../lib/errors";

export function retryable(error: unknown): boolean {
  const status = asApiError(error).status;
  return status === 0 || status >= 500;
}
