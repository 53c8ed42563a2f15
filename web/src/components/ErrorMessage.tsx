// An API error as a person reads it: the gateway's message, what it is about, and its reason code.
import { AlertTriangle } from "lucide-react";
import { asApiError } from "../lib/errors";
import { Button } from "./ui";

export function ErrorMessage({ error, title = "Something went wrong", onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  if (!error) return null;
  const e = asApiError(error);
  return (
    <div role="alert" className="flex gap-3 rounded-md bg-red-50 p-3 text-sm text-red-800 ring-1 ring-red-200">
      <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
      <div className="min-w-0 flex-1">
        <p className="font-medium">{title}</p>
        <p className="mt-0.5 break-words">{e.message}</p>
        <p className="mt-1 text-xs text-red-700/80">
          {e.reason}
          {e.status ? ` · HTTP ${e.status}` : ""}
          {e.field ? ` · field ${e.field}` : ""}
        </p>
      </div>
      {onRetry && <Button onClick={onRetry} className="self-start">Retry</Button>}
    </div>
  );
}

/** The message of an error about `field`, for showing next to that field; undefined otherwise. */
export function fieldError(error: unknown, field: string): string | undefined {
  if (!error) return undefined;
  const e = asApiError(error);
  return e.isAbout(field) ? e.message : undefined;
}
