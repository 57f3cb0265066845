"""One scripted rater, driven through the same public calls as the rater page.

A :class:`RaterDriver` enrols, consents, starts, reads each item from ``rater_view``
and submits (``submit_initial`` first when a two-stage item asks for it), exactly in
the order the page does. The simulator (:mod:`study.simulate`), the load benchmark
and the tests all drive raters with it, so there is one written-down rater flow
besides the page itself. What a rater answers is the caller's choice: a function
from the current view to an :class:`Answer`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine

from study import rater as rater_api

T = TypeVar("T")
#: The views the driver reads (re-exported so callers need no second import of the rater API).
RaterView = rater_api.RaterView
SubmitResult = rater_api.SubmitResult


class Caller(Protocol):
    """Runs one database call (directly, or e.g. with retries on transient errors)."""

    def __call__(self, call: Callable[[], T], /) -> T: ...


def direct(call: Callable[[], T], /) -> T:
    """The default :class:`Caller`: run the call once."""
    return call()


@dataclass(frozen=True)
class Answer:
    """One item's answer; ``initial`` is the first (label, confidence) of a two-stage item."""

    label: str
    confidence: float
    initial: tuple[str, float] | None = None
    submission_key: str | None = None


#: Chooses the answer to the item on screen (``view.item`` is never None here).
Chooser = Callable[[RaterView], Answer]


@dataclass
class RaterRun:
    """What :meth:`RaterDriver.run` did: the rater's condition, final view and judgments."""

    condition: str
    view: RaterView
    #: Judgments the database recorded (a duplicate submission is not counted).
    judgments: int
    #: This run enrolled the rater (False: it resumed one enrolled before).
    created: bool = True


class RaterDriver:
    """One rater of ``study``, known by ``external_id``; every call goes through ``caller``."""

    def __init__(self, engine: Engine, study: str, external_id: str, *, caller: Caller = direct) -> None:
        self.engine = engine
        self.study = study
        self.external_id = external_id
        self.caller = caller
        self.enrolment: rater_api.Enrolment | None = None
        #: The view read last (by :meth:`view`); after :meth:`items`, the screen it ended on.
        self.last_view: RaterView | None = None

    @property
    def token(self) -> str:
        if self.enrolment is None:
            raise RuntimeError(f"rater {self.external_id!r} is not enrolled yet")
        return self.enrolment.token

    def enrol(self, **link: Any) -> rater_api.Enrolment:
        """Enrol (or resume) the rater; ``link`` are the Prolific parameters of ``enrol``."""
        self.enrolment = self.caller(lambda: rater_api.enrol(self.engine, self.study, self.external_id, **link))
        return self.enrolment

    def consent(self, agreed: bool = True) -> str | None:
        """Consent (the condition is chosen now; returned, and kept in ``enrolment``) or decline."""
        token = self.token
        key = self.caller(lambda: rater_api.consent(self.engine, token, agreed))
        if key and self.enrolment is not None:
            self.enrolment = replace(self.enrolment, condition=key)
        return key

    def start(self) -> None:
        token = self.token
        self.caller(lambda: rater_api.start(self.engine, token))

    def finish(self, answers: dict[str, Any]) -> None:
        """Send the closing questionnaire (the exit screen's Finish)."""
        token = self.token
        self.caller(lambda: rater_api.finish(self.engine, token, answers))

    def begin(self) -> rater_api.Enrolment:
        """Enrol, consent and start: the rater is on the first item."""
        self.enrol()
        self.consent()
        self.start()
        assert self.enrolment is not None
        return self.enrolment

    def view(self) -> RaterView:
        token = self.token
        self.last_view = self.caller(lambda: rater_api.rater_view(self.engine, token))
        return self.last_view

    def submit(self, view: RaterView, answer: Answer) -> SubmitResult:
        """Answer the item on screen in ``view`` (its first answer too, when one is due)."""
        item, token = view.item, self.token
        if item is None:
            raise RuntimeError(f"rater {self.external_id!r} has no item on screen ({view.screen})")
        aid = item.assignment_id
        # As on the page: attention checks are answered once, even in a two-stage study.
        if answer.initial is not None and view.two_stage and not item.is_attention_check and item.initial_label is None:
            label0, conf0 = answer.initial
            self.caller(lambda: rater_api.submit_initial(self.engine, token, aid, label0, conf0))
        return self.caller(lambda: rater_api.submit_judgment(
            self.engine, token, aid, answer.label, answer.confidence, submission_key=answer.submission_key))

    def items(self, stop_after: int | None = None) -> Iterator[RaterView]:
        """The views with an item on screen, until the rater leaves the items (or ``stop_after``)."""
        seen = 0
        while stop_after is None or seen < stop_after:
            view = self.view()
            if view.screen != "item" or view.item is None:
                return
            yield view
            seen += 1

    def run(self, choose: Chooser, *, stop_after: int | None = None,
            on_result: Callable[[RaterView, SubmitResult], None] | None = None) -> RaterRun:
        """Enrol, consent, start and answer up to ``stop_after`` items (all by default)."""
        enrolment = self.begin()
        n = 0
        for view in self.items(stop_after):
            result = self.submit(view, choose(view))
            n += int(result.recorded)
            if on_result is not None:
                on_result(view, result)
        last = self.last_view if self.last_view is not None else self.view()
        return RaterRun(condition=enrolment.condition, view=last, judgments=n, created=enrolment.created)
