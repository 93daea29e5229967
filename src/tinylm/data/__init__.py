"""The data layer: pre-training corpora, classification tasks and their token cache."""
