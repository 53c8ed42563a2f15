import { PageHeader } from "../../components/ui";

export function UploadDatasetPage() {
  return <PageHeader title="UploadDatasetPage" description="(placeholder while the page is written)" />;
}
