"""Training: MLM pre-training and fine-tuning, with the pieces they share.

schedule.py    the learning rate as a pure function of the step
masking.py     BERT's 80/10/10 masking from a seeded generator
batches.py     epoch orders, padding to the longest sequence, packing
"""
