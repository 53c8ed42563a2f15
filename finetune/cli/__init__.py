"""The `finetune` command: the whole fine-tuning workflow against the gRPC services, from a terminal."""
