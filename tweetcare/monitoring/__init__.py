"""Watching the stream: drift and data quality against the champion's training data, and
escalation alerts (complaint spikes, outages, viral threads) over the stream's windows.

Pure logic (`features`, `drift`, `escalation`, `incidents`, `scenarios`) is apart from I/O
(`lake`, `alerts`, `tracking`, `runner`); `run_monitor` is the one entry point a scheduler, the
stream or `tweetcare monitor run` calls.
"""
