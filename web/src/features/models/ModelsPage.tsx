// Stage 2: pick a model. Search the hub (offline results said plainly), browse by category or provider, keep a
// collection, and check whether a model can be fine-tuned on this machine before using it.
import { Plus } from "lucide-react";
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { ErrorMessage, fieldError } from "../../components/ErrorMessage";
import { Button, Card, Empty, Field, Input, Loading, PageHeader, Select, cx } from "../../components/ui";
import { useDebounced } from "../../hooks/useDebounced";
import type { Model } from "../../lib/api";
import { updateWorkflow } from "../../lib/workflow";
import { useAddModel, useBrowseModels, useCategories, useCollection, useRemoveModel, useSearchModels, type GroupBy,
  type SortBy } from "./api/models";
import { AvailabilityPanel } from "./components/AvailabilityPanel";
import { ModelList, type ModelActions } from "./components/ModelList";

type Tab = "search" | "browse" | "collection";
const TABS: { id: Tab; label: string }[] = [
  { id: "search", label: "Search the hub" },
  { id: "browse", label: "Browse" },
  { id: "collection", label: "My collection" },
];

export function ModelsPage() {
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const tab = (TABS.find((t) => t.id === params.get("tab"))?.id ?? "search") as Tab;
  const [checked, setChecked] = useState<Model | undefined>();
  const [tunableOnly, setTunableOnly] = useState(false);
  const collection = useCollection();
  const add = useAddModel();
  const remove = useRemoveModel();
  const inCollection = new Set((collection.data?.models ?? []).map((m) => m.id ?? ""));
  const pending = add.isPending ? add.variables?.id : remove.isPending ? remove.variables : undefined;

  const actions: ModelActions = {
    inCollection,
    busyId: pending,
    checkedId: checked?.id,
    onCheck: setChecked,
    onAdd: (m) => { remove.reset(); add.mutate({ id: m.id, display_name: m.display_name, provider: m.provider, category: m.category }); },
    onRemove: (m) => { add.reset(); remove.mutate(m.id ?? ""); },
    onUse: (m) => {
      updateWorkflow({ model: { uid: m.id ?? "", name: m.display_name || m.id || "" } });
      navigate("/configure");
    },
  };
  const filter = (models: Model[] | undefined) => (models ?? []).filter((m) => !tunableOnly || m.fine_tunable);
  const mutationError = add.error ?? remove.error;

  return (
    <>
      <PageHeader title="Models"
        description="The guide's Stage 2: find a base model on the Hugging Face Hub or among the built-in ones, keep the ones you like in your collection, and check that it can be fine-tuned here (a causal LM with LoRA targets that fits in this machine's memory)." />
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-[minmax(0,1fr)_24rem]">
        <div className="flex min-w-0 flex-col gap-4">
          <div className="flex flex-wrap items-center justify-between gap-3">
            <div role="tablist" aria-label="Ways to find a model" className="inline-flex rounded-md bg-white p-0.5 shadow-sm ring-1 ring-slate-300">
              {TABS.map((t) => (
                <button key={t.id} id={`tab-${t.id}`} role="tab" type="button" aria-selected={tab === t.id} aria-controls={`panel-${t.id}`}
                  tabIndex={tab === t.id ? 0 : -1}
                  onKeyDown={(e) => {
                    const i = TABS.findIndex((x) => x.id === tab) + (e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0);
                    if (i !== TABS.findIndex((x) => x.id === tab)) {
                      const next = TABS[(i + TABS.length) % TABS.length].id;
                      setParams({ tab: next }, { replace: true });
                      document.getElementById(`tab-${next}`)?.focus();
                    }
                  }}
                  onClick={() => setParams({ tab: t.id }, { replace: true })}
                  className={cx("rounded px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-indigo-600",
                    tab === t.id ? "bg-indigo-600 text-white" : "text-slate-700 hover:bg-slate-100")}>
                  {t.label}{t.id === "collection" && collection.data ? ` (${collection.data.models?.length ?? 0})` : ""}
                </button>
              ))}
            </div>
            <label className="flex items-center gap-2 text-sm text-slate-700">
              <input type="checkbox" checked={tunableOnly} onChange={(e) => setTunableOnly(e.target.checked)}
                className="size-4 rounded border-slate-300 focus-visible:outline-2 focus-visible:outline-indigo-600" />
              Only models that can be LoRA-tuned
            </label>
          </div>
          {mutationError ? (
            <ErrorMessage error={mutationError} title={add.error ? "The model was not added" : "The model was not removed"} />
          ) : null}
          <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="flex flex-col gap-4">
            {tab === "search" && <SearchPanel actions={actions} filter={filter} />}
            {tab === "browse" && <BrowsePanel actions={actions} filter={filter} />}
            {tab === "collection" && <CollectionPanel actions={actions} filter={filter} collection={collection} />}
          </div>
        </div>
        <div className="xl:sticky xl:top-4 xl:self-start">
          <AvailabilityPanel modelId={checked?.id} name={checked?.display_name} />
        </div>
      </div>
    </>
  );
}

interface PanelProps {
  actions: ModelActions;
  filter: (models: Model[] | undefined) => Model[];
}

function SearchPanel({ actions, filter }: PanelProps) {
  const [query, setQuery] = useState("");
  const [category, setCategory] = useState("");
  const [sort, setSort] = useState<SortBy>("downloads");
  const categories = useCategories();
  const settled = useDebounced(query.trim(), 400);
  const search = useSearchModels(settled, category, sort);
  const models = filter(search.data?.models);
  return (
    <>
      <Card>
        <div className="grid grid-cols-1 gap-3 md:grid-cols-[2fr_1fr_1fr]">
          <Field label="Search models" help="Words of a model's name, e.g. llama, code, tiny.">
            {(a11y) => <Input {...a11y} type="search" value={query} placeholder="llama" onChange={(e) => setQuery(e.target.value)} />}
          </Field>
          <Field label="Category">
            {(a11y) => (
              <Select {...a11y} value={category} onChange={(e) => setCategory(e.target.value)}>
                <option value="">Every category</option>
                {categories.data?.categories?.map((c) => <option key={c} value={c}>{c}</option>)}
              </Select>
            )}
          </Field>
          <Field label="Sort by">
            {(a11y) => (
              <Select {...a11y} value={sort} onChange={(e) => setSort(e.target.value as SortBy)}>
                <option value="downloads">Downloads</option>
                <option value="likes">Likes</option>
                <option value="trending">Trending</option>
              </Select>
            )}
          </Field>
        </div>
      </Card>
      {search.data?.offline && (
        <div role="status" className="rounded-md bg-amber-50 p-3 text-sm text-amber-900 ring-1 ring-amber-200">
          <p className="font-medium">The Hugging Face Hub is offline: these are offline results</p>
          <p className="mt-0.5">{search.data.offline_reason || "The hub could not be reached."}</p>
        </div>
      )}
      {search.error ? <ErrorMessage error={search.error} title="The search failed" onRetry={() => search.refetch()} /> : null}
      {!settled ? (
        <Empty title="Type a word to search">
          Search the hub and the built-in models by name, or <em>Browse</em> them by category and provider.
        </Empty>
      ) : search.isPending ? (
        <Loading label={`Searching for “${settled}”…`} />
      ) : search.data && models.length === 0 ? (
        <Empty title={`No model matches “${settled}”`}>Try another word, another category, or turn off the LoRA-tunable filter.</Empty>
      ) : search.data ? (
        <ModelList models={models} actions={actions} label="Search results" />
      ) : null}
    </>
  );
}

function BrowsePanel({ actions, filter }: PanelProps) {
  const [groupBy, setGroupBy] = useState<GroupBy>("category");
  const browse = useBrowseModels(groupBy);
  const categories = useCategories();
  const groups = (browse.data?.groups ?? []).map((g) => ({ key: g.key ?? "", models: filter(g.models) })).filter((g) => g.models.length);
  return (
    <>
      <div className="flex flex-wrap items-center gap-3">
        <div role="group" aria-label="Group models by" className="inline-flex rounded-md bg-white p-0.5 shadow-sm ring-1 ring-slate-300">
          {(["category", "provider"] as GroupBy[]).map((g) => (
            <button key={g} type="button" aria-pressed={groupBy === g} onClick={() => setGroupBy(g)}
              className={cx("rounded px-3 py-1 text-sm font-medium focus-visible:outline-2 focus-visible:outline-indigo-600",
                groupBy === g ? "bg-slate-800 text-white" : "text-slate-700 hover:bg-slate-100")}>
              By {g}
            </button>
          ))}
        </div>
        {categories.data?.rule && (
          <details className="text-sm text-slate-700">
            <summary className="cursor-pointer font-medium">How categories are assigned</summary>
            <p className="mt-2 max-w-3xl whitespace-pre-wrap rounded-md bg-white p-3 text-xs ring-1 ring-slate-200">{categories.data.rule}</p>
          </details>
        )}
      </div>
      {browse.error ? <ErrorMessage error={browse.error} title="The models could not be browsed" onRetry={() => browse.refetch()} /> : null}
      {browse.isPending ? <Loading label="Loading the models…" /> : groups.length === 0 && !browse.error ? (
        <Empty title="No models to browse">Search the hub instead, or turn off the LoRA-tunable filter.</Empty>
      ) : (
        groups.map((g) => <Group key={g.key} title={g.key} count={g.models.length}><ModelList models={g.models} actions={actions} label={g.key} /></Group>)
      )}
    </>
  );
}

function Group({ title, count, children }: { title: string; count: number; children: ReactNode }) {
  const id = useId();
  return (
    <section aria-labelledby={id}>
      <h2 id={id} className="mb-2 text-sm font-semibold text-slate-800">{title} <span className="font-normal text-slate-500">({count})</span></h2>
      {children}
    </section>
  );
}

function CollectionPanel({ actions, filter, collection }: PanelProps & { collection: ReturnType<typeof useCollection> }) {
  const [id, setId] = useState("");
  const add = useAddModel();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate({ id: id.trim() }, { onSuccess: () => setId("") });
  };
  const models = filter(collection.data?.models);
  const idError = fieldError(add.error, "model_id") ?? fieldError(add.error, "id");
  return (
    <>
      <Card title="Add a model by id">
        <form onSubmit={submit} className="flex flex-wrap items-start gap-2">
          <Field label="Model id" className="min-w-64 flex-1" error={idError}
            help="A hub id such as org/name, or a built-in model id; the catalog fills in its details.">
            {(a11y) => <Input {...a11y} value={id} placeholder="TinyLlama/TinyLlama-1.1B-Chat-v1.0" spellCheck={false} onChange={(e) => setId(e.target.value)} />}
          </Field>
          <Button type="submit" className="mt-6" busy={add.isPending} disabled={!id.trim()} icon={<Plus className="size-4" aria-hidden />}>
            Add to collection
          </Button>
        </form>
        {add.error && !idError ? <div className="mt-3"><ErrorMessage error={add.error} title="The model was not added" /></div> : null}
      </Card>
      {collection.error ? <ErrorMessage error={collection.error} title="The collection could not be read" onRetry={() => collection.refetch()} /> : null}
      {collection.isPending ? <Loading label="Loading your collection…" /> : models.length === 0 && !collection.error ? (
        <Empty title="Your collection is empty">Add models from the search or the browser, or by id above.</Empty>
      ) : (
        <ModelList models={models} actions={actions} label="My collection" />
      )}
    </>
  );
}
