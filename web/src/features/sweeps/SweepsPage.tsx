import { PageHeader } from "../../components/ui";

export function SweepsPage() {
  return <PageHeader title="SweepsPage" description="(placeholder while the page is written)" />;
}
