// Whether a model can be fine-tuned here, criterion by criterion, from the catalog's availability check.
import type { ModelAvailability } from "../../lib/api";
import { fmtBytes } from "../../lib/format";

export type Verdict = "yes" | "no" | "unknown";

export interface Criterion {
  label: string;
  verdict: Verdict;
  detail: string;
}

export function fineTuneCriteria(check: ModelAvailability): Criterion[] {
  const estimated = check.estimated_memory_bytes ?? 0;
  const available = check.available_memory_bytes ?? 0;
  const known = check.config_found ?? false;
  const locations = check.locations ?? [];
  return [
    {
      label: "Available",
      verdict: check.found ? "yes" : check.exists_on_hub ? "unknown" : "no",
      detail: check.found
        ? `found: ${locations.join(", ") || "yes"}${check.local_path ? ` (${check.local_path})` : ""}`
        : check.exists_on_hub ? "on the hub, downloaded when a job starts" : "not found here" + (check.hub_reason ? ` (hub: ${check.hub_reason})` : ""),
    },
    {
      label: "Causal language model",
      verdict: !known ? "unknown" : check.is_causal_lm ? "yes" : "no",
      detail: !known ? "its config could not be read" : `${check.architecture || check.model_type || "unknown architecture"}`,
    },
    {
      label: "LoRA target modules",
      verdict: !known ? "unknown" : check.lora_supported ? "yes" : "no",
      detail: check.lora_target_modules?.length ? check.lora_target_modules.join(", ") : known ? "no linear modules LoRA can adapt" : "unknown",
    },
    {
      label: "Fits in memory",
      verdict: estimated <= 0 || available <= 0 ? "unknown" : estimated <= available ? "yes" : "no",
      detail: estimated > 0 && available > 0
        ? `about ${fmtBytes(estimated)} needed, ${fmtBytes(available)} free in ${check.memory_device || "memory"} (batch ${check.batch_size}, ${check.seq_len} tokens)`
        : "the model's size is unknown",
    },
  ];
}

/** The memory estimate as a share of what is free, 0 to 100+ (NaN when either is unknown). */
export function memoryShare(check: ModelAvailability): number {
  const estimated = check.estimated_memory_bytes ?? 0;
  const available = check.available_memory_bytes ?? 0;
  return estimated > 0 && available > 0 ? (100 * estimated) / available : Number.NaN;
}
