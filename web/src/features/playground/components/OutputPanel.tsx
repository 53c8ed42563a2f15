// One model's streamed answer: the text as it arrives, how far it got, and its error when it failed.
import { Link } from "react-router";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Badge, Card } from "../../../components/ui";
import { fmtDuration } from "../../../lib/format";
import { generateField, isEnsemble } from "../api/generate";
import type { Generation } from "../hooks/useGeneration";

const STATUS: Record<Generation["status"], { label: string; tone: "gray" | "blue" | "green" | "amber" | "red" }> = {
  idle: { label: "Ready", tone: "gray" },
  streaming: { label: "Generating…", tone: "blue" },
  done: { label: "Done", tone: "green" },
  stopped: { label: "Stopped", tone: "amber" },
  failed: { label: "Failed", tone: "red" },
};

function summary(g: Generation): string {
  if (g.status === "idle") return "Write a prompt and press Generate.";
  const field = generateField(g.error);
  if (field) return `Not generated: the ${field.replaceAll("_", " ")} above needs a change.`;
  const pieces = `${g.pieces} ${g.pieces === 1 ? "piece" : "pieces"}, ${g.text.length} characters`;
  const first = g.firstPieceMs !== undefined ? `, first after ${fmtDuration(g.firstPieceMs / 1000)}` : "";
  const took = g.elapsedMs !== undefined ? ` in ${fmtDuration(g.elapsedMs / 1000)}` : "";
  return `${pieces}${took}${first}`;
}

export function OutputPanel({ slot, jobId, jobName, generation }: { slot: string; jobId: string; jobName: string; generation: Generation }) {
  const g = generation;
  const status = STATUS[g.status];
  const blank = (g.status === "done" || g.status === "stopped") && !g.text.trim();
  return (
    <Card title={`Answer ${slot}`} actions={<Badge tone={status.tone}>{status.label}</Badge>}>
      <p className="-mt-2 mb-2 text-sm">
        {isEnsemble(jobId)
          ? <span className="font-medium">{jobName}</span>
          : <Link to={`/jobs/${jobId}`} className="font-medium text-indigo-700 hover:underline">{jobName}</Link>}
        <span className="text-slate-500"> · {jobId}</span>
      </p>
      <div role="region" aria-label={`Answer ${slot} text`} aria-busy={g.status === "streaming"} data-status={g.status}
        data-pieces={g.pieces} className="min-h-32 rounded-md bg-slate-50 p-3 ring-1 ring-slate-200">
        <pre className="whitespace-pre-wrap break-words font-mono text-sm text-slate-900" data-output>{g.text}</pre>
        {g.status === "streaming" && <span aria-hidden className="inline-block h-4 w-2 animate-pulse bg-indigo-500 align-middle" />}
        {blank && (
          <p className="text-sm text-slate-500">
            {g.text ? "The model generated only whitespace" : "The model generated nothing (it ended at once)"}: a model trained
            for more steps, or a prompt like its training inputs, gives more.
          </p>
        )}
      </div>
      <p className="mt-2 text-xs text-slate-600" role="status">{summary(g)}</p>
      {g.vote && (
        <div className="mt-2 text-xs text-slate-700" aria-label={`Answer ${slot} vote`}>
          <p className="font-medium">{g.vote.votes} of {g.vote.members} members gave this answer (chosen: {g.vote.chosenJob})</p>
          <ul className="mt-1 list-disc pl-5">
            {g.vote.answers.map((a) => <li key={a.job}><span className="font-mono">{a.job}</span>: {a.text.trim() || "(nothing)"}</li>)}
          </ul>
        </div>
      )}
      {g.error && !generateField(g.error) && (
        <div className="mt-2"><ErrorMessage error={g.error} title={`Model ${slot} could not generate`} /></div>
      )}
    </Card>
  );
}
