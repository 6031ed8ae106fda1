"""Chat: an editable conversation whose added messages are the labeler's result (``chatmessage`` items).

There is no agreement or consensus of free-form conversations that a machine could settle: two
annotators' added messages are different texts with different turns. Answered Chat messages therefore
send the task to a reviewer (:attr:`core.tags.spec.Fallback.REVIEW`); the validator checks the message
shape (``core.results`` checks roles and limits against the Chat's attributes).
"""
from __future__ import annotations

from core.config import ControlTag
from core.tags.spec import Fallback, TagBehaviour, Value, ValueContext, plain_attrs


def validate_message(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    message = value.get("chatmessage")
    if not isinstance(message, dict) or not isinstance(message.get("content"), str):
        return ['chatmessage: must be {"role", "content"} with text content']
    return []


BEHAVIOURS = {
    "Chat": TagBehaviour(family="chat", attrs=plain_attrs, validate=validate_message, agreement=None,
                         consensus=None, gold=None, fallback=Fallback.REVIEW),
}
