import { PageHeader } from "../../components/ui";

export function ModelsPage() {
  return <PageHeader title="ModelsPage" description="(placeholder while the page is written)" />;
}
