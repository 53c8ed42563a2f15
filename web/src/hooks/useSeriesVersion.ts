// Re-renders the caller when a RunSeries changes, at most once per `intervalMs`: text panels (progress,
// resources) stay current without re-rendering the page on every event.
import { useEffect, useState } from "react";
import type { RunSeries } from "../lib/runSeries";

export function useSeriesVersion(series: RunSeries, intervalMs = 250): number {
  const [version, setVersion] = useState(series.version);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const update = () => {
      if (timer) return;
      const wait = Math.max(0, last + intervalMs - performance.now());
      timer = setTimeout(() => {
        timer = undefined;
        last = performance.now();
        setVersion(series.version);
      }, wait);
    };
    setVersion(series.version);
    const unsubscribe = series.subscribe(update);
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
  }, [series, intervalMs]);
  return version;
}
