"""A reply's messages on `replies` share one id scheme, whoever sends them (the stream's draft,
a person's decision), so a consumer dropping repeats by `message_id` keeps one per decision."""

from __future__ import annotations

from tweetcare.tickets.announce import with_message_id


def test_a_decision_is_one_message_id_and_another_decision_another() -> None:
    reply = {"reply_id": "RE-1", "conversation_id": "c1", "decision": "approved", "text": "hi"}
    approved = with_message_id(reply)
    assert approved["message_id"] == "reply:RE-1:approved"
    assert with_message_id(dict(reply))["message_id"] == approved["message_id"]  # a resend
    assert with_message_id({**reply, "decision": "rejected"})["message_id"] == "reply:RE-1:rejected"
    assert {k: v for k, v in approved.items() if k != "message_id"} == reply
