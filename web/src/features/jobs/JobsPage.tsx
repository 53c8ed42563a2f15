import { PageHeader } from "../../components/ui";

export function JobsPage() {
  return <PageHeader title="JobsPage" description="(placeholder while the page is written)" />;
}
