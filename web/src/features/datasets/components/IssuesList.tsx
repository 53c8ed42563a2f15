// Validation findings, errors first: what is wrong, on which rows, and what to do about it.
import { AlertTriangle, CheckCircle2, XCircle } from "lucide-react";
import { Badge } from "../../../components/ui";
import type { Schemas } from "../../../lib/api";

export type Issue = Schemas["finetune.dataset.v1.ValidationIssue"];

export function rowsText(issue: Issue): string {
  const rows = issue.rows ?? [];
  if (!rows.length) return "";
  const more = (issue.count ?? rows.length) - rows.length;
  return `${rows.length === 1 && more <= 0 ? "Row" : "Rows"} ${rows.join(", ")}${more > 0 ? ` and ${more.toLocaleString("en-US")} more` : ""}`;
}

export function IssuesList({ issues }: { issues: Issue[] }) {
  const sorted = [...issues].sort((a, b) => Number(b.severity === "error") - Number(a.severity === "error"));
  const errors = issues.filter((i) => i.severity === "error").length;
  if (!issues.length) {
    return (
      <p className="flex items-center gap-2 text-sm text-emerald-800" role="status">
        <CheckCircle2 className="size-4" aria-hidden /> No problems found: every check passed.
      </p>
    );
  }
  return (
    <div>
      <p className="mb-2 text-sm text-slate-700" role="status">
        {errors ? `${errors} error${errors > 1 ? "s" : ""} must be fixed before saving` : "No errors: the file can be saved"}
        {issues.length - errors ? `; ${issues.length - errors} warning${issues.length - errors > 1 ? "s" : ""} to consider.` : "."}
      </p>
      <ul aria-label="Validation results" className="space-y-2">
        {sorted.map((issue, i) => {
          const error = issue.severity === "error";
          const Icon = error ? XCircle : AlertTriangle;
          return (
            <li key={`${issue.code}-${i}`} className={error ? "rounded-md bg-red-50 p-3 ring-1 ring-red-200" : "rounded-md bg-amber-50 p-3 ring-1 ring-amber-200"}>
              <div className="flex items-start gap-2">
                <Icon className={error ? "mt-0.5 size-4 shrink-0 text-red-700" : "mt-0.5 size-4 shrink-0 text-amber-700"} aria-hidden />
                <div className="min-w-0 flex-1 text-sm">
                  <div className="mb-1 flex flex-wrap items-center gap-2">
                    <Badge tone={error ? "red" : "amber"}>{error ? "Error" : "Warning"}</Badge>
                    <span className="font-mono text-xs text-slate-600">{issue.code}</span>
                  </div>
                  <p className={error ? "text-red-900" : "text-amber-950"}>{issue.message}</p>
                  {rowsText(issue) && <p className="mt-1 text-xs font-medium text-slate-700">{rowsText(issue)}</p>}
                </div>
              </div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
