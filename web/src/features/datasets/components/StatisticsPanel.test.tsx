import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { rowsText } from "./IssuesList";
import { StatisticsPanel } from "./StatisticsPanel";

// 10 rows: 4 of 9–10 estimated tokens, 3 of 15–16, 2 of 29–32, 1 of 513–640.
const statistics = {
  total_rows: 10, total_columns: 2, has_required_columns: true,
  row_tokens_est_histogram: { lower_bound: 9, upper_bounds: [10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640],
    counts: [4, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] },
};

afterEach(cleanup);

describe("StatisticsPanel", () => {
  it("counts the rows a max sequence length would truncate, as an estimate", () => {
    render(<StatisticsPanel statistics={statistics} />);
    const truncation = screen.getByTestId("truncation");
    expect(truncation.textContent).toContain("1 of 10 rows (10%) have an estimated length over 512 tokens");
    expect(truncation.textContent).toContain("Token counts are estimates");
    fireEvent.change(screen.getByLabelText("Max sequence length (tokens)"), { target: { value: "16" } });
    expect(truncation.textContent).toContain("3 of 10 rows (30%)");
    fireEvent.change(screen.getByLabelText("Max sequence length (tokens)"), { target: { value: "15" } });
    expect(truncation.textContent).toContain("Between 3 and 6 of 10 rows");
    expect(truncation.textContent).toContain("counts exactly at 14 or 16");
    fireEvent.change(screen.getByLabelText("Max sequence length (tokens)"), { target: { value: "0" } });
    expect(screen.getByText("Enter a whole number of tokens, at least 1.")).toBeTruthy();
  });

  it("says when a dataset has no token histogram", () => {
    render(<StatisticsPanel statistics={{ total_rows: 3 }} />);
    expect(screen.getByTestId("truncation").textContent).toContain("No token histogram for these rows");
  });
});

describe("rowsText", () => {
  it("lists the rows an issue names and how many more it concerns", () => {
    expect(rowsText({ rows: [5, 9], count: 2 })).toBe("Rows 5, 9");
    expect(rowsText({ rows: [3], count: 1 })).toBe("Row 3");
    expect(rowsText({ rows: [1, 2], count: 1002 })).toBe("Rows 1, 2 and 1,000 more");
    expect(rowsText({ rows: [] })).toBe("");
  });
});
