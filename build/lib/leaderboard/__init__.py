"""The Video NIAH leaderboard: a Streamlit page over a results folder and a benchmark.

``leaderboard.data`` loads and aggregates, ``leaderboard.upload`` validates uploads,
``leaderboard/app.py`` is the page; ``python -m leaderboard`` launches it.
"""
