import { PageHeader } from "../../components/ui";

export function DatasetPage() {
  return <PageHeader title="DatasetPage" description="(placeholder while the page is written)" />;
}
