"""The four SIP transaction state machines (RFC 3261 section 17, RFC 6026).

Each machine is data, as in h11: a transition table mapping ``(state, event)``
to ``(new state, steps)``, plus the timers each state may keep running.  One
small interpreter (:class:`Transaction`) runs any of the four tables:

* INVITE client, RFC 3261 17.1.1 (figure 5), with RFC 6026's "Accepted" state;
* non-INVITE client, 17.1.2 (figure 6);
* INVITE server, 17.2.1 (figure 7), with RFC 6026's "Accepted" state and the
  UAS core's 2xx retransmission of 13.3.1.4 (done here so the sans-IO layer
  absorbs the ACK for a 2xx and keeps retransmitting until it comes);
* non-INVITE server, 17.2.2 (figure 8).

RFC 6026 updates section 17: a 2xx no longer destroys the INVITE transactions
at once.  The client keeps a transaction in "Accepted" for 64*T1 (Timer M) so
retransmitted or forked 2xx reach the TU; the server keeps one (Timer L) so a
retransmitted INVITE is absorbed instead of looking like a new request.

A transaction whose exchange is over but which still absorbs retransmissions
(client "Completed"/"Accepted", server "Completed" of a non-INVITE,
"Confirmed", ACKed "Accepted": :data:`SETTLED`) can be released by its owner:
it drops the parsed messages and keeps the bytes a retransmission re-sends.

Time is an argument: every entry point takes ``now`` and every transaction
tells its next deadline; nothing here reads a clock or touches a socket.
Outputs are frozen dataclasses (:class:`SendMessage`, :class:`ResponseReceived`,
:class:`RequestReceived`, :class:`TimedOut`, ...).  The same tables give the
graphviz state diagrams (:func:`state_diagram`, :func:`state_digraph`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from imkit.errors import LocalProtocolError
from imkit.sip.builders import make_ack_for_non2xx, make_response
from imkit.sip.ids import MAGIC_COOKIE
from imkit.sip.message import Request, Response, SIPMessage, parse

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "INVITE_CLIENT",
    "INVITE_SERVER",
    "MACHINES",
    "NON_INVITE_CLIENT",
    "NON_INVITE_SERVER",
    "RELIABLE_TRANSPORTS",
    "SETTLED",
    "AckNotReceived",
    "Arm",
    "CancelReceived",
    "ClientTransaction",
    "Destination",
    "Do",
    "Event",
    "Interval",
    "Kind",
    "Machine",
    "OnReliable",
    "Output",
    "RequestReceived",
    "ResponseReceived",
    "SendMessage",
    "ServerTransaction",
    "State",
    "Stop",
    "StrayResponse",
    "Terminated",
    "TimedOut",
    "Timer",
    "Timers",
    "Transaction",
    "Transition",
    "TransportFailed",
    "is_reliable",
    "state_diagram",
    "state_digraph",
]


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class Timers:
    """RFC 3261 17.1.1.1 / table 4: T1 "RTT Estimate" 500 ms, T2 "maximum
    retransmit interval for non-INVITE requests and INVITE responses" 4 s,
    T4 "maximum duration a message will remain in the network" 5 s; Timer D
    is "> 32s for UDP"."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0

    def __post_init__(self) -> None:
        if not (0 < self.t1 <= self.t2) or self.t4 <= 0 or self.d < 0:
            raise LocalProtocolError(f"bad timer values {self}")


#: Transports that retransmit by themselves (RFC 3261 17.1.1.2: "reliable").
RELIABLE_TRANSPORTS = frozenset({"TCP", "TLS", "SCTP", "TLS-SCTP", "WS", "WSS"})


def is_reliable(transport: str) -> bool:
    return transport.upper() in RELIABLE_TRANSPORTS


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a message goes (or came from): transport, host and port, and for
    a stream the connection a request arrived on (RFC 3261 18.2.2: responses
    go back over it)."""

    transport: str
    host: str
    port: int
    connection: int | None = None

    @property
    def reliable(self) -> bool:
        return is_reliable(self.transport)

    def __str__(self) -> str:
        return f"{self.transport} {self.host}:{self.port}"


# ---------------------------------------------------------------- vocabulary


class State(enum.Enum):
    """The states of RFC 3261 figures 5-8 and RFC 6026 ("Accepted")."""

    INITIAL = "Initial"
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class Timer(enum.Enum):
    """RFC 3261 table 4 timers, RFC 6026's L and M, and two timers the RFC
    describes without naming: the UAS 2xx retransmission (13.3.1.4) and the
    64*T1 wait for a final response after CANCEL (9.1)."""

    A = "A"
    B = "B"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"
    J = "J"
    K = "K"
    L = "L"
    M = "M"
    RETRANSMIT_2XX = "2xx"
    CANCEL_WAIT = "CANCEL wait"


class Event(enum.Enum):
    """What can happen to a transaction."""

    TU_REQUEST = "request from TU"
    TU_DISCARD = "TU gives up before sending"
    CANCEL_SENT = "CANCEL sent"
    REQUEST = "request"
    ACK = "ACK"
    ACK_2XX = "ACK for 2xx"
    RESPONSE_1XX = "1xx"
    RESPONSE_2XX = "2xx"
    RESPONSE_300_699 = "300-699"
    TU_1XX = "1xx from TU"
    TU_2XX = "2xx from TU"
    TU_300_699 = "300-699 from TU"
    TRANSPORT_ERROR = "transport error"
    TIMER_A = "Timer A"
    TIMER_B = "Timer B"
    TIMER_D = "Timer D"
    TIMER_E = "Timer E"
    TIMER_F = "Timer F"
    TIMER_G = "Timer G"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TIMER_K = "Timer K"
    TIMER_L = "Timer L"
    TIMER_M = "Timer M"
    TIMER_RETRANSMIT_2XX = "2xx retransmit timer"
    TIMER_CANCEL_WAIT = "64*T1 after CANCEL"


TIMER_EVENT: Mapping[Timer, Event] = {t: Event[f"TIMER_{t.name}"] for t in Timer}


class Interval(enum.Enum):
    """How long a timer is set for (RFC 3261 table 4)."""

    T1 = "T1"
    T2 = "T2"
    T4 = "T4"
    SIXTY_FOUR_T1 = "64*T1"
    TIMER_D = "32s"
    DOUBLE = "2x"
    DOUBLE_MAX_T2 = "min(2x, T2)"


class OnReliable(enum.Enum):
    """What a timer does on a reliable transport."""

    SAME = "same"
    SKIP = "not set"  # retransmission timers: "only if unreliable"
    ZERO = "0s"  # buffering timers: "0s for reliable transports"


class Do(enum.Enum):
    """The non-timer steps a transition may take."""

    SEND_REQUEST = "send request"
    RETRANSMIT_REQUEST = "retransmit request"
    SEND_ACK = "send ACK"
    RESEND_ACK = "resend ACK"
    RESEND_2XX_ACK = "resend ACK of this 2xx"
    PASS_RESPONSE = "response to TU"
    PASS_REQUEST = "request to TU"
    PASS_ACK = "ACK to TU"
    SEND_TRYING = "send 100"
    SEND_RESPONSE = "send response"
    RESEND_PROVISIONAL = "resend last 1xx"
    RESEND_FINAL = "resend final"
    RESEND_LAST = "resend last response"
    MARK_ACKED = "note ACK"
    REPORT_TIMEOUT = "timeout to TU"
    REPORT_TRANSPORT_ERROR = "transport error to TU"
    REPORT_IF_UNACKED = "no ACK to TU"


@dataclass(frozen=True, slots=True)
class Arm:
    """Start (or restart) a timer."""

    timer: Timer
    interval: Interval
    on_reliable: OnReliable = OnReliable.SAME

    def __str__(self) -> str:
        note = "" if self.on_reliable is OnReliable.SAME else f", {self.on_reliable.value} if reliable"
        return f"Timer {self.timer.value}={self.interval.value}{note}"


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop a timer that the new state still allows."""

    timer: Timer

    def __str__(self) -> str:
        return f"stop {self.timer.value}"


Step = Do | Arm | Stop


@dataclass(frozen=True, slots=True)
class Transition:
    target: State
    steps: tuple[Step, ...] = ()


class Kind(enum.Enum):
    INVITE_CLIENT = "INVITE client (RFC 3261 17.1.1)"
    NON_INVITE_CLIENT = "non-INVITE client (RFC 3261 17.1.2)"
    INVITE_SERVER = "INVITE server (RFC 3261 17.2.1)"
    NON_INVITE_SERVER = "non-INVITE server (RFC 3261 17.2.2)"


@dataclass(frozen=True)
class Machine:
    """One transaction state machine as data."""

    kind: Kind
    table: Mapping[tuple[State, Event], Transition]
    #: timers a state lets run; entering a state stops every other timer.
    timers: Mapping[State, frozenset[Timer]]
    initial: State = State.INITIAL

    @property
    def states(self) -> list[State]:
        seen = [self.initial]
        for (state, _), transition in self.table.items():
            for s in (state, transition.target):
                if s not in seen:
                    seen.append(s)
        return seen


# ---------------------------------------------------------------- the tables

_A0 = Arm(Timer.A, Interval.T1, OnReliable.SKIP)
_E0 = Arm(Timer.E, Interval.T1, OnReliable.SKIP)
_G0 = Arm(Timer.G, Interval.T1, OnReliable.SKIP)
_R0 = Arm(Timer.RETRANSMIT_2XX, Interval.T1)

INVITE_CLIENT = Machine(
    Kind.INVITE_CLIENT,
    {
        # 17.1.1.2: "the client transaction MUST pass the request to the transport
        # layer ... If an unreliable transport is being used, the client
        # transaction MUST start timer A with a value of T1 ... For any transport,
        # the client transaction MUST start timer B with a value of 64*T1 seconds"
        (State.INITIAL, Event.TU_REQUEST): Transition(
            State.CALLING, (Do.SEND_REQUEST, _A0, Arm(Timer.B, Interval.SIXTY_FOUR_T1))
        ),
        # "When timer A fires, the client transaction MUST retransmit the request
        # ... and MUST reset the timer with a value of 2*T1."
        (State.CALLING, Event.TIMER_A): Transition(
            State.CALLING,
            (Do.RETRANSMIT_REQUEST, Arm(Timer.A, Interval.DOUBLE, OnReliable.SKIP)),
        ),
        # "If the client transaction is still in the "Calling" state when timer B
        # fires, the client transaction SHOULD inform the TU that a timeout has occurred."
        (State.CALLING, Event.TIMER_B): Transition(State.TERMINATED, (Do.REPORT_TIMEOUT,)),
        (State.CALLING, Event.TRANSPORT_ERROR): Transition(
            State.TERMINATED, (Do.REPORT_TRANSPORT_ERROR,)
        ),
        # "If the client transaction receives a provisional response while in the
        # "Calling" state, it transitions to the "Proceeding" state. ... the
        # provisional response MUST be passed to the TU."
        (State.CALLING, Event.RESPONSE_1XX): Transition(State.PROCEEDING, (Do.PASS_RESPONSE,)),
        (State.PROCEEDING, Event.RESPONSE_1XX): Transition(State.PROCEEDING, (Do.PASS_RESPONSE,)),
        # "When in either the "Calling" or "Proceeding" states, reception of a
        # response with status code from 300-699 MUST cause the client transaction
        # to transition to "Completed".  The client transaction MUST pass the
        # received response up to the TU, and the client transaction MUST generate
        # an ACK request ... set timer D"
        (State.CALLING, Event.RESPONSE_300_699): Transition(
            State.COMPLETED,
            (Do.PASS_RESPONSE, Do.SEND_ACK, Arm(Timer.D, Interval.TIMER_D, OnReliable.ZERO)),
        ),
        (State.PROCEEDING, Event.RESPONSE_300_699): Transition(
            State.COMPLETED,
            (Do.PASS_RESPONSE, Do.SEND_ACK, Arm(Timer.D, Interval.TIMER_D, OnReliable.ZERO)),
        ),
        # RFC 6026 7.2: "If a 2xx response is received while the client INVITE
        # state machine is in the "Calling" or "Proceeding" states, it MUST
        # transition to the "Accepted" state, pass the 2xx response to the TU, and
        # set Timer M to 64*T1."
        (State.CALLING, Event.RESPONSE_2XX): Transition(
            State.ACCEPTED, (Do.PASS_RESPONSE, Arm(Timer.M, Interval.SIXTY_FOUR_T1))
        ),
        (State.PROCEEDING, Event.RESPONSE_2XX): Transition(
            State.ACCEPTED, (Do.PASS_RESPONSE, Arm(Timer.M, Interval.SIXTY_FOUR_T1))
        ),
        # RFC 3261 9.1: "If there is no final response for the original request in
        # 64*T1 seconds ... the client SHOULD then consider the original
        # transaction cancelled and SHOULD destroy the client transaction"
        (State.PROCEEDING, Event.CANCEL_SENT): Transition(
            State.PROCEEDING, (Arm(Timer.CANCEL_WAIT, Interval.SIXTY_FOUR_T1),)
        ),
        (State.PROCEEDING, Event.TIMER_CANCEL_WAIT): Transition(
            State.TERMINATED, (Do.REPORT_TIMEOUT,)
        ),
        # "Any retransmissions of the final response that are received while in the
        # "Completed" state MUST cause the ACK to be re-passed to the transport
        # layer for retransmission, but the newly received response MUST NOT be
        # passed up to the TU."
        (State.COMPLETED, Event.RESPONSE_300_699): Transition(State.COMPLETED, (Do.RESEND_ACK,)),
        # "If timer D fires while the client transaction is in the "Completed"
        # state, the client transaction MUST move to the terminated state."
        (State.COMPLETED, Event.TIMER_D): Transition(State.TERMINATED),
        (State.COMPLETED, Event.TRANSPORT_ERROR): Transition(
            State.TERMINATED, (Do.REPORT_TRANSPORT_ERROR,)
        ),
        # RFC 6026 7.2: "any 2xx responses that match this client transaction and
        # that are received while in the "Accepted" state MUST be passed up to the TU."
        (State.ACCEPTED, Event.RESPONSE_2XX): Transition(
            State.ACCEPTED, (Do.PASS_RESPONSE, Do.RESEND_2XX_ACK)
        ),
        # "If Timer M fires while the client transaction is in the "Accepted"
        # state, the client transaction MUST move to the "Terminated" state."
        (State.ACCEPTED, Event.TIMER_M): Transition(State.TERMINATED),
    },
    {
        State.CALLING: frozenset({Timer.A, Timer.B}),
        State.PROCEEDING: frozenset({Timer.CANCEL_WAIT}),
        State.COMPLETED: frozenset({Timer.D}),
        State.ACCEPTED: frozenset({Timer.M}),
    },
)

_NON_INVITE_CLIENT_FINAL = Transition(
    State.COMPLETED, (Do.PASS_RESPONSE, Arm(Timer.K, Interval.T4, OnReliable.ZERO))
)

NON_INVITE_CLIENT = Machine(
    Kind.NON_INVITE_CLIENT,
    {
        # 17.1.2.2: "the request is passed to the transport layer ... timer F MUST
        # be set to fire in 64*T1 seconds ... If an unreliable transport is in use,
        # the client transaction MUST set timer E to fire in T1 seconds."
        (State.INITIAL, Event.TU_REQUEST): Transition(
            State.TRYING, (Do.SEND_REQUEST, _E0, Arm(Timer.F, Interval.SIXTY_FOUR_T1))
        ),
        # RFC 3261 9.1: a CANCEL whose INVITE got a final response before any
        # provisional one is never sent ("the client MUST wait for the arrival of a
        # provisional response before sending the request").
        (State.INITIAL, Event.TU_DISCARD): Transition(State.TERMINATED),
        # "If timer E fires while still in this state, the timer is reset, but this
        # time with a value of MIN(2*T1, T2). ... the request is retransmitted"
        (State.TRYING, Event.TIMER_E): Transition(
            State.TRYING,
            (Do.RETRANSMIT_REQUEST, Arm(Timer.E, Interval.DOUBLE_MAX_T2, OnReliable.SKIP)),
        ),
        # "If Timer F fires while the client transaction is still in the "Trying"
        # state, the client transaction SHOULD inform the TU about the timeout"
        (State.TRYING, Event.TIMER_F): Transition(State.TERMINATED, (Do.REPORT_TIMEOUT,)),
        (State.TRYING, Event.TRANSPORT_ERROR): Transition(
            State.TERMINATED, (Do.REPORT_TRANSPORT_ERROR,)
        ),
        # "If a provisional response is received while in the "Trying" state, the
        # response MUST be passed to the TU, and then the client transaction SHOULD
        # move to the "Proceeding" state."
        (State.TRYING, Event.RESPONSE_1XX): Transition(State.PROCEEDING, (Do.PASS_RESPONSE,)),
        # "If a final response (status codes 200-699) is received while in the
        # "Trying" state, the response MUST be passed to the TU, and the client
        # transaction MUST transition to the "Completed" state."
        (State.TRYING, Event.RESPONSE_2XX): _NON_INVITE_CLIENT_FINAL,
        (State.TRYING, Event.RESPONSE_300_699): _NON_INVITE_CLIENT_FINAL,
        # "If Timer E fires while in the "Proceeding" state, the request MUST be
        # passed to the transport layer for retransmission, and Timer E MUST be
        # reset with a value of T2 seconds."
        (State.PROCEEDING, Event.TIMER_E): Transition(
            State.PROCEEDING,
            (Do.RETRANSMIT_REQUEST, Arm(Timer.E, Interval.T2, OnReliable.SKIP)),
        ),
        # "If timer F fires while in the "Proceeding" state, the TU MUST be
        # informed of a timeout, and the client transaction MUST transition to the
        # terminated state."
        (State.PROCEEDING, Event.TIMER_F): Transition(State.TERMINATED, (Do.REPORT_TIMEOUT,)),
        (State.PROCEEDING, Event.TRANSPORT_ERROR): Transition(
            State.TERMINATED, (Do.REPORT_TRANSPORT_ERROR,)
        ),
        (State.PROCEEDING, Event.RESPONSE_1XX): Transition(State.PROCEEDING, (Do.PASS_RESPONSE,)),
        (State.PROCEEDING, Event.RESPONSE_2XX): _NON_INVITE_CLIENT_FINAL,
        (State.PROCEEDING, Event.RESPONSE_300_699): _NON_INVITE_CLIENT_FINAL,
        # "The "Completed" state exists to buffer any additional response
        # retransmissions that may be received"
        (State.COMPLETED, Event.RESPONSE_1XX): Transition(State.COMPLETED),
        (State.COMPLETED, Event.RESPONSE_2XX): Transition(State.COMPLETED),
        (State.COMPLETED, Event.RESPONSE_300_699): Transition(State.COMPLETED),
        # "If Timer K fires while in this state, the client transaction MUST
        # transition to the "Terminated" state."
        (State.COMPLETED, Event.TIMER_K): Transition(State.TERMINATED),
    },
    {
        State.TRYING: frozenset({Timer.E, Timer.F}),
        State.PROCEEDING: frozenset({Timer.E, Timer.F}),
        State.COMPLETED: frozenset({Timer.K}),
    },
)

_INVITE_SERVER_ACCEPT = Transition(
    State.ACCEPTED,
    (Do.SEND_RESPONSE, _R0, Arm(Timer.L, Interval.SIXTY_FOUR_T1)),
)

INVITE_SERVER = Machine(
    Kind.INVITE_SERVER,
    {
        # 17.2.1: "When a server transaction is constructed for a request, it
        # enters the "Proceeding" state.  The server transaction MUST generate a
        # 100 (Trying) response unless it knows that the TU will generate a
        # provisional or final response within 200 ms" -- imkit sends it at once.
        (State.INITIAL, Event.REQUEST): Transition(
            State.PROCEEDING, (Do.PASS_REQUEST, Do.SEND_TRYING)
        ),
        # "If a request retransmission is received while in the "Proceeding"
        # state, the most recent provisional response that was received from the TU
        # MUST be passed to the transport layer for retransmission."
        (State.PROCEEDING, Event.REQUEST): Transition(State.PROCEEDING, (Do.RESEND_PROVISIONAL,)),
        # "The TU passes any number of provisional responses to the server
        # transaction.  So long as the server transaction is in the "Proceeding"
        # state, each of these MUST be passed to the transport layer"
        (State.PROCEEDING, Event.TU_1XX): Transition(State.PROCEEDING, (Do.SEND_RESPONSE,)),
        # RFC 6026 7.1: "If, while in the "Proceeding" state, the TU passes a 2xx
        # response to the server transaction, the server transaction MUST pass this
        # response to the transport layer for transmission ... and MUST set Timer L
        # to 64*T1 and move to the "Accepted" state."  RFC 3261 13.3.1.4: "The 2xx
        # response is passed to the transport with an interval that starts at T1
        # seconds and doubles for each retransmission until it reaches T2 seconds
        # ... This is independent of whatever transport protocols are used"
        (State.PROCEEDING, Event.TU_2XX): _INVITE_SERVER_ACCEPT,
        # "If, while in the "Proceeding" state, the TU passes a response with status
        # code from 300 to 699 to the server transaction, the response MUST be passed
        # to the transport layer for transmission, and the state machine MUST enter
        # the "Completed" state.  For unreliable transports, timer G is set to fire in
        # T1 seconds ... timer H MUST be set to fire in 64*T1 seconds for all transports."
        (State.PROCEEDING, Event.TU_300_699): Transition(
            State.COMPLETED, (Do.SEND_RESPONSE, _G0, Arm(Timer.H, Interval.SIXTY_FOUR_T1))
        ),
        (State.PROCEEDING, Event.TRANSPORT_ERROR): Transition(
            State.TERMINATED, (Do.REPORT_TRANSPORT_ERROR,)
        ),
        # "If timer G fires, the response is passed to the transport layer once more
        # for retransmission, and timer G is set to fire in MIN(2*T1, T2) seconds."
        (State.COMPLETED, Event.TIMER_G): Transition(
            State.COMPLETED,
            (Do.RESEND_FINAL, Arm(Timer.G, Interval.DOUBLE_MAX_T2, OnReliable.SKIP)),
        ),
        # "if a request retransmission is received while in the "Completed" state,
        # the server SHOULD pass the response to the transport for retransmission."
        (State.COMPLETED, Event.REQUEST): Transition(State.COMPLETED, (Do.RESEND_FINAL,)),
        # "If an ACK is received while the server transaction is in the "Completed"
        # state, the server transaction MUST transition to the "Confirmed" state.
        # ... timer I is set to fire in T4 seconds for unreliable transports, and
        # zero seconds for reliable transports."
        (State.COMPLETED, Event.ACK): Transition(
            State.CONFIRMED, (Arm(Timer.I, Interval.T4, OnReliable.ZERO),)
        ),
        # "If timer H fires while in the "Completed" state, it implies that the ACK
        # was never received.  In this case, the server transaction MUST transition
        # to the "Terminated" state, and MUST indicate to the TU that a transaction
        # failure has occurred."
        (State.COMPLETED, Event.TIMER_H): Transition(State.TERMINATED, (Do.REPORT_TIMEOUT,)),
        (State.COMPLETED, Event.TRANSPORT_ERROR): Transition(
            State.TERMINATED, (Do.REPORT_TRANSPORT_ERROR,)
        ),
        # "The purpose of the "Confirmed" state is to absorb any additional ACK
        # messages that arrive"
        (State.CONFIRMED, Event.ACK): Transition(State.CONFIRMED),
        # "Once timer I fires, the server MUST transition to the "Terminated" state."
        (State.CONFIRMED, Event.TIMER_I): Transition(State.TERMINATED),
        # RFC 6026 7.1: "The server transaction MUST NOT generate 2xx retransmissions
        # on its own.  Any retransmission of the 2xx response passed from the TU to
        # the transaction while in the "Accepted" state MUST be passed to the
        # transport layer for transmission.  Any INVITEs received in the "Accepted"
        # state MUST be absorbed by the server transaction."  Here the 13.3.1.4
        # retransmission of the TU is kept by the layer, with its own timer.
        (State.ACCEPTED, Event.REQUEST): Transition(State.ACCEPTED),
        (State.ACCEPTED, Event.TU_2XX): Transition(State.ACCEPTED, (Do.SEND_RESPONSE,)),
        (State.ACCEPTED, Event.TIMER_RETRANSMIT_2XX): Transition(
            State.ACCEPTED, (Do.RESEND_FINAL, Arm(Timer.RETRANSMIT_2XX, Interval.DOUBLE_MAX_T2))
        ),
        # 13.3.1.4: "Response retransmissions cease when an ACK request for the
        # response is received."  RFC 6026 7.1: ACKs in "Accepted" are passed to the TU.
        (State.ACCEPTED, Event.ACK_2XX): Transition(
            State.ACCEPTED, (Do.MARK_ACKED, Stop(Timer.RETRANSMIT_2XX), Do.PASS_ACK)
        ),
        (State.ACCEPTED, Event.ACK): Transition(
            State.ACCEPTED, (Do.MARK_ACKED, Stop(Timer.RETRANSMIT_2XX), Do.PASS_ACK)
        ),
        # 13.3.1.4: "If the server retransmits the 2xx response for 64*T1 seconds
        # without receiving an ACK, the dialog is confirmed, but the session SHOULD
        # be terminated."  RFC 6026: "If Timer L fires while the INVITE server
        # transaction is in the "Accepted" state, the transaction MUST transition to
        # the "Terminated" state."
        (State.ACCEPTED, Event.TIMER_L): Transition(State.TERMINATED, (Do.REPORT_IF_UNACKED,)),
    },
    {
        State.COMPLETED: frozenset({Timer.G, Timer.H}),
        State.CONFIRMED: frozenset({Timer.I}),
        State.ACCEPTED: frozenset({Timer.L, Timer.RETRANSMIT_2XX}),
    },
)

_NON_INVITE_SERVER_FINAL = Transition(
    State.COMPLETED, (Do.SEND_RESPONSE, Arm(Timer.J, Interval.SIXTY_FOUR_T1, OnReliable.ZERO))
)

NON_INVITE_SERVER = Machine(
    Kind.NON_INVITE_SERVER,
    {
        # 17.2.2: "The state machine is initialized in the "Trying" state and is
        # passed a request other than INVITE or ACK when initialized.  This request
        # is passed up to the TU."
        (State.INITIAL, Event.REQUEST): Transition(State.TRYING, (Do.PASS_REQUEST,)),
        # "Once in the "Trying" state, any further request retransmissions are discarded."
        (State.TRYING, Event.REQUEST): Transition(State.TRYING),
        # "While in the "Trying" state, if the TU passes a provisional response to
        # the server transaction, the server transaction MUST enter the "Proceeding"
        # state."
        (State.TRYING, Event.TU_1XX): Transition(State.PROCEEDING, (Do.SEND_RESPONSE,)),
        # "If the TU passes a final response (status codes 200-699) to the server
        # while in the "Proceeding" state, the transaction MUST enter the
        # "Completed" state ... timer J to fire in 64*T1 seconds for unreliable
        # transports, and zero seconds for reliable transports."
        (State.TRYING, Event.TU_2XX): _NON_INVITE_SERVER_FINAL,
        (State.TRYING, Event.TU_300_699): _NON_INVITE_SERVER_FINAL,
        (State.PROCEEDING, Event.TU_1XX): Transition(State.PROCEEDING, (Do.SEND_RESPONSE,)),
        # "If a retransmission of the request is received while in the "Proceeding"
        # state, the most recently sent provisional response MUST be passed to the
        # transport layer for retransmission."
        (State.PROCEEDING, Event.REQUEST): Transition(State.PROCEEDING, (Do.RESEND_LAST,)),
        (State.PROCEEDING, Event.TU_2XX): _NON_INVITE_SERVER_FINAL,
        (State.PROCEEDING, Event.TU_300_699): _NON_INVITE_SERVER_FINAL,
        (State.PROCEEDING, Event.TRANSPORT_ERROR): Transition(
            State.TERMINATED, (Do.REPORT_TRANSPORT_ERROR,)
        ),
        # "While in the "Completed" state, the server transaction MUST pass the
        # final response to the transport layer for retransmission whenever a
        # retransmission of the request is received."
        (State.COMPLETED, Event.REQUEST): Transition(State.COMPLETED, (Do.RESEND_LAST,)),
        (State.COMPLETED, Event.TRANSPORT_ERROR): Transition(
            State.TERMINATED, (Do.REPORT_TRANSPORT_ERROR,)
        ),
        # "The server transaction remains in this state until Timer J fires, at
        # which point it MUST transition to the "Terminated" state."
        (State.COMPLETED, Event.TIMER_J): Transition(State.TERMINATED),
    },
    {State.COMPLETED: frozenset({Timer.J})},
)

MACHINES: Mapping[Kind, Machine] = {
    m.kind: m for m in (INVITE_CLIENT, NON_INVITE_CLIENT, INVITE_SERVER, NON_INVITE_SERVER)
}


# ---------------------------------------------------------------- outputs


@dataclass(frozen=True)
class SendMessage:
    """Send ``data`` (the bytes of ``message``) to ``destination``."""

    message: SIPMessage
    data: bytes
    destination: Destination
    transaction: Transaction | None = None
    retransmission: bool = False


@dataclass(frozen=True)
class ResponseReceived:
    """A response for the TU that sent the transaction's request."""

    transaction: ClientTransaction
    response: Response


@dataclass(frozen=True)
class RequestReceived:
    """A request for the TU; ``transaction`` is ``None`` for an ACK to a 2xx
    whose transaction is gone (or never existed)."""

    transaction: ServerTransaction | None
    request: Request
    source: Destination


@dataclass(frozen=True)
class StrayResponse:
    """A response that matched no client transaction (RFC 3261 18.1.2: "the
    response MUST be passed to the core")."""

    response: Response
    source: Destination


@dataclass(frozen=True)
class TimedOut:
    """Timer B, F, H or the CANCEL wait fired: RFC 3261 8.1.3.1 treats it as a 408."""

    transaction: Transaction
    timer: Timer


@dataclass(frozen=True)
class TransportFailed:
    """The transport could not send one of the transaction's messages
    (RFC 3261 17.1.4 / 17.2.4; the TU treats it as a 503)."""

    transaction: Transaction


@dataclass(frozen=True)
class AckNotReceived:
    """No ACK came for a 2xx within 64*T1 (RFC 3261 13.3.1.4): the TU should end the session."""

    transaction: ServerTransaction


@dataclass(frozen=True)
class CancelReceived:
    """A CANCEL matched this INVITE server transaction (RFC 3261 9.2); the
    layer has already answered it."""

    transaction: ServerTransaction
    cancel: Request


@dataclass(frozen=True)
class Terminated:
    """The transaction reached "Terminated" and is gone from the layer."""

    transaction: Transaction


Output = (
    SendMessage | ResponseReceived | RequestReceived | StrayResponse | TimedOut
    | TransportFailed | AckNotReceived | CancelReceived | Terminated
)


# ---------------------------------------------------------------- the interpreter

#: The states in which a transaction waits on neither its TU nor its peer and
#: only absorbs retransmissions until its last timer fires: the client's
#: "Completed" (Timer D / K: "to buffer any additional response
#: retransmissions", 17.1.2.2) and "Accepted" (RFC 6026 Timer M: 2xx
#: retransmissions go to the TU, the TU's ACK is re-sent), the non-INVITE
#: server's "Completed" (Timer J: re-sends its final for a retransmitted
#: request), the INVITE server's "Confirmed" (Timer I: "to absorb any
#: additional ACK messages") and, once the 2xx was ACKed, "Accepted" (Timer L).
#: The INVITE server's "Completed" is not: it retransmits its final response
#: until the ACK comes (Timers G and H).
SETTLED: Mapping[Kind, frozenset[State]] = {
    Kind.INVITE_CLIENT: frozenset({State.COMPLETED, State.ACCEPTED}),
    Kind.NON_INVITE_CLIENT: frozenset({State.COMPLETED}),
    Kind.INVITE_SERVER: frozenset({State.CONFIRMED, State.ACCEPTED}),
    Kind.NON_INVITE_SERVER: frozenset({State.COMPLETED}),
}

_NO_TIMERS: frozenset[Timer] = frozenset()
#: the ACKs of a transaction that has none (never written: see record_ack)
_NO_ACKS: dict[str, tuple[bytes, Destination]] = {}


def response_event(status: int, *, from_tu: bool) -> Event:
    if status < 200:
        return Event.TU_1XX if from_tu else Event.RESPONSE_1XX
    if status < 300:
        return Event.TU_2XX if from_tu else Event.RESPONSE_2XX
    return Event.TU_300_699 if from_tu else Event.RESPONSE_300_699


_Kept = TypeVar("_Kept")


class _UntilReleased(Generic[_Kept]):
    """A transaction attribute kept only until :meth:`Transaction.release`
    (in the slot of the same name with a leading ``_``): reading it
    afterwards raises :class:`~imkit.errors.LocalProtocolError` naming
    ``what`` was dropped."""

    def __init__(self, what: str, doc: str | None = None) -> None:
        self.what = what
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    @overload
    def __get__(self, txn: None, owner: type | None = None) -> _UntilReleased[_Kept]: ...
    @overload
    def __get__(self, txn: Transaction, owner: type | None = None) -> _Kept: ...

    def __get__(self, txn: Transaction | None, owner: Any = None) -> Any:
        if txn is None:
            return self
        if txn.released:
            raise txn._gone(self.what)
        return getattr(txn, self.slot)


class Transaction:
    """One running transaction: a :class:`Machine`, its state and its timers.

    A transaction is *settled* (:attr:`settled`) once it waits on neither its
    TU nor its peer and only absorbs retransmissions until its last timer (D,
    I, J, K, L or M) fires.  Its owner may then :meth:`release` it: the parsed
    messages go and only what that absorption needs stays (the bytes a
    retransmission re-sends, the To tag, the source).  Reading
    :attr:`request` (or another released message) afterwards raises
    :class:`~imkit.errors.LocalProtocolError`; the TU had them in the outputs.
    """

    __slots__ = (
        "machine", "timers", "reliable", "state", "method", "branch", "released",
        "_request", "_deadlines", "_intervals",
    )

    machine: Machine

    def __init__(self, request: Request, timers: Timers, reliable: bool) -> None:
        self._request: Request | None = request
        self.method = request.method
        via = request.top_via
        self.branch: str | None = via.branch if via else None
        self.timers = timers
        self.reliable = reliable
        self.state = self.machine.initial
        #: the parsed messages were dropped (:meth:`release`)
        self.released = False
        self._deadlines: dict[Timer, float] = {}
        #: the last interval of each timer (for the doubling ones); None once released
        self._intervals: dict[Timer, float] | None = {}

    @property
    def kind(self) -> Kind:
        return self.machine.kind

    request: _UntilReleased[Request] = _UntilReleased(
        "request", "The request that created the transaction (until :meth:`release`).")

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    @property
    def settled(self) -> bool:
        """Only absorbing retransmissions: nothing more is asked of the TU or
        the peer (see :data:`SETTLED`)."""
        return self.state in SETTLED[self.machine.kind]

    def release(self) -> None:
        """Drop the parsed messages of a settled transaction, keeping what
        absorbing retransmissions needs (a settled transaction may be held
        for Timer D/J/L/M, 32 s over UDP)."""
        if not self.settled:
            raise LocalProtocolError(f"{self!r} is not settled: it still needs its messages")
        self.released = True
        self._request = None
        self._intervals = None

    def abandon(self) -> list[Output]:
        """Terminate a settled transaction before its timer fires (its owner's
        table of settled transactions is full).  Only retransmissions were
        left to absorb, so nothing is reported but :class:`Terminated`."""
        if not self.settled:
            raise LocalProtocolError(f"{self!r} is not settled: it cannot be abandoned")
        self.release()
        self.state = State.TERMINATED
        self._deadlines.clear()
        return [Terminated(self)]

    def deadlines(self) -> dict[Timer, float]:
        """The running timers and when they fire."""
        return dict(self._deadlines)

    def next_deadline(self) -> float | None:
        deadlines = self._deadlines
        if len(deadlines) == 1:
            for when in deadlines.values():
                return when
        return min(deadlines.values(), default=None)

    def handle_timer(self, now: float) -> list[Output]:
        """Fire every timer due at ``now``, earliest first."""
        out: list[Output] = []
        while self._deadlines:
            timer, when = min(self._deadlines.items(), key=lambda item: item[1])
            if when > now:
                break
            del self._deadlines[timer]
            out += self._fire(TIMER_EVENT[timer], now) or []
        return out

    def expire(self, timer: Timer, now: float) -> list[Output]:
        """Fire one running timer at ``now`` whatever its deadline (to explore a
        machine one event at a time)."""
        if self._deadlines.pop(timer, None) is None:
            raise LocalProtocolError(f"Timer {timer.value} is not running in {self!r}")
        return self._fire(TIMER_EVENT[timer], now) or []

    def transport_error(self, now: float) -> list[Output]:
        """The transport could not send a message of this transaction."""
        return self._fire(Event.TRANSPORT_ERROR, now) or []

    # -- the interpreter ----------------------------------------------------
    def _fire(self, event: Event, now: float, message: SIPMessage | None = None) -> list[Output] | None:
        """Run the transition for ``event``; ``None`` when the table has none."""
        transition = self.machine.table.get((self.state, event))
        if transition is None:
            return None
        self.state = transition.target
        deadlines = self._deadlines
        if deadlines:
            allowed = self.machine.timers.get(self.state, _NO_TIMERS)
            for timer in [t for t in deadlines if t not in allowed]:
                del deadlines[timer]
        out: list[Output] = []
        immediate: list[Timer] = []
        for step in transition.steps:
            if isinstance(step, Arm):
                self._arm(step, now, immediate)
            elif isinstance(step, Stop):
                deadlines.pop(step.timer, None)
            else:
                self._do(step, event, message, out)
        if self.state is State.TERMINATED:
            deadlines.clear()
            out.append(Terminated(self))
            return out
        for timer in immediate:
            # A timer of zero seconds (reliable transports) fires at once.
            out += self._fire(TIMER_EVENT[timer], now) or []
        return out

    def _arm(self, step: Arm, now: float, immediate: list[Timer]) -> None:
        if self.reliable and step.on_reliable is OnReliable.SKIP:
            return
        if self.reliable and step.on_reliable is OnReliable.ZERO:
            self._deadlines.pop(step.timer, None)
            immediate.append(step.timer)
            return
        t = self.timers
        intervals = self._intervals
        if intervals is None:
            intervals = self._intervals = {}
        kind = step.interval
        if kind is Interval.T1:
            interval = t.t1
        elif kind is Interval.SIXTY_FOUR_T1:
            interval = 64 * t.t1
        elif kind is Interval.TIMER_D:
            interval = t.d
        elif kind is Interval.T4:
            interval = t.t4
        elif kind is Interval.T2:
            interval = t.t2
        elif kind is Interval.DOUBLE:
            interval = 2 * intervals.get(step.timer, t.t1)
        else:  # Interval.DOUBLE_MAX_T2
            interval = min(2 * intervals.get(step.timer, t.t1), t.t2)
        intervals[step.timer] = interval
        self._deadlines[step.timer] = now + interval

    def _do(self, step: Do, event: Event, message: SIPMessage | None, out: list[Output]) -> None:
        """The steps every kind of transaction takes; subclasses add their own."""
        if step is Do.REPORT_TIMEOUT:
            out.append(TimedOut(self, _timer_of(event)))
        elif step is Do.REPORT_TRANSPORT_ERROR:
            out.append(TransportFailed(self))
        else:
            raise LocalProtocolError(f"{self.kind.value} cannot {step.value}")

    def _gone(self, what: str) -> LocalProtocolError:
        return LocalProtocolError(f"{self!r} is settled and released its {what}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.branch} {self.state.value}>"


class ClientTransaction(Transaction):
    """An INVITE or non-INVITE client transaction (RFC 3261 17.1).

    Released (:meth:`Transaction.release`), it keeps the bytes of the ACK of a
    non-2xx final (re-sent when the final comes again, 17.1.1.2) and of the
    TU's ACKs of 2xx responses (re-sent when a 2xx comes again, RFC 6026 7.2)."""

    __slots__ = ("destination", "_data", "_last_response", "_ack", "_ack_data", "acks_2xx", "pending_cancel")

    def __init__(self, request: Request, destination: Destination, timers: Timers) -> None:
        self.machine = INVITE_CLIENT if request.method == "INVITE" else NON_INVITE_CLIENT
        super().__init__(request, timers, destination.reliable)
        self.destination = destination
        self._data: bytes | None = bytes(request)
        self._last_response: Response | None = None
        self._ack: SendMessage | None = None
        self._ack_data: bytes | None = None
        #: the bytes and destination of the ACK the TU sent for each 2xx of an
        #: INVITE, by To tag (re-sent when that 2xx is).
        self.acks_2xx: dict[str, tuple[bytes, Destination]] = {} if self.machine is INVITE_CLIENT else _NO_ACKS
        #: a CANCEL waiting for the first provisional response (RFC 3261 9.1).
        self.pending_cancel: ClientTransaction | None = None

    data: _UntilReleased[bytes] = _UntilReleased(
        "request bytes", "The request's bytes, fixed at creation (retransmissions are identical).")
    last_response: _UntilReleased[Response | None] = _UntilReleased("last response")
    ack: _UntilReleased[SendMessage | None] = _UntilReleased(
        "ACK", "The ACK this INVITE transaction sent for a non-2xx final response.")

    def release(self) -> None:
        super().release()
        if self._ack is not None:
            self._ack_data = self._ack.data
        self._ack = None
        self._data = None
        self._last_response = None

    def abandon(self) -> list[Output]:
        out = super().abandon()
        self._ack_data = None
        self.acks_2xx = _NO_ACKS
        return out

    def start(self, now: float) -> list[Output]:
        """Send the request (event "request from TU")."""
        out = self._fire(Event.TU_REQUEST, now)
        if out is None:
            raise LocalProtocolError(f"{self!r} was already started")
        return out

    def discard(self, now: float) -> list[Output]:
        """Drop a transaction that was never started (a CANCEL not needed any more)."""
        return self._fire(Event.TU_DISCARD, now) or []

    def cancel_sent(self, now: float) -> list[Output]:
        return self._fire(Event.CANCEL_SENT, now) or []

    def receive(self, response: Response, now: float) -> list[Output]:
        """A response matched this transaction (RFC 3261 17.1.3)."""
        return self._fire(response_event(response.status, from_tu=False), now, response) or []

    def record_ack(self, to_tag: str, send: SendMessage) -> None:
        if self.machine is not INVITE_CLIENT:
            raise LocalProtocolError(f"{self!r}: only an INVITE's 2xx is ACKed by the TU")
        if to_tag in self.acks_2xx or len(self.acks_2xx) < 16:
            self.acks_2xx[to_tag] = (send.data, send.destination)

    def _send(self, message: Request, data: bytes, retransmission: bool) -> SendMessage:
        return SendMessage(message, data, self.destination, self, retransmission)

    def _do(self, step: Do, event: Event, message: SIPMessage | None, out: list[Output]) -> None:
        if step is Do.SEND_REQUEST or step is Do.RETRANSMIT_REQUEST:
            out.append(self._send(self.request, self.data, step is Do.RETRANSMIT_REQUEST))
        elif step is Do.PASS_RESPONSE:
            assert isinstance(message, Response)
            if not self.released:
                self._last_response = message
            out.append(ResponseReceived(self, message))
        elif step is Do.SEND_ACK:
            assert isinstance(message, Response)
            # 17.1.1.3: the ACK for a non-2xx final response is built here.
            ack = make_ack_for_non2xx(self.request, message)
            self._ack = self._send(ack, bytes(ack), False)
            out.append(self._ack)
        elif step is Do.RESEND_ACK:
            if self._ack is not None:
                out.append(self._send(self._ack.message, self._ack.data, True))  # type: ignore[arg-type]
            elif self._ack_data is not None:
                out.append(_reparsed(self._ack_data, self.destination, self))
        elif step is Do.RESEND_2XX_ACK:
            assert isinstance(message, Response)
            tag = message.to.tag if message.to else None
            recorded = self.acks_2xx.get(tag or "")
            if recorded is not None:
                out.append(_reparsed(recorded[0], recorded[1], None))
        else:
            super()._do(step, event, message, out)


class ServerTransaction(Transaction):
    """An INVITE or non-INVITE server transaction (RFC 3261 17.2).

    Released (:meth:`Transaction.release`), it keeps the To tag, the source
    (an ACK for the 2xx still reaches the TU, RFC 6026 7.1) and, for a
    non-INVITE request, the bytes of the final response (re-sent for each
    retransmitted request, 17.2.2)."""

    __slots__ = (
        "source", "response_destination", "send_trying", "_last_provisional", "_last_final",
        "_final_data", "final_status", "acked", "_to_tag", "_request_to_tag",
    )

    def __init__(
        self,
        request: Request,
        source: Destination,
        response_destination: Destination,
        timers: Timers,
        *,
        send_trying: bool = True,
    ) -> None:
        self.machine = INVITE_SERVER if request.method == "INVITE" else NON_INVITE_SERVER
        super().__init__(request, timers, source.reliable)
        self.source = source
        self.response_destination = response_destination
        self.send_trying = send_trying
        self._last_provisional: SendMessage | None = None
        self._last_final: SendMessage | None = None
        self._final_data: bytes | None = None
        #: the status of the final response sent, once one was
        self.final_status: int | None = None
        self.acked = False
        self._to_tag: str | None = None
        self._request_to_tag: str | None = None

    last_provisional: _UntilReleased[SendMessage | None] = _UntilReleased("provisional response")
    last_final: _UntilReleased[SendMessage | None] = _UntilReleased("final response")

    @property
    def to_tag(self) -> str | None:
        """The To tag of the responses sent so far (the dialog's local tag)."""
        if self.released:
            return self._to_tag
        for sent in (self._last_final, self._last_provisional):
            if sent is not None:
                to = sent.message.to
                if to is not None and to.tag:
                    return to.tag
        return None

    @property
    def request_to_tag(self) -> str | None:
        """The To tag of the request that created the transaction."""
        if self._request is None:
            return self._request_to_tag
        to = self._request.to
        return to.tag if to is not None else None

    @property
    def last_response(self) -> Response | None:
        if self.released:
            raise self._gone("responses")
        sent = self._last_final or self._last_provisional
        return sent.message if sent is not None else None  # type: ignore[return-value]

    @property
    def settled(self) -> bool:
        # An "Accepted" INVITE transaction retransmits its 2xx until the ACK
        # comes (13.3.1.4): it is settled once ACKed.
        state = self.state
        return state in SETTLED[self.machine.kind] and (state is not State.ACCEPTED or self.acked)

    def release(self) -> None:
        to_tag = self.to_tag
        if self.branch is None or not self.branch.startswith(MAGIC_COOKIE):
            # RFC 2543 matching (17.2.3) compares the request's To tag.
            self._request_to_tag = self.request_to_tag
        super().release()
        self._to_tag = to_tag
        if self.machine.kind is Kind.NON_INVITE_SERVER and self._last_final is not None:
            self._final_data = self._last_final.data
        self._last_final = None
        self._last_provisional = None

    def abandon(self) -> list[Output]:
        out = super().abandon()
        self._final_data = None
        return out

    def start(self, now: float) -> list[Output]:
        out = self._fire(Event.REQUEST, now, self.request)
        if out is None:
            raise LocalProtocolError(f"{self!r} was already started")
        return out

    def receive(self, request: Request, now: float, *, ack_for_2xx: bool = False) -> list[Output]:
        """A request matched this transaction (RFC 3261 17.2.3)."""
        if request.method == "ACK":
            event = Event.ACK_2XX if ack_for_2xx else Event.ACK
        else:
            event = Event.REQUEST
        return self._fire(event, now, request) or []

    def respond(self, response: Response, now: float) -> list[Output]:
        """The TU passes a response; raises when the state does not allow it."""
        out = self._fire(response_event(response.status, from_tu=True), now, response)
        if out is None:
            raise LocalProtocolError(
                f"cannot send {response.status} in state {self.state.value} of {self.kind.value}"
            )
        return out

    def _send(self, response: Response, retransmission: bool = False) -> SendMessage:
        return SendMessage(response, bytes(response), self.response_destination, self, retransmission)

    def _do(self, step: Do, event: Event, message: SIPMessage | None, out: list[Output]) -> None:
        if step is Do.PASS_REQUEST:
            out.append(RequestReceived(self, self.request, self.source))
        elif step is Do.SEND_TRYING:
            if self.send_trying:
                self._last_provisional = self._send(make_response(self.request, 100))
                out.append(self._last_provisional)
        elif step is Do.SEND_RESPONSE:
            assert isinstance(message, Response)
            sent = self._send(message)
            if message.is_final:
                if self.final_status is None:
                    self.final_status = message.status
                if not self.released:
                    self._last_final = sent
            elif not self.released:
                self._last_provisional = sent
            out.append(sent)
        elif step is Do.RESEND_PROVISIONAL:
            if self._last_provisional is not None:
                out.append(_again(self._last_provisional))
        elif step is Do.RESEND_FINAL:
            if self._last_final is not None:
                out.append(_again(self._last_final))
        elif step is Do.RESEND_LAST:
            last = self._last_final or self._last_provisional
            if last is not None:
                out.append(_again(last))
            elif self._final_data is not None:
                out.append(_reparsed(self._final_data, self.response_destination, self))
        elif step is Do.MARK_ACKED:
            self.acked = True
        elif step is Do.PASS_ACK:
            assert isinstance(message, Request)
            out.append(RequestReceived(self, message, self.source))
        elif step is Do.REPORT_IF_UNACKED:
            if not self.acked:
                out.append(AckNotReceived(self))
        else:
            super()._do(step, event, message, out)


def _again(sent: SendMessage) -> SendMessage:
    return SendMessage(sent.message, sent.data, sent.destination, sent.transaction, True)


def _reparsed(data: bytes, destination: Destination, transaction: Transaction | None) -> SendMessage:
    """A retransmission of a released transaction: the parsed message was
    dropped to keep settled transactions small, the bytes were kept."""
    return SendMessage(parse(data), data, destination, transaction, True)


def _timer_of(event: Event) -> Timer:
    for timer, timer_event in TIMER_EVENT.items():
        if timer_event is event:
            return timer
    raise LocalProtocolError(f"{event.value} is not a timer")


# ---------------------------------------------------------------- diagrams


def _edges(machine: Machine) -> list[tuple[State, State, str]]:
    """One edge per (from, to, steps), the events that share it joined."""
    grouped: dict[tuple[State, State, tuple[Step, ...]], list[Event]] = {}
    for (state, event), transition in machine.table.items():
        grouped.setdefault((state, transition.target, transition.steps), []).append(event)
    edges = []
    for (source, target, steps), events in grouped.items():
        label = " | ".join(e.value for e in events)
        if steps:
            label += "\n/ " + "\n".join(str(s.value) if isinstance(s, Do) else str(s) for s in steps)
        edges.append((source, target, label))
    return edges


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def state_diagram(kind: Kind) -> str:
    """The DOT text of one machine's state diagram, made from its table."""
    machine = MACHINES[kind]
    lines = [
        f"digraph {_quote(kind.name)} {{",
        f"  label={_quote(kind.value)}; labelloc=t; rankdir=TB;",
        "  node [shape=box, style=rounded, fontname=Helvetica];",
        "  edge [fontname=Helvetica, fontsize=10];",
    ]
    for state in machine.states:
        timers = sorted(t.value for t in machine.timers.get(state, ()))
        label = state.value + (f"\n(timers {', '.join(timers)})" if timers else "")
        shape = ", shape=point, width=0.2" if state is machine.initial else ""
        if state is State.TERMINATED:
            shape = ", peripheries=2"
        lines.append(f"  {state.name} [label={_quote('' if state is machine.initial else label)}{shape}];")
    for source, target, label in _edges(machine):
        lines.append(f"  {source.name} -> {target.name} [label={_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def state_digraph(kind: Kind) -> graphviz.Digraph:
    """The same diagram as a ``graphviz.Digraph`` (needs the graphviz package)."""
    import graphviz

    machine = MACHINES[kind]
    graph = graphviz.Digraph(kind.name, graph_attr={"label": kind.value, "labelloc": "t"})
    graph.attr("node", shape="box", style="rounded", fontname="Helvetica")
    graph.attr("edge", fontname="Helvetica", fontsize="10")
    for state in machine.states:
        if state is machine.initial:
            graph.node(state.name, "", shape="point", width="0.2")
            continue
        timers = sorted(t.value for t in machine.timers.get(state, ()))
        label = state.value + (f"\n(timers {', '.join(timers)})" if timers else "")
        extra = {"peripheries": "2"} if state is State.TERMINATED else {}
        graph.node(state.name, label, **extra)
    for source, target, label in _edges(machine):
        graph.edge(source.name, target.name, label=label)
    return graph
