import { PageHeader } from "../../components/ui";

export function DatasetsPage() {
  return <PageHeader title="DatasetsPage" description="(placeholder while the page is written)" />;
}
