import { PageHeader } from "../../components/ui";

export function SweepPage() {
  return <PageHeader title="SweepPage" description="(placeholder while the page is written)" />;
}
