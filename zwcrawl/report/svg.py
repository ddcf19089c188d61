"""Small SVG charts drawn as text: columns, lines and inline bars, with fixed number formatting."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from html import escape

WIDTH, HEIGHT = 720, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 12, 40  # room for the axis labels


def _n(value: float) -> str:
    """A coordinate with one decimal at most, the same on every machine."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _ticks(maximum: float) -> list[int]:
    """Round values from 0 to at least `maximum`, five steps at most (steps of 1, 2, 5, 10, 20, 50, ...)."""
    power = 1
    while True:
        for step in (power, 2 * power, 5 * power):
            if maximum <= 5 * step:
                return list(range(0, math.ceil(maximum / step) * step + 1, step))
        power *= 10


def _frame(body: list[str], label: str, width: int = WIDTH) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" role="img"'
        f' aria-label="{escape(label)}" class="chart">' + "".join(body) + "</svg>"
    )


def _y_axis(ticks: list[int], y, width: int = WIDTH) -> list[str]:
    parts = []
    for tick in ticks:
        parts.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{_n(y(tick))}" y2="{_n(y(tick))}" class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{_n(y(tick) + 4)}" text-anchor="end">{tick:,}</text>'
        )
    return parts


def column_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
    *,
    label: str,
    stacked: bool = False,
    label_every: int = 1,
) -> str:
    """Columns per category, series side by side (or stacked); a series is (name, css class, values)."""
    totals = [sum(values[i] for _, _, values in series) for i in range(len(categories))]
    peaks = (
        totals if stacked else [max((v[i] for _, _, v in series), default=0) for i in range(len(categories))]
    )
    ticks = _ticks(max(peaks, default=0) or 1)
    plot_h = HEIGHT - _TOP - _BOTTOM

    def y(value: float) -> float:
        return _TOP + plot_h - value / ticks[-1] * plot_h

    slot = (WIDTH - _LEFT - _RIGHT) / max(len(categories), 1)
    body = _y_axis(ticks, y)
    for i, category in enumerate(categories):
        x0 = _LEFT + i * slot + slot * 0.1
        width = slot * 0.8 / (1 if stacked else len(series))
        base = 0
        for j, (name, css, values) in enumerate(series):
            value = values[i]
            top = base + value if stacked else value
            x = x0 if stacked else x0 + j * width
            body.append(
                f'<rect x="{_n(x)}" y="{_n(y(top))}" width="{_n(max(width, 0.5))}"'
                f' height="{_n(y(base if stacked else 0) - y(top))}" class="{css}">'
                f"<title>{escape(category)}, {escape(name)}: {value:,}</title></rect>"
            )
            if stacked:
                base = top
        if i % label_every == 0:
            body.append(
                f'<text x="{_n(_LEFT + (i + 0.5) * slot)}" y="{HEIGHT - _BOTTOM + 16}"'
                f' text-anchor="middle">{escape(category)}</text>'
            )
    return _frame(body, label)


def line_chart(
    times: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int | None]]],
    *,
    label: str,
    width: int = WIDTH,
) -> str:
    """Lines over UTC ISO-8601 times (one point per time, gaps where a value is None)."""
    seconds = [datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in times]
    start, span = (seconds[0], (seconds[-1] - seconds[0]) or 1) if seconds else (0, 1)
    values = [v for _, _, vs in series for v in vs if v is not None]
    ticks = _ticks(max(values, default=0) or 1)
    plot_w, plot_h = width - _LEFT - _RIGHT - 24, HEIGHT - _TOP - _BOTTOM

    def x(second: float) -> float:
        return _LEFT + 12 + (second - start) / span * plot_w

    def y(value: float) -> float:
        return _TOP + plot_h - value / ticks[-1] * plot_h

    body = _y_axis(ticks, y, width)
    for name, css, points in series:
        drawn = [(x(s), y(v), t, v) for s, t, v in zip(seconds, times, points, strict=True) if v is not None]
        path = " ".join(f"{_n(px)},{_n(py)}" for px, py, _, _ in drawn)
        body.append(f'<polyline points="{path}" class="{css}"/>')
        body.extend(
            f'<circle cx="{_n(px)}" cy="{_n(py)}" r="3" class="{css}"><title>{escape(t)}, {escape(name)}:'
            f" {v:,}</title></circle>"
            for px, py, t, v in drawn
        )
    for when, second in ((times[0], seconds[0]), (times[-1], seconds[-1])) if times else ():
        anchor = "start" if second == seconds[0] else "end"
        body.append(
            f'<text x="{_n(x(second))}" y="{HEIGHT - _BOTTOM + 16}" text-anchor="{anchor}">'
            f"{escape(when.replace('T', ' ').replace('Z', ' UTC'))}</text>"
        )
    return _frame(body, label, width)


def inline_bar(value: int, maximum: int, css: str) -> str:
    """A bar for a table cell, as long as value is to maximum."""
    width = 200 * value / maximum if maximum else 0
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 12" class="bar" aria-hidden="true">'
        f'<rect x="0" y="1" width="{_n(width)}" height="10" class="{css}"/></svg>'
    )
