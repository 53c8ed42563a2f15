import { expect, it } from "vitest";
import { parseTags } from "./tags";

it("splits tags on commas, trimmed, without blanks or repeats", () => {
  expect(parseTags(" support, v2,,support , ")).toEqual(["support", "v2"]);
  expect(parseTags("")).toEqual([]);
});
