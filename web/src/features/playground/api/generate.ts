// Generate (`POST /v1/runs/{job_id}:generate`): a completed job's model streams text as NDJSON, one piece a line.
import { readNdjson, request, type Schemas } from "../../../lib/api";

export type GenerateRequest = Omit<Schemas["finetune.trainer.v1.GenerateRequest"], "name">;
type Piece = Schemas["finetune.trainer.v1.GenerateResponse"];

/** Streams the job's answer to `body`, calling `onPiece` with each piece of text as it arrives. Throws an
 * ApiError for a refused request (400 naming the problem, 404, 412) or a failure mid-stream. */
export async function streamGeneration(jobId: string, body: GenerateRequest, onPiece: (text: string) => void,
  signal: AbortSignal): Promise<void> {
  const response = await request(`/v1/runs/${encodeURIComponent(jobId)}:generate`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  await readNdjson<Piece>(response, (piece) => {
    if (piece.text) onPiece(piece.text);
  }, signal);
}

export type EnsembleAnswer = Schemas["finetune.jobs.v1.EnsembleAnswer"];

/** An ensemble's answer (`POST /v1/ensembles/{id}:generate`): each completed member answers, the majority wins. */
export async function generateEnsemble(name: string, body: GenerateRequest, signal: AbortSignal): Promise<EnsembleAnswer> {
  const response = await request(`/v1/${name}:generate`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: body.prompt, max_new_tokens: body.max_new_tokens }),
    signal,
  });
  return (await response.json()) as EnsembleAnswer;
}

/** Whether a playground model is an ensemble (`ensembles/{id}`) rather than a job. */
export const isEnsemble = (id: string) => id.startsWith("ensembles/");

/** The request field a Generate error is about: the trainer names it by reason. */
const REASON_FIELDS: Record<string, keyof GenerateRequest> = {
  PROMPT_REQUIRED: "prompt",
  INVALID_MAX_NEW_TOKENS: "max_new_tokens",
  INVALID_TEMPERATURE: "temperature",
};

export function generateField(error: { field?: string; reason?: string } | undefined): string | undefined {
  if (!error) return undefined;
  return error.field || REASON_FIELDS[error.reason ?? ""];
}
