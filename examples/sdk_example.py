from finetune.client import FinetuningClient, TrainingMonitor

# Initialize clients
client = FinetuningClient()
monitor = TrainingMonitor()

# 1. Upload dataset
dataset_result = client.upload_dataset(
    file_path="./customer_support.csv",
    name="Customer Support Dataset",
    description="Q&A pairs for customer support fine-tuning"
)

# 2. Search and select model
models = client.search_models("llama", limit=5)
selected_model = models[0]

# 3. Create training job
job_config = {
    "name": "Customer Support Fine-tuning",
    "description": "Fine-tune Llama for customer support",
    "configuration": {
        "model": selected_model,
        "dataset": {"uid": dataset_result["uid"]},
        "hyperparameters": {
            "learning_rate": 0.0002,
            "batch_size": 8,
            "epochs": 3
        }
    }
}

job_result = client.create_job(job_config)
job_id = job_result["jobUid"]

# 4. Monitor training
def training_callback(data):
    print(f"Epoch: {data['training']['epoch']}, Loss: {data['training']['train_loss']:.4f}")

monitor.stream_training_data(job_id, training_callback)
