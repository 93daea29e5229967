"""Models: the BERT encoder with its heads (bert.py), the named architectures
(architectures.py), parameter and FLOP accounting (accounting.py), and conversion to and from
Hugging Face's BERT (hf.py)."""

from tinylm.model.bert import BertForMaskedLM, BertForSequenceClassification, load_pretrained

__all__ = ["BertForMaskedLM", "BertForSequenceClassification", "load_pretrained"]
