"""Training: masked or next-token pre-training and fine-tuning, with the pieces they share.

schedule.py    the learning rate as a pure function of the step
masking.py     BERT's 80/10/10 masking from a seeded generator; next-token labels
batches.py     batch plans (grouped by length), padding to the longest sequence, packing
runtime.py     device, precision, optimizer, distributed ranks, seeds, MFU meter
precision.py   how `--precision auto` chooses (by measured speed)
checkpoint.py  atomic safetensors checkpoints for exact resume
run.py         the run folder: config.yaml, metrics.jsonl, summary.json
tensorboard.py the metrics also in TensorBoard (`--tensorboard DIR`; optional dependency)
trainer.py     the training step and loop, written once (resume, logging, checkpoints)
config.py      the run configs (PretrainConfig, FinetuneConfig) and the named recipes
validation.py  a pre-training's validation loss and whether it left the plateau
pretrain.py    `tinylm pretrain`: the masked-LM (or next-token) objective
finetune.py    `tinylm finetune`: the classification objective (validation, best epoch)
evaluation.py  accuracy, macro-F1, confusion matrix, prediction (always fp32); loading a
               classifier and the task sample it scores
"""
