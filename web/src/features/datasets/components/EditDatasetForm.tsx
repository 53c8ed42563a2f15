// Change a dataset's name, description and tags (the rows themselves never change: repair makes a new dataset).
import { Save } from "lucide-react";
import { useState } from "react";
import { ErrorMessage, fieldError } from "../../../components/ErrorMessage";
import { Button, Field, Input, Textarea } from "../../../components/ui";
import type { Dataset } from "../../../lib/api";
import { asApiError } from "../../../lib/errors";
import { useUpdateDataset } from "../api/datasets";
import { parseTags } from "../tags";

export function EditDatasetForm({ dataset, onDone }: { dataset: Dataset; onDone: () => void }) {
  const update = useUpdateDataset(dataset.uid ?? "");
  const [name, setName] = useState(dataset.display_name ?? "");
  const [description, setDescription] = useState(dataset.description ?? "");
  const [tags, setTags] = useState((dataset.tags ?? []).join(", "));
  const reason = update.error ? asApiError(update.error).reason : "";
  const nameError = fieldError(update.error, "display_name") ?? (reason === "INVALID_DISPLAY_NAME" ? asApiError(update.error).message : undefined);
  const tagsError = fieldError(update.error, "tags") ?? (reason === "INVALID_TAG" ? asApiError(update.error).message : undefined);

  return (
    <form className="grid gap-4 md:grid-cols-2" onSubmit={(e) => {
      e.preventDefault();
      update.mutate({ display_name: name.trim(), description: description.trim(), tags: parseTags(tags) }, { onSuccess: onDone });
    }}>
      <Field label="Name" error={nameError}>
        {(p) => <Input {...p} value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label="Tags" error={tagsError} help="Comma-separated.">
        {(p) => <Input {...p} value={tags} onChange={(e) => setTags(e.target.value)} />}
      </Field>
      <Field label="Description" className="md:col-span-2">
        {(p) => <Textarea {...p} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      {update.isError && !nameError && !tagsError && <div className="md:col-span-2"><ErrorMessage title="The changes were not saved" error={update.error} /></div>}
      <div className="flex gap-2 md:col-span-2">
        <Button type="submit" variant="primary" busy={update.isPending} icon={<Save className="size-4" aria-hidden />}>Save changes</Button>
        <Button onClick={onDone}>Cancel</Button>
      </div>
    </form>
  );
}
