"""The fine-tuning platform's client package: generated gRPC stubs (finetune.<service>.v1), SDK and CLI."""
