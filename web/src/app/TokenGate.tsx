// Asks for the API token when the gateway answers 401 (FINETUNE_API_TOKEN is set), once: it is kept in
// this browser and sent on every REST call (Authorization) and WebSocket (access_token).
import { useQueryClient } from "@tanstack/react-query";
import { KeyRound } from "lucide-react";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Button, Field, Input } from "../components/ui";
import { getToken, setToken, whenUnauthenticated } from "../lib/token";

export function TokenGate() {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState("");
  const [rejected, setRejected] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  const queries = useQueryClient();

  useEffect(() => whenUnauthenticated(() => {
    setRejected(Boolean(getToken()));
    setOpen(true);
  }), []);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setToken(value.trim());
    setOpen(false);
    setValue("");
    void queries.invalidateQueries();
  };

  return (
    <dialog ref={dialog} aria-labelledby="token-title" onCancel={(e) => e.preventDefault()}
      className="m-auto w-full max-w-md rounded-lg p-0 shadow-xl backdrop:bg-slate-900/40">
      <form onSubmit={submit} className="flex flex-col gap-4 p-5">
        <div className="flex items-center gap-2">
          <KeyRound className="size-5 text-indigo-600" aria-hidden />
          <h2 id="token-title" className="text-lg font-semibold">API token required</h2>
        </div>
        <p className="text-sm text-slate-600">
          This platform is protected by an API token (<code>FINETUNE_API_TOKEN</code>). Enter it once; this browser
          keeps it and sends it with every request.
        </p>
        <Field label="API token" error={rejected ? "The gateway did not accept the saved token; enter it again." : undefined}>
          {(p) => <Input {...p} type="password" autoComplete="current-password" required value={value} autoFocus
            onChange={(e) => setValue(e.target.value)} />}
        </Field>
        <div className="flex justify-end">
          <Button type="submit" variant="primary">Save token</Button>
        </div>
      </form>
    </dialog>
  );
}
