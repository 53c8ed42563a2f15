import { PageHeader } from "../../components/ui";

export function OverviewPage() {
  return <PageHeader title="OverviewPage" description="(placeholder while the page is written)" />;
}
