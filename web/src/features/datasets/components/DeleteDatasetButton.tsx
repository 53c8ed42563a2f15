// Delete a dataset after a confirmation that says what goes and what stays.
import { Trash2 } from "lucide-react";
import { useRef } from "react";
import { useNavigate } from "react-router";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Button } from "../../../components/ui";
import type { Dataset } from "../../../lib/api";
import { useDeleteDataset } from "../api/datasets";

export function DeleteDatasetButton({ dataset }: { dataset: Dataset }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const remove = useDeleteDataset();
  const navigate = useNavigate();
  const name = dataset.display_name || dataset.uid;
  return (
    <>
      <Button variant="danger" icon={<Trash2 className="size-4" aria-hidden />} onClick={() => {
        remove.reset();
        dialog.current?.showModal();
      }}>
        Delete
      </Button>
      <dialog ref={dialog} aria-labelledby="delete-title" aria-describedby="delete-body"
        className="m-auto w-full max-w-md rounded-lg bg-white p-5 shadow-xl ring-1 ring-slate-200 backdrop:bg-slate-900/40">
        <h2 id="delete-title" className="text-lg font-semibold text-slate-900">Delete “{name}”?</h2>
        <p id="delete-body" className="mt-2 text-sm text-slate-700">
          Its {(dataset.train_rows ?? 0) + (dataset.validation_rows ?? 0)} rows go for good (the stored file stays while another dataset uses it).
          Jobs that trained on it keep their results.
        </p>
        {remove.isError && <div className="mt-3"><ErrorMessage title="The dataset was not deleted" error={remove.error} /></div>}
        <div className="mt-5 flex justify-end gap-2">
          <Button autoFocus onClick={() => dialog.current?.close()}>Cancel</Button>
          <Button variant="danger" busy={remove.isPending} icon={<Trash2 className="size-4" aria-hidden />}
            onClick={() => remove.mutate(dataset.uid ?? "", {
              onSuccess: () => {
                dialog.current?.close();
                navigate("/datasets", { state: { deleted: name } });
              },
            })}>
            Delete dataset
          </Button>
        </div>
      </dialog>
    </>
  );
}
