import { PageHeader } from "../../components/ui";

export function ComparePage() {
  return <PageHeader title="ComparePage" description="(placeholder while the page is written)" />;
}
