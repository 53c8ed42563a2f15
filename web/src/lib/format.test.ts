import { describe, expect, it } from "vitest";
import { enumLabel, fmtBytes, fmtDuration, fmtNumber, num, parsePythonJson } from "./format";

describe("format", () => {
  it("reads proto JSON's NaN strings as numbers", () => {
    expect(Number.isNaN(num("NaN"))).toBe(true);
    expect(num("Infinity")).toBe(Infinity);
    expect(num(2.5)).toBe(2.5);
    expect(Number.isNaN(num(undefined))).toBe(true);
  });

  it("writes numbers, sizes and durations for people", () => {
    expect(fmtNumber(0.0000123)).toBe("1.23e-5");
    expect(fmtNumber(0.0005)).toBe("0.0005");
    expect(fmtNumber(2.34567)).toBe("2.35");
    expect(fmtNumber("NaN")).toBe("—");
    expect(fmtBytes(1536)).toBe("1.5 KB");
    expect(fmtDuration(75)).toBe("1 min 15 s");
    expect(fmtDuration(0.25)).toBe("250 ms");
  });

  it("names enum values in words", () => {
    expect(enumLabel("JOB_STATE_RUNNING")).toBe("Running");
    expect(enumLabel("ALERT_LEVEL_CRITICAL")).toBe("Critical");
    expect(enumLabel("JOB_STATE_UNSPECIFIED")).toBe("—");
  });

  it("parses Python's JSON with bare NaN and Infinity, leaving strings alone", () => {
    expect(parsePythonJson('{"a": NaN, "b": [1, -Infinity], "c": "NaN, really"}')).toEqual({ a: null, b: [1, null], c: "NaN, really" });
  });
});
