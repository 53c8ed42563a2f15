import { PageHeader } from "../../components/ui";

export function PlaygroundPage() {
  return <PageHeader title="PlaygroundPage" description="(placeholder while the page is written)" />;
}
