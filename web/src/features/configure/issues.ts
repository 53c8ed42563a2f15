// Messages by the form field they are about: from ValidateConfiguration's issues, and from a refused save or
// sweep, whose error names one field per metadata entry (`hyperparameters.batch_size`, `search_space.lr`).
import type { Schemas } from "../../lib/api";
import { asApiError } from "../../lib/errors";

export type Issue = Schemas["finetune.jobs.v1.ValidationIssue"];

/** The issues grouped by their field (`""` for those about no field in particular). */
export function issuesByField(issues: Issue[] | undefined): Map<string, Issue[]> {
  const out = new Map<string, Issue[]>();
  for (const issue of issues ?? []) {
    const key = issue.field ?? "";
    out.set(key, [...(out.get(key) ?? []), issue]);
  }
  return out;
}

// The jobs service's "every problem at once" errors: each metadata entry is `field path -> message`.
const PER_FIELD_REASONS = new Set(["INVALID_HYPERPARAMETERS", "INVALID_SWEEP", "INVALID_JOB"]);

/** An error's messages by the field they are about: every entry of a per-field error, else `metadata.field`
 * with the error's message (other metadata, such as `location` or `allowed`, names no field). */
export function errorFields(error: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!error) return out;
  const e = asApiError(error);
  if (PER_FIELD_REASONS.has(e.reason)) {
    for (const [key, message] of Object.entries(e.metadata)) out.set(key, message);
  } else if (e.field) {
    out.set(e.field, e.message);
  }
  return out;
}

/** The message of `fields` about `path` or a path ending in `.path` (`#2` suffixes of repeated ranges ignored). */
export function messageFor(fields: Map<string, string>, path: string): string | undefined {
  const found: string[] = [];
  for (const [key, message] of fields) {
    const k = key.replace(/#\d+$/, "");
    if (k === path || k.endsWith("." + path)) found.push(message);
  }
  return found.length ? found.join("; ") : undefined;
}
