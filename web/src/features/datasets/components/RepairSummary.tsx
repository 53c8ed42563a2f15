// What a repair changed: rows before and after, and one line per step with its count.
import { Wand2 } from "lucide-react";
import { fmtInt } from "../../../lib/format";

export interface Repair {
  rows_before?: number;
  rows_after?: number;
  changes?: string[];
}

export function RepairSummary({ repair, title = "Repaired" }: { repair: Repair; title?: string }) {
  const changes = repair.changes ?? [];
  return (
    <div className="rounded-md bg-indigo-50 p-3 text-sm text-indigo-950 ring-1 ring-indigo-200" role="status" aria-label="What the repair changed">
      <p className="flex items-center gap-2 font-medium">
        <Wand2 className="size-4" aria-hidden /> {title}: {fmtInt(repair.rows_before)} rows before, {fmtInt(repair.rows_after)} after
      </p>
      {changes.length ? (
        <ul className="mt-1 list-disc pl-8">{changes.map((c) => <li key={c}>{c}</li>)}</ul>
      ) : (
        <p className="mt-1 pl-6">Nothing needed changing.</p>
      )}
    </div>
  );
}
