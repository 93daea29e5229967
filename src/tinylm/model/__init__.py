"""Models: the BERT encoder with its heads (bert.py), the named architectures
(architectures.py), positions inside attention (positions.py), parameter and FLOP accounting
(accounting.py), and the sparse MLM loss (mlm_loss.py). Exports live a floor up, in export/."""

from tinylm.model.bert import BertForMaskedLM, BertForSequenceClassification, load_pretrained

__all__ = ["BertForMaskedLM", "BertForSequenceClassification", "load_pretrained"]
