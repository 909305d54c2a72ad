"""The report's charts: matplotlib (Agg) figures as inline SVG strings, self-contained and deterministic.

Text is drawn as paths (no fonts needed when the file is opened elsewhere), math text is off (a `$` in a
theme label stays a dollar sign), and each chart gets its own id salt so several SVGs can share one HTML
page without clashing ids. The XML prolog, metadata and comments are stripped: the SVG goes inline.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, ever: reports are written by a scheduled worker

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from backlog_bridge.classify import period_key
from backlog_bridge.report.data import NpsPoint, SegmentNps, ThemeSection

INK, MUTED, ACCENT, BAD, GOOD, GRID = "#1f2933", "#52606d", "#2f6fb0", "#c0392b", "#2e7d4f", "#d9e2ec"
MAX_SHARE_PANELS = 9
"""Themes drawn in the share-over-time grid (the highest-ranked); every theme keeps its own section."""

_STYLE: dict[str, Any] = {
    "svg.fonttype": "path",
    "svg.hashsalt": "backlog-bridge",
    "text.parse_math": False,
    "font.size": 9,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.grid": True,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
}


def nps_chart(series: Sequence[NpsPoint]) -> str:
    """NPS per period with its 95% band; periods with too few responses are drawn hollow."""
    if not series:
        return ""
    with _figure("nps", (7.5, 3.0)) as (fig, ax):
        x = list(range(len(series)))
        ax.fill_between(x, [p.low for p in series], [p.high for p in series], color=ACCENT, alpha=0.18, lw=0,
                        label="95% interval")  # fmt: skip
        ax.plot(x, [p.nps for p in series], color=ACCENT, lw=1.8, label="NPS")
        full = [i for i, p in enumerate(series) if not p.too_small]
        ax.plot(full, [series[i].nps for i in full], "o", color=ACCENT, ms=4)
        small = [i for i, p in enumerate(series) if p.too_small]
        if small:
            ax.plot(
                small, [series[i].nps for i in small], "o", mfc="white", mec=ACCENT, ms=4, label="too few responses"
            )
        ax.axhline(0, color=MUTED, lw=0.8)
        _period_ticks(ax, [p.group for p in series])
        ax.set_ylabel("NPS (points)")
        ax.legend(loc="best", frameon=False, fontsize=8)
        return _svg(fig, "nps")


def impact_chart(themes: Sequence[ThemeSection], limit: int = 15) -> str:
    """Points at stake per theme with 95% intervals, most first; solid when the whole interval is above zero."""
    shown = list(themes[:limit])
    if not shown:
        return ""
    with _figure("impact", (7.5, 0.8 + 0.32 * len(shown))) as (fig, ax):
        y = list(range(len(shown)))[::-1]
        for row, section in zip(y, shown, strict=True):
            b = section.brief
            colour = BAD if section.significant else MUTED
            ax.plot([-b.impact_high, -b.impact_low], [row, row], color=colour, lw=2, solid_capstyle="butt")
            ax.plot([-b.impact], [row], "o", color=colour, mfc=colour if section.significant else "white", ms=5)
        ax.axvline(0, color=MUTED, lw=0.8)
        ax.set_yticks(y, [_short(s.brief.label, 34) for s in shown])
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("NPS points at stake (95% interval); filled = significant, gets a priority")
        return _svg(fig, "impact")


def share_chart(themes: Sequence[ThemeSection], limit: int = MAX_SHARE_PANELS) -> str:
    """Small multiples: each top theme's share of responses per period, with the fix date when shipped."""
    shown = [s for s in themes[:limit] if s.share_series]
    if not shown:
        return ""
    cols = min(3, len(shown))
    rows = (len(shown) + cols - 1) // cols
    with _figure("share", (7.5, 1.9 * rows + 0.4), rows, cols) as (fig, axes):
        flat: list[Axes] = list(axes.flat) if hasattr(axes, "flat") else [axes]
        for ax, section in zip(flat, shown, strict=False):
            _share_panel(ax, section)
        for ax in flat[len(shown) :]:
            ax.set_visible(False)
        return _svg(fig, "share")


def _share_panel(ax: Axes, section: ThemeSection) -> None:
    points = section.share_series
    x = list(range(len(points)))
    ax.fill_between(x, [100 * p.low for p in points], [100 * p.high for p in points], color=ACCENT, alpha=0.18, lw=0)
    ax.plot(x, [100 * p.share for p in points], color=ACCENT, lw=1.5)
    ax.set_ylim(bottom=0)
    ax.set_title(f"{section.rank}. {_short(section.brief.label, 28)}", loc="left", fontsize=8.5, color=INK)
    _period_ticks(ax, [p.period for p in points], every=max(1, (len(points) + 2) // 3))
    ax.yaxis.set_major_formatter(lambda value, _pos: f"{value:.0f}%")
    closed = next((i.closed_at for i in section.issues if i.closed_at is not None), None)
    if closed is not None:
        _mark_fix(ax, [p.period for p in points], closed)


def _mark_fix(ax: Axes, periods: Sequence[str], closed: datetime) -> None:
    for kind in ("week", "month"):
        key = period_key(closed, kind)
        if key in periods:
            ax.axvline(periods.index(key), color=GOOD, lw=1, ls="--")
            ax.text(periods.index(key), ax.get_ylim()[1], " fix", color=GOOD, fontsize=7, va="top")
            return


def segment_chart(segments: Sequence[SegmentNps]) -> str:
    """NPS per segment value with 95% intervals, one panel per segment field."""
    fields = sorted({s.field for s in segments})
    if not fields:
        return ""
    heights = [len([s for s in segments if s.field == f]) for f in fields]
    with _figure("segments", (7.5, 0.6 + 0.3 * sum(heights) + 0.5 * len(fields)), len(fields), 1,
                 height_ratios=heights, sharex=True) as (fig, axes):  # fmt: skip
        flat: list[Axes] = list(axes.flat) if hasattr(axes, "flat") else [axes]
        for ax, name in zip(flat, fields, strict=True):
            rows = sorted((s.point for s in segments if s.field == name), key=lambda p: p.nps)
            y = list(range(len(rows)))
            for row, p in zip(y, rows, strict=True):
                colour = MUTED if p.too_small else ACCENT
                ax.plot([p.low, p.high], [row, row], color=colour, lw=2, solid_capstyle="butt")
                ax.plot([p.nps], [row], "o", color=colour, ms=4)
            ax.set_yticks(y, [f"{_short(p.group, 24)} (n={p.responses})" for p in rows])
            ax.grid(axis="y", visible=False)
            ax.axvline(0, color=MUTED, lw=0.8)
            ax.set_title(name, loc="left", fontsize=9, color=INK)
        flat[-1].set_xlabel("NPS (95% interval); grey = too few responses")
        return _svg(fig, "segments")


@contextmanager
def _figure(
    name: str,
    size: tuple[float, float],
    rows: int = 1,
    cols: int = 1,
    height_ratios: list[int] | None = None,
    sharex: bool = False,
) -> Iterator[tuple[Figure, Any]]:
    style: Any = {**_STYLE, "svg.hashsalt": f"bb-{name}"}  # matplotlib types rc keys as Literals
    with plt.rc_context(style):
        fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=True, layout="constrained", sharex=sharex,
                                 gridspec_kw={"height_ratios": height_ratios} if height_ratios else None)  # fmt: skip
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def _svg(fig: Figure, name: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->\s*", "", text, flags=re.S)
    return _scope_ids(text.strip(), f"{name}-")


def _scope_ids(svg: str, prefix: str) -> str:
    """Prefix every id and its references, so glyphs and clip paths of two charts never share an id."""
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r'(href=)"#([^"]+)"', lambda m: f'{m.group(1)}"#{prefix}{m.group(2)}"', svg)
    return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)


def _period_ticks(ax: Axes, labels: Sequence[str], every: int | None = None) -> None:
    step = every or max(1, len(labels) // 10)
    ticks = list(range(0, len(labels), step))
    ax.set_xticks(ticks, [labels[i] for i in ticks])
    ax.set_xlim(-0.3, max(len(labels) - 0.7, 0.7))


def _short(text: str, width: int) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder="…") or "…"
