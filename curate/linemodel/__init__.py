"""The learned line model: features of each line in its page (features.py) scored by
gradient-boosted trees (model.py), trained by tools/train_line_model.py."""
