"""Default settings of the stopping rule, apart from its NumPy/SciPy code.

Command-line options need these defaults when a command is defined; keeping them here lets the
review commands start without loading the statistics libraries.
"""

from __future__ import annotations

DEFAULT_RECALL_TARGET = 0.95  # Callaghan & Müller-Hansen 2020 evaluate tau = 0.95 as the main case
DEFAULT_CONFIDENCE = 0.95  # ibid.: alpha = 0.05
# Checkpoints over the whole screen: every 5 % of the records. More checkpoints test sooner after
# the evidence arrives but pay a larger Bonferroni factor K(K+1)/2 (210 for K = 20); see the
# figures in docs/review_screening.md.
DEFAULT_CHECKPOINTS = 20
