import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../../lib/errors";
import { generateField, streamGeneration } from "./generate";

function ndjson(chunks: string[], status = 200): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
  return new Response(body, { status, headers: { "Content-Type": "application/x-ndjson" } });
}

afterEach(() => vi.unstubAllGlobals());

describe("streamGeneration", () => {
  it("hands each piece over as it arrives, lines split across chunks included", async () => {
    const fetch = vi.fn().mockResolvedValue(ndjson(['{"text": "Hel', 'lo", "done": false}\n{"text": " wor', 'ld", "done": false}\n', '{"done": true, "text": ""}\n']));
    vi.stubGlobal("fetch", fetch);
    const pieces: string[] = [];
    await streamGeneration("job_1", { prompt: "Hi", max_new_tokens: 4, temperature: 0 }, (p) => pieces.push(p), new AbortController().signal);
    expect(pieces).toEqual(["Hello", " world"]);
    const [path, init] = fetch.mock.calls[0];
    expect(path).toBe("/v1/runs/job_1:generate");
    expect(JSON.parse(init.body)).toEqual({ prompt: "Hi", max_new_tokens: 4, temperature: 0 });
  });

  it("throws the gateway's error, before the stream or in it", async () => {
    const refused = { error: { code: "INVALID_ARGUMENT", reason: "PROMPT_REQUIRED", message: "prompt is required", metadata: {} } };
    vi.stubGlobal("fetch", vi.fn().mockResolvedValue(new Response(JSON.stringify(refused), { status: 400 })));
    const error = await streamGeneration("j", { prompt: "" }, () => {}, new AbortController().signal).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toBe("prompt is required");
    expect(generateField(error)).toBe("prompt");

    const midway = { error: { code: "UNAVAILABLE", reason: "TRAINER_UNAVAILABLE", message: "trainer went away" } };
    vi.stubGlobal("fetch", vi.fn().mockResolvedValue(ndjson(['{"text": "a"}\n', JSON.stringify(midway) + "\n"])));
    const pieces: string[] = [];
    const late = await streamGeneration("j", { prompt: "x" }, (p) => pieces.push(p), new AbortController().signal).catch((e) => e);
    expect(pieces).toEqual(["a"]);
    expect(late.message).toBe("trainer went away");
    expect(generateField(late)).toBeUndefined();
  });
});

describe("generateField", () => {
  it("takes the field the error names, else the one its reason is about", () => {
    expect(generateField({ reason: "INVALID_TEMPERATURE" })).toBe("temperature");
    expect(generateField({ reason: "INVALID_MAX_NEW_TOKENS" })).toBe("max_new_tokens");
    expect(generateField({ field: "prompt", reason: "OTHER" })).toBe("prompt");
    expect(generateField(undefined)).toBeUndefined();
  });
});
