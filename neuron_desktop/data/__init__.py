"""Data for training and evaluation alike: photo folders and splits, and the synthesis of
damage, hole masks and colour hints. Both ``train`` and ``evaluation`` import from here."""
