import { PageHeader } from "../../components/ui";

export function CreateJobPage() {
  return <PageHeader title="CreateJobPage" description="(placeholder while the page is written)" />;
}
