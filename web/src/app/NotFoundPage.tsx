import { Link, useLocation } from "react-router";
import { Empty, PageHeader } from "../components/ui";

export function NotFoundPage() {
  const { pathname } = useLocation();
  return (
    <>
      <PageHeader title="Page not found" />
      <Empty title={`The dashboard has no page at ${pathname}.`}>
        <Link className="text-indigo-700 underline" to="/">Go to the overview</Link>
      </Empty>
    </>
  );
}
