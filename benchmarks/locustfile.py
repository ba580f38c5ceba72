"""Locust users for benchmarks/serving.py: one tweet per /classify request, no think time.

`FastHttpUser` (geventhttpclient) so that 64 users on a small machine measure the server rather
than the load generator.
"""

from __future__ import annotations

import itertools

from locust import FastHttpUser, constant, task

TWEETS = [
    "@AppleSupport my phone keeps restarting since the update",
    "@12345 Sorry to hear that! Please DM us your order number ^JK",
    "@AmazonHelp my package never arrived and nobody answers",
    "@67890 We'd like to help. Send us a DM with your email",
]
_next = itertools.cycle(TWEETS)


class ClassifyUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def classify(self) -> None:
        self.client.post("/classify", json={"texts": [next(_next)]}, name="/classify")
