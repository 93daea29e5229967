"""What leaves a trained model's folder: Hugging Face's BERT format and back (hf.py), ONNX
(onnx.py), the model card both write (card.py), and committees of classifiers (committee.py: the
soft vote that `tinylm committee`, the committee study and the ONNX committee graph share)."""
