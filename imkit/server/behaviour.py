"""How a simulated user answers: :class:`Behaviour`.

``answer`` (the default), ``busy`` (486), ``decline`` (603), ``no-answer``
(rings; a final ``timeout_status`` after ``timeout`` seconds, or nothing
until the caller cancels: 487), ``delay`` (rings ``delay`` seconds, then
answers) and ``reject-replaces`` (answers, except an INVITE with Replaces,
RFC 3891, which gets ``replaces_status``).  Once in a session it chats back:
an echo, scripted replies, or nothing.

Written as text (``users={"carol": "busy"}``, the command line):
``answer``, ``busy``, ``decline``, ``no-answer[:SECONDS[:STATUS]]``,
``delay[:SECONDS]``, ``reject-replaces[:STATUS]``; ``+active`` appended
makes the user open the MSRP connection when the offer lets it choose
(``a=setup:actpass``, RFC 6135), ``+silent`` keeps it quiet.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from imkit.errors import LocalProtocolError
from imkit.sip.sdp import Setup

__all__ = ["ECHO_PREFIX", "Answer", "Behaviour", "Chat"]

#: What an echo starts with (a simulated user never answers a message that does).
ECHO_PREFIX = "echo: "


class Answer(enum.Enum):
    ANSWER = "answer"
    BUSY = "busy"
    DECLINE = "decline"
    NO_ANSWER = "no-answer"
    DELAY = "delay"
    REJECT_REPLACES = "reject-replaces"


class Chat(enum.Enum):
    """What a simulated user says in a session."""

    ECHO = "echo"        # sends every message back, prefixed
    SCRIPT = "script"    # answers the n-th message with replies[n] (then falls silent)
    SILENT = "silent"


@dataclass(frozen=True)
class Behaviour:
    answer: Answer = Answer.ANSWER
    #: DELAY: seconds of ringing before the 200
    delay: float = 1.0
    #: NO_ANSWER: seconds of ringing before ``timeout_status``; None rings until CANCEL
    timeout: float | None = None
    timeout_status: int = 480
    #: REJECT_REPLACES: the answer to an INVITE with Replaces (481 or 403 make sense)
    replaces_status: int = 481
    chat: Chat = Chat.ECHO
    replies: tuple[str, ...] = ()
    #: sent as soon as the MSRP connection is up
    greeting: str | None = None
    #: our a=setup when the offer says actpass: PASSIVE waits for the offerer
    msrp_setup: Setup = Setup.PASSIVE

    def __post_init__(self) -> None:
        if self.delay < 0 or (self.timeout is not None and self.timeout < 0):
            raise LocalProtocolError("delays are not negative")
        for status in (self.timeout_status, self.replaces_status):
            if not 300 <= status <= 699:
                raise LocalProtocolError(f"a failure status is 300-699, not {status}")
        if self.msrp_setup not in (Setup.ACTIVE, Setup.PASSIVE):
            raise LocalProtocolError("msrp_setup is active or passive")

    @classmethod
    def of(cls, value: Behaviour | Answer | str) -> Behaviour:
        """A behaviour from itself, an :class:`Answer`, or its text form."""
        if isinstance(value, Behaviour):
            return value
        if isinstance(value, Answer):
            return cls(value)
        return cls.parse(value)

    @classmethod
    def parse(cls, text: str) -> Behaviour:
        """The text form (see the module docstring)."""
        words = text.strip().lower().split("+")
        head, *flags = words
        name, *args = head.split(":")
        try:
            answer = Answer(name)
        except ValueError:
            raise LocalProtocolError(f"unknown behaviour {name!r}: one of "
                                     + ", ".join(a.value for a in Answer)) from None
        options: dict[str, object] = {}
        try:
            if answer is Answer.DELAY and args:
                options["delay"] = float(args[0])
            elif answer is Answer.NO_ANSWER and args:
                options["timeout"] = float(args[0])
                if len(args) > 1:
                    options["timeout_status"] = int(args[1])
            elif answer is Answer.REJECT_REPLACES and args:
                options["replaces_status"] = int(args[0])
            elif args:
                raise LocalProtocolError(f"behaviour {name!r} takes no arguments")
        except ValueError:
            raise LocalProtocolError(f"bad arguments in behaviour {text!r}") from None
        if len(args) > 2 or (answer is not Answer.NO_ANSWER and len(args) > 1):
            raise LocalProtocolError(f"too many arguments in behaviour {text!r}")
        behaviour = cls(answer, **options)  # type: ignore[arg-type]
        for flag in flags:
            if flag == "active":
                behaviour = replace(behaviour, msrp_setup=Setup.ACTIVE)
            elif flag == "silent":
                behaviour = replace(behaviour, chat=Chat.SILENT)
            else:
                raise LocalProtocolError(f"unknown behaviour flag {flag!r} (active, silent)")
        return behaviour

    def reply(self, text: str, index: int) -> str | None:
        """What to say to the ``index``-th message (from 0) ``text``."""
        if self.chat is Chat.ECHO:
            return f"{ECHO_PREFIX}{text}"
        if self.chat is Chat.SCRIPT and index < len(self.replies):
            return self.replies[index]
        return None

    def __str__(self) -> str:
        text = self.answer.value
        if self.answer is Answer.DELAY:
            text += f":{self.delay:g}"
        elif self.answer is Answer.NO_ANSWER and self.timeout is not None:
            text += f":{self.timeout:g}:{self.timeout_status}"
        elif self.answer is Answer.REJECT_REPLACES:
            text += f":{self.replaces_status}"
        if self.msrp_setup is Setup.ACTIVE:
            text += "+active"
        if self.chat is Chat.SILENT:
            text += "+silent"
        return text
