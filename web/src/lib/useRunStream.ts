// The one owner of a job's live stream: loads the run's history, then follows its events over the WebSocket,
// resuming after the last sequence number it has on every reconnect (a dropped connection, a gateway
// restart), so the series gets every event exactly once. Exposes the connection status for the page.
import { useEffect, useMemo, useState } from "react";
import { api, unwrap, websocketUrl, type RunMetrics } from "./api";
import { ApiError, asApiError } from "./errors";
import { RunSeries } from "./runSeries";

export type StreamStatus = "connecting" | "live" | "reconnecting" | "ended" | "failed";

export interface RunStream {
  series: RunSeries;
  status: StreamStatus;
  error: ApiError | undefined;
  reconnects: number;
}

const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

const prefetched = new Map<string, { at: number; metrics: Promise<RunMetrics | undefined> }>();
const PREFETCH_FRESH_MS = 10_000;

/** Starts loading a run's history as soon as the route is entered, before the page's code has loaded;
 * the page's stream then takes it instead of asking again. */
export function prefetchRunMetrics(jobId: string): void {
  const metrics = fetchRunMetrics(jobId);
  metrics.catch(() => undefined); // the stream reports the error when it takes it
  prefetched.set(jobId, { at: performance.now(), metrics });
}

function takeRunMetrics(jobId: string): Promise<RunMetrics | undefined> {
  const found = prefetched.get(jobId);
  prefetched.delete(jobId);
  return found && performance.now() - found.at < PREFETCH_FRESH_MS ? found.metrics : fetchRunMetrics(jobId);
}

export async function fetchRunMetrics(jobId: string): Promise<RunMetrics | undefined> {
  try {
    return await unwrap(api.GET("/v1/runs/{run_id}/metrics", { params: { path: { run_id: jobId } } }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined; // queued: no run yet
    throw error;
  }
}

export function useRunStream(jobId: string, enabled = true): RunStream {
  const series = useMemo(() => new RunSeries(), [jobId]);
  const [status, setStatus] = useState<StreamStatus>("connecting");
  const [error, setError] = useState<ApiError>();
  const [reconnects, setReconnects] = useState(0);

  useEffect(() => {
    if (!enabled) return;
    let socket: WebSocket | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let stopped = false;
    let loaded = false;

    const retry = () => {
      if (stopped) return;
      setStatus("reconnecting");
      setReconnects((n) => n + 1);
      timer = setTimeout(start, BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)]);
    };

    const connect = () => {
      const ws = new WebSocket(websocketUrl(`/ws/jobs/${encodeURIComponent(jobId)}/events`, { after: series.lastSeq }));
      socket = ws;
      ws.onmessage = (message) => {
        const data = JSON.parse(message.data as string);
        if (data && data.error) {
          setError(new ApiError(0, data.error));
          return;
        }
        attempt = 0;
        setStatus("live");
        setError(undefined);
        series.apply(data);
      };
      ws.onopen = () => setStatus((s) => (s === "connecting" ? "live" : s));
      ws.onclose = (event) => {
        if (stopped || socket !== ws) return;
        if (event.code === 1000) setStatus("ended"); // the run reached a final state
        else if (event.code >= 4400 && event.code < 4500 && event.code !== 4408 && event.code !== 4429) setStatus("failed");
        else retry(); // dropped, gateway restarted, trainer unavailable: resume after the last event we have
      };
    };

    const start = async () => {
      if (stopped) return;
      if (!loaded) {
        try {
          const metrics = await takeRunMetrics(jobId);
          if (stopped) return;
          performance.mark("run-metrics:received");
          if (metrics) series.load(metrics);
          performance.mark("run-metrics:loaded");
          loaded = true;
        } catch (e) {
          setError(asApiError(e));
          retry();
          return;
        }
      }
      connect();
    };

    setStatus("connecting");
    void start();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close(1000);
    };
  }, [jobId, series, enabled]);

  return { series, status, error, reconnects };
}
