"""Fine-tuning datasets built from the user's own history (``lora.build_lora_dataset``)."""
