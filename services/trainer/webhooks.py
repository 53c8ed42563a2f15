"""Alert delivery: the trainer's alerts (thresholds, NaN loss, out of memory, push failures...) and each run's
end (completed, failed, cancelled) POSTed to the webhooks the trainer is configured with.

`ALERT_WEBHOOKS` takes URLs that receive a generic JSON body (`WebhookNotifier.generic_body`);
`ALERT_SLACK_WEBHOOKS` takes Slack incoming-webhook URLs, which receive `{"text": ...}` with the same facts in
words. Only configured URLs are ever called: no request can add one. Delivery never blocks training: the event
log hands each stored event to `offer`, which only puts a notice in a bounded queue (`ALERT_QUEUE`, 256; when
it is full the notice is dropped and counted); one task posts them in order, each URL retried
(`ALERT_RETRIES`, 3, with backoff) on a connection error, a timeout or a 5xx/429 answer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx

from services.common.errors import InvalidArgument
from services.trainer.events import Event

log = logging.getLogger("finetune.trainer.webhooks")
FINAL_STATES = ("completed", "failed", "cancelled")
_ICONS = {"critical": ":rotating_light:", "error": ":rotating_light:", "warning": ":warning:", "info": ":white_check_mark:"}


def parse_urls(raw: str, setting: str) -> list[str]:
    """Comma-separated http(s) URLs; anything else is a bad setting named as such."""
    urls = [u.strip() for u in raw.split(",") if u.strip()]
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgument(f"{setting} holds {url!r}, which is not an http(s) URL", reason="BAD_SETTING",
                                  metadata={"setting": setting})
    return urls


@dataclass(frozen=True)
class Notice:
    """One thing a person is told about."""

    kind: str  # "alert" or "run_ended"
    run: str
    level: str  # info, warning, error, critical
    code: str
    message: str
    suggestion: str = ""
    time: float = 0.0


def notice_of(event: Event) -> Notice | None:
    """The notice an event gives, or None for the events nobody is paged about (steps, resources...)."""
    data = event.data
    if event.type == "alert":
        return Notice("alert", f"runs/{event.run_id}", str(data.get("level") or data.get("severity") or "warning"),
                      str(data.get("code", "ALERT")), str(data.get("message", "")), str(data.get("suggestion", "")), event.time)
    if event.is_final and data.get("state") in FINAL_STATES:
        state = str(data["state"])
        level = {"completed": "info", "cancelled": "warning"}.get(state, "error")
        message = str(data.get("message") or f"the run {state}")
        return Notice("run_ended", f"runs/{event.run_id}", level, f"RUN_{state.upper()}", message, "", event.time)
    return None


@dataclass
class DeliveryResult:
    url: str
    delivered: bool
    attempts: int
    status: int = 0
    error: str = ""


@dataclass
class WebhookNotifier:
    webhooks: list[str] = field(default_factory=list)
    slack_webhooks: list[str] = field(default_factory=list)
    queue_size: int = 256
    retries: int = 3
    timeout: float = 5.0
    backoff: float = 0.5
    dropped: int = 0
    delivered: int = 0
    failed: int = 0

    def __post_init__(self) -> None:
        self._queue: asyncio.Queue[Notice] = asyncio.Queue(max(1, self.queue_size))
        self._task: asyncio.Task | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def configured(self) -> bool:
        return bool(self.webhooks or self.slack_webhooks)

    def offer(self, event: Event) -> None:
        """The event log's listener: never blocks, never raises."""
        if not self.configured:
            return
        notice = notice_of(event)
        if notice is None:
            return
        try:
            self._queue.put_nowait(notice)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("alert queue full (%d): dropped %s of %s", self.queue_size, notice.code, notice.run)

    async def start(self) -> None:
        if self.configured and self._task is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
            self._task = asyncio.create_task(self._deliver_forever(), name="alert-webhooks")

    async def stop(self, drain_seconds: float = 5.0) -> None:
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), drain_seconds)
        except asyncio.TimeoutError:
            log.warning("stopping with %d alerts undelivered", self._queue.qsize())
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        await self._client.aclose()

    async def _deliver_forever(self) -> None:
        while True:
            notice = await self._queue.get()
            try:
                for result in await self.deliver(notice):
                    if result.delivered:
                        self.delivered += 1
                    else:
                        self.failed += 1
                        log.warning("alert %s of %s not delivered to %s after %d attempts: %s", notice.code, notice.run,
                                    _host(result.url), result.attempts, result.error)
            finally:
                self._queue.task_done()

    async def deliver(self, notice: Notice) -> list[DeliveryResult]:
        """Posts `notice` to every configured URL (each retried); what happened at each."""
        client = self._client or httpx.AsyncClient(timeout=self.timeout)
        try:
            targets = [(u, self.generic_body(notice)) for u in self.webhooks] + [(u, self.slack_body(notice)) for u in self.slack_webhooks]
            return list(await asyncio.gather(*(self._post(client, url, body) for url, body in targets)))
        finally:
            if client is not self._client:
                await client.aclose()

    async def _post(self, client: httpx.AsyncClient, url: str, body: dict) -> DeliveryResult:
        result = DeliveryResult(url, False, 0)
        for attempt in range(1, self.retries + 1):
            result.attempts = attempt
            try:
                response = await client.post(url, json=body)
                result.status, result.error = response.status_code, ""
                if response.status_code < 300:
                    result.delivered = True
                    return result
                result.error = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code != 429:
                    return result  # the receiver refuses it: asking again changes nothing
            except httpx.HTTPError as exc:
                result.error = f"{type(exc).__name__}: {exc}"[:300]
            if attempt < self.retries:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        return result

    @staticmethod
    def generic_body(notice: Notice) -> dict:
        return {"source": "finetune-trainer", "kind": notice.kind, "run": notice.run, "job": "jobs/" + notice.run.removeprefix("runs/"),
                "level": notice.level, "code": notice.code, "message": notice.message, "suggestion": notice.suggestion,
                "time": datetime.fromtimestamp(notice.time or 0, timezone.utc).isoformat()}

    @staticmethod
    def slack_body(notice: Notice) -> dict:
        icon = _ICONS.get(notice.level, ":bell:")
        text = f"{icon} *{notice.code}* on `{notice.run}`: {notice.message}"
        if notice.suggestion:
            text += f"\n_{notice.suggestion}_"
        return {"text": text}


def _host(url: str) -> str:
    """A URL as it may be logged: a Slack webhook's path is its secret."""
    return urlsplit(url).netloc
