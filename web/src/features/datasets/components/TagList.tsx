// A dataset's tags; with `onPick`, each is a button that filters the list by it.
import { Badge } from "../../../components/ui";

export function TagList({ tags, onPick }: { tags?: string[]; onPick?: (tag: string) => void }) {
  if (!tags?.length) return null;
  return (
    <ul className="flex flex-wrap gap-1" aria-label="Tags">
      {tags.map((tag) => (
        <li key={tag}>
          {onPick ? (
            <button type="button" onClick={() => onPick(tag)} title={`Show only datasets tagged ${tag}`}
              className="rounded-full focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-indigo-600">
              <Badge tone="indigo">{tag}</Badge>
            </button>
          ) : (
            <Badge tone="indigo">{tag}</Badge>
          )}
        </li>
      ))}
    </ul>
  );
}
