// Says how the page is connected to the job's live stream, so a person knows whether the charts are current.
import { Radio, RefreshCw, WifiOff } from "lucide-react";
import type { StreamStatus as Status } from "../../../lib/useRunStream";
import { Badge } from "../../../components/ui";

export function StreamStatus({ status, reconnects }: { status: Status; reconnects: number }) {
  const text = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting… (catching up after the last point received)",
    ended: "Stream ended: the run is final",
    failed: "Stream refused",
  }[status];
  const tone = status === "live" ? "green" : status === "reconnecting" ? "amber" : status === "failed" ? "red" : "gray";
  const icon = status === "live" ? <Radio className="size-3" aria-hidden /> : status === "reconnecting" ? <RefreshCw className="size-3 animate-spin" aria-hidden /> : status === "failed" ? <WifiOff className="size-3" aria-hidden /> : null;
  return (
    <span role="status" aria-live="polite" data-stream-status={status} data-reconnects={reconnects}>
      <Badge tone={tone}>{icon}{text}</Badge>
    </span>
  );
}
