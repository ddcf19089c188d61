"""Ctrl-C (or SIGTERM) while a crawl is starting: noted, then acted on at a safe point, never a traceback."""

from __future__ import annotations

import signal

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []


def defer_interrupts() -> None:
    """Note SIGINT and SIGTERM instead of raising mid-import; the crawl acts on them once it can."""
    for signum in _SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # a shell that ignores them for us is obeyed
            signal.signal(signum, _note)


def _note(signum: int, _frame) -> None:
    _received.append(signum)


def interrupted() -> bool:
    """Whether the user interrupted this process since defer_interrupts()."""
    return bool(_received)


def raise_if_interrupted() -> None:
    """Stop here (exit 130 through the CLI) if the user asked to."""
    if _received:
        raise KeyboardInterrupt


def hand_over_interrupts() -> None:
    """Once the crawl's own handlers are in place: keep noting signals, and deliver the ones noted so far."""
    for signum in _SIGNALS:
        handler = signal.getsignal(signum)
        if callable(handler) and handler is not _note:
            signal.signal(signum, _noting(handler))
    for signum in _received[:2]:  # a third would change nothing: the second already forces the stop
        signal.raise_signal(signum)


def _noting(handler):
    def note_then_handle(signum: int, frame) -> None:
        _received.append(signum)
        handler(signum, frame)

    return note_then_handle


def restore_interrupts() -> None:
    """After the crawl: Ctrl-C raises KeyboardInterrupt again (one line, exit 130 through the CLI)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
