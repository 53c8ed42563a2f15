// A compared job as a table's column header: its colour (as in the charts), name linking to its page, state.
import { Link } from "react-router";
import { JobStateBadge } from "../../../components/JobStateBadge";

export interface ColumnJob {
  id: string;
  name: string;
  color: string;
  state?: string;
}

export function JobHeader({ job }: { job: ColumnJob }) {
  return (
    <th scope="col" className="min-w-40 px-3 py-2 text-left align-top">
      <div className="flex items-center gap-1.5">
        <span aria-hidden className="size-2.5 shrink-0 rounded-full" style={{ background: job.color }} />
        <Link to={`/jobs/${job.id}`} className="text-sm font-semibold text-indigo-700 hover:underline">{job.name}</Link>
      </div>
      <div className="mt-1"><JobStateBadge state={job.state} /></div>
    </th>
  );
}
