// "Use this dataset": the workflow's dataset becomes this one, and the guide goes on to pick a model.
import { useNavigate } from "react-router";
import type { Dataset } from "../../../lib/api";
import { updateWorkflow } from "../../../lib/workflow";

export function useChooseDataset() {
  const navigate = useNavigate();
  return (dataset: Dataset) => {
    updateWorkflow({ dataset: { uid: dataset.uid ?? "", name: dataset.display_name || dataset.uid || "" } });
    navigate("/models");
  };
}
