"""The page's About section (and the static export's): what the benchmark measures, how it
is built and scored, and how to cite it. Our own text only: nothing from a results file."""
from __future__ import annotations

DESCRIPTION = (
    "Video NIAH (needle in a video haystack), as in the ViLAMP paper: a short clip from a Video-MME video (the "
    "needle) is placed at a chosen depth inside a long haystack of other videos, and the model answers the "
    "needle's Video-MME multiple-choice question. Accuracy is read against haystack length (in frames, at "
    "1 FPS) and needle depth; chance is 1 / number of options. Each needle question is asked at several "
    "lengths and depths, so intervals and tests treat the cases of one question as one cluster.")

CITATION = """@misc{video_niah_leaderboard,
  title  = {Video NIAH: a needle-in-a-video-haystack benchmark and leaderboard},
  note   = {Built from Video-MME with the protocol of the ViLAMP paper},
  year   = {2026}
}
@inproceedings{vilamp2025,
  title     = {Scaling Video-Language Models to 10K Frames via Hierarchical Differential Distillation},
  author    = {Cheng, Chuanqi and Guan, Jian and Wu, Wei and Yan, Rui},
  booktitle = {International Conference on Machine Learning (ICML)},
  year      = {2025},
  eprint    = {2504.02438}
}
@article{videomme2024,
  title   = {Video-MME: The First-Ever Comprehensive Evaluation Benchmark of Multi-modal LLMs in Video Analysis},
  author  = {Fu, Chaoyou and others},
  journal = {arXiv preprint arXiv:2405.21075},
  year    = {2024}
}"""
