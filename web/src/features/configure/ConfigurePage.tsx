import { PageHeader } from "../../components/ui";

export function ConfigurePage() {
  return <PageHeader title="ConfigurePage" description="(placeholder while the page is written)" />;
}
