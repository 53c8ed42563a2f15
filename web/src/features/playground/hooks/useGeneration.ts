// One streamed generation: its text so far, pieces, timing and outcome; `start` aborts the previous one, `stop`
// aborts this one (the text so far stays).
import { useCallback, useEffect, useRef, useState } from "react";
import { asApiError, type ApiError } from "../../../lib/errors";
import { generateEnsemble, isEnsemble, streamGeneration, type GenerateRequest } from "../api/generate";

export type GenerationStatus = "idle" | "streaming" | "done" | "stopped" | "failed";

export interface Generation {
  status: GenerationStatus;
  jobId?: string;
  text: string;
  pieces: number;
  /** ms from the request to the first piece, and to the end. */
  firstPieceMs?: number;
  elapsedMs?: number;
  error?: ApiError;
  /** An ensemble's vote: how many members gave the answer, and each member's answer. */
  vote?: { votes: number; members: number; chosenJob: string; answers: { job: string; text: string }[] };
}

const IDLE: Generation = { status: "idle", text: "", pieces: 0 };

export function useGeneration() {
  const [generation, setGeneration] = useState<Generation>(IDLE);
  const controller = useRef<AbortController | undefined>(undefined);

  const start = useCallback(async (jobId: string, body: GenerateRequest) => {
    controller.current?.abort();
    const mine = new AbortController();
    controller.current = mine;
    const began = performance.now();
    setGeneration({ status: "streaming", jobId, text: "", pieces: 0 });
    const update = (change: (g: Generation) => Generation) => {
      if (controller.current === mine) setGeneration(change);
    };
    try {
      if (isEnsemble(jobId)) {
        const answer = await generateEnsemble(jobId, body, mine.signal);
        const answers = (answer.answers ?? []).map((a) => ({ job: a.job ?? "", text: a.text ?? "" }));
        update((g) => ({ ...g, status: "done", text: answer.text ?? "", pieces: 1, elapsedMs: performance.now() - began,
          firstPieceMs: performance.now() - began,
          vote: { votes: answer.votes ?? 0, members: answers.length, chosenJob: answer.chosen_job ?? "", answers } }));
        return;
      }
      await streamGeneration(jobId, body, (piece) => update((g) => ({
        ...g, text: g.text + piece, pieces: g.pieces + 1, firstPieceMs: g.firstPieceMs ?? performance.now() - began,
      })), mine.signal);
      update((g) => ({ ...g, status: mine.signal.aborted ? "stopped" : "done", elapsedMs: performance.now() - began }));
    } catch (error) {
      if (mine.signal.aborted) update((g) => ({ ...g, status: "stopped", elapsedMs: performance.now() - began }));
      else update((g) => ({ ...g, status: "failed", error: asApiError(error), elapsedMs: performance.now() - began }));
    }
  }, []);

  const stop = useCallback(() => {
    const current = controller.current;
    if (!current) return;
    current.abort();
    setGeneration((g) => (g.status === "streaming" ? { ...g, status: "stopped" } : g));
  }, []);

  const reset = useCallback(() => {
    controller.current?.abort();
    controller.current = undefined;
    setGeneration(IDLE);
  }, []);

  useEffect(() => () => controller.current?.abort(), []);
  return { generation, start, stop, reset };
}
