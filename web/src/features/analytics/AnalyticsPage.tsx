import { PageHeader } from "../../components/ui";

export function AnalyticsPage() {
  return <PageHeader title="AnalyticsPage" description="(placeholder while the page is written)" />;
}
