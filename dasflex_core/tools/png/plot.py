"""Rendering the binned panels of a quick-look plot as a PNG (matplotlib, Agg).

matplotlib is imported only here (the png family loads when ``das2_png``
runs).  Panels share the x axis (a UTC time axis when x is time).  Line
panels draw each plane's per-column minimum and maximum as one envelope
polyline; spectrogram panels draw column means with ``pcolormesh`` and a
colour bar, on a log colour scale when every value is positive.  A plot
without data says so.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import numpy as np
from matplotlib import dates
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure

from dasflex_core.tools.png.bins import LineBins, MeanBins

#: Dots per inch of the figure (its pixel size is exact at this dpi).
DPI = 100
#: Panels drawn at most; the others are named in the title.
MAX_PANELS = 6
_EPOCH_2000 = np.datetime64("2000-01-01T00:00:00", "us")
_WIDE_RANGE = 100.0


@dataclass(slots=True)
class LinePanel:
    """Line plots of one or more planes that share units."""

    label: str
    series: list[tuple[str, LineBins]] = field(default_factory=list)
    log: bool = False
    units: str = ""


@dataclass(slots=True)
class SpectrumPanel:
    """A spectrogram of one ``<yscan>`` plane."""

    label: str
    bins: MeanBins
    ytags: np.ndarray
    colour_label: str
    log_y: bool | None = None
    log_colour: bool | None = None


@dataclass(slots=True)
class Plot:
    """What to draw: panels, a title, the x axis and any notes."""

    title: str
    panels: list[Any]
    x_is_time: bool
    x_label: str
    notes: list[str] = field(default_factory=list)


def render_png(plot: Plot, width: int, height: int) -> bytes:
    """The PNG bytes of ``plot``, exactly ``width`` x ``height`` pixels."""
    matplotlib.use("Agg", force=True)
    font = max(5.0, min(10.0, min(width, height) / 60.0))
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    panels = [panel for panel in plot.panels if _has_data(panel)]
    shown = panels[:MAX_PANELS]
    title = plot.title
    if len(panels) > len(shown):
        title += f" ({len(panels) - len(shown)} more panels not shown)"
    figure.suptitle(title, fontsize=font + 1)
    if not shown:
        _no_data(figure, plot.notes, font)
    else:
        axes = figure.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
        for ax, panel in zip(axes, shown, strict=True):
            ax.tick_params(labelsize=font)
            if isinstance(panel, SpectrumPanel):
                _draw_spectrum(figure, ax, panel, plot.x_is_time, font)
            else:
                _draw_lines(ax, panel, plot.x_is_time, font)
        _x_axis(axes[-1], plot, font)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _has_data(panel: Any) -> bool:
    if isinstance(panel, SpectrumPanel):
        return bool((panel.bins.count > 0).any())
    return any(bins.filled().any() for _, bins in panel.series)


def _no_data(figure: Any, notes: list[str], font: float) -> None:
    text = "No data"
    if notes:
        text += "\n" + "\n".join(notes[:3])
    figure.text(0.5, 0.5, text, ha="center", va="center", fontsize=font + 4, wrap=True)


def _x_values(values: np.ndarray, is_time: bool) -> np.ndarray:
    """x in plot units: matplotlib date numbers for us2000 times."""
    if not is_time:
        return values
    stamps = _EPOCH_2000 + np.round(values).astype(np.int64).astype("timedelta64[us]")
    return np.asarray(dates.date2num(stamps))


def gap_sources(filled: np.ndarray) -> np.ndarray:
    """For each column, the filled column that stands for it (-1: a real gap).

    Data sampled more coarsely than the pixel columns leave empty columns
    between filled ones; an empty column is bridged by the filled column
    before it when the gap is at most twice the typical spacing of the data.
    """
    used = np.flatnonzero(filled)
    sources = np.full(filled.shape, -1, dtype=np.int64)
    sources[used] = used
    if used.size < 2:
        return sources
    spacing = np.diff(used)
    limit = max(2.0, 2.0 * float(np.median(spacing)))
    position = np.searchsorted(used, np.arange(filled.size), side="right") - 1
    inside = (position >= 0) & (position < used.size - 1)
    safe = np.clip(position, 0, used.size - 2)
    bridged = inside & ~filled & (spacing[safe] <= limit)
    sources[bridged] = used[safe[bridged]]
    return sources


def _draw_lines(ax: Any, panel: LinePanel, is_time: bool, font: float) -> None:
    for name, bins in panel.series:
        filled = bins.filled()
        if not filled.any():
            continue
        sources = gap_sources(filled)
        keep = filled | (sources < 0)
        centres = _x_values(bins.grid.centres()[keep], is_time)
        low = np.where(filled, bins.low, np.nan)[keep]
        high = np.where(filled, bins.high, np.nan)[keep]
        xs = np.repeat(centres, 2)
        ys = np.column_stack((low, high)).ravel()
        ax.plot(xs, ys, linewidth=0.8, label=name)
    if len(panel.series) > 1:
        ax.legend(fontsize=font, loc="upper right")
    if panel.log and _all_positive(panel):
        ax.set_yscale("log")
    label = panel.units if len(panel.series) > 1 and panel.units else panel.label
    ax.set_ylabel(label, fontsize=font)


def _all_positive(panel: LinePanel) -> bool:
    lows = [bins.low[bins.filled()] for _, bins in panel.series]
    return all(low.size == 0 or low.min() > 0 for low in lows)


def _draw_spectrum(figure: Any, ax: Any, panel: SpectrumPanel, is_time: bool,
                   font: float) -> None:
    means = panel.bins.means()
    sources = gap_sources(np.isfinite(means).any(axis=1))
    means = np.where((sources >= 0)[:, None], means[np.maximum(sources, 0)], np.nan)
    used = np.flatnonzero(np.isfinite(means).any(axis=1))
    first, last = int(used[0]), int(used[-1]) + 1
    means = means[first:last]
    x_edges = _x_values(panel.bins.grid.edges()[first:last + 1], is_time)
    log_y = panel.log_y if panel.log_y is not None else _wide_positive(panel.ytags)
    rows = max(1, int(ax.get_window_extent().height))
    means, tags = reduce_items(means, np.asarray(panel.ytags, dtype=np.float64), rows)
    y_edges = _edges(tags, log_y)
    values = means[np.isfinite(means)]
    log_colour = values.min() > 0 if panel.log_colour is None else panel.log_colour
    low, high = float(values.min()), float(values.max())
    if log_colour and low > 0:
        norm: Any = LogNorm(vmin=low, vmax=high if high > low else low * 10)
    else:
        norm = Normalize(vmin=low, vmax=high if high > low else low + 1)
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(means.T), norm=norm,
                         shading="flat", cmap="viridis")
    if log_y and y_edges.min() > 0:
        ax.set_yscale("log")
    ax.set_ylabel(panel.label, fontsize=font)
    bar = figure.colorbar(mesh, ax=ax)
    bar.set_label(panel.colour_label, fontsize=font)
    bar.ax.tick_params(labelsize=font, which="both")


def reduce_items(means: np.ndarray, tags: np.ndarray, rows: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Average groups of adjacent items so that at most about ``rows`` remain.

    A spectrum with more items than the panel has pixel rows is drawn from
    group means (NaN-aware); the tags become the group means as well.
    """
    items = tags.size
    group = -(-items // max(rows, 1))
    if group <= 1:
        return means, tags
    count = -(-items // group)
    padded = count * group
    values = np.full((means.shape[0], padded), np.nan)
    values[:, :items] = means
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        grouped = np.nanmean(values.reshape(means.shape[0], count, group), axis=2)
    tag_values = np.full(padded, np.nan)
    tag_values[:items] = tags
    return grouped, np.nanmean(tag_values.reshape(count, group), axis=1)


def _wide_positive(tags: np.ndarray) -> bool:
    return bool(tags.size > 1 and tags.min() > 0 and tags.max() / tags.min() >= _WIDE_RANGE)


def _edges(centres: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around sorted ``centres`` (geometric means on a log axis)."""
    values = np.asarray(centres, dtype=np.float64)
    if values.size == 1:
        step = abs(values[0]) * 0.5 or 0.5
        return np.array([values[0] - step, values[0] + step])
    if log and values.min() > 0:
        logs = np.log10(values)
        middle = (logs[1:] + logs[:-1]) / 2
        return 10 ** np.concatenate(([2 * logs[0] - middle[0]], middle,
                                     [2 * logs[-1] - middle[-1]]))
    middle = (values[1:] + values[:-1]) / 2
    return np.concatenate(([2 * values[0] - middle[0]], middle, [2 * values[-1] - middle[-1]]))


def _x_axis(ax: Any, plot: Plot, font: float) -> None:
    if plot.x_is_time:
        locator = dates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    ax.set_xlabel(plot.x_label, fontsize=font)
