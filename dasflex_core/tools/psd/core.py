"""Power spectral density core of das2_psd (``research/das2c.md`` §4.5).

Spectra are computed for many windows at once: a ``(windows, N)`` block goes
through one real FFT.  The definition follows das2C's ``Das2Psd`` with a Hann
window ``w[n] = 0.5 (1 - cos(2 pi n / (N - 1)))``:

* unless the DC component is kept, each window's mean is subtracted first;
* with ``X = FFT(w x)`` and ``S = N sum(w^2)``: ``P[0] = |X0|^2 / S``,
  ``P[N/2] = |X(N/2)|^2 / S`` and ``P[k] = 2 |Xk|^2 / S`` otherwise (the one
  sided sum of the two mirror bins of a real signal).

Callers multiply by ``N dt`` (seconds) to obtain a density per hertz.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

#: Windows transformed per FFT call: small batches keep the work buffers in cache.
WINDOWS_PER_BATCH = 64
#: Below this many windows a call stays on one thread.
THREADED_MINIMUM = 4 * WINDOWS_PER_BATCH


def hann_window(length: int) -> np.ndarray:
    """das2C's Hann window of ``length`` points."""
    index = np.arange(length, dtype=np.float64)
    return 0.5 * (1.0 - np.cos(2.0 * np.pi * index / (length - 1)))


class PsdCalculator:
    """One-sided Hann-windowed periodograms of fixed length ``N``."""

    def __init__(self, length: int, keep_dc: bool = False, threads: int = 2) -> None:
        if length < 2 or length % 2:
            raise ValueError(f"DFT length must be an even number >= 2, not {length}")
        self.length = length
        self.keep_dc = keep_dc
        self.window = hann_window(length)
        self._scale = 1.0 / (length * float(np.sum(self.window * self.window)))
        self.threads = max(1, threads)
        self._buffers = [self._work_buffers() for _ in range(self.threads)]
        self._pool: Any = None

    def _work_buffers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        bins = self.length // 2 + 1
        return (
            np.empty((WINDOWS_PER_BATCH, self.length)),
            np.empty((WINDOWS_PER_BATCH, bins), dtype=np.complex128),
            np.empty((WINDOWS_PER_BATCH, bins, 2)),
        )

    @property
    def bins(self) -> int:
        """Number of output frequencies, ``N/2 + 1``."""
        return self.length // 2 + 1

    def compute(self, windows: np.ndarray) -> np.ndarray:
        """Periodograms of each row of ``windows`` (``(k, N)`` -> ``(k, N/2+1)``)."""
        windows = np.asarray(windows)
        if windows.ndim != 2 or windows.shape[1] != self.length:
            raise ValueError(f"expected a (k, {self.length}) block, got {windows.shape}")
        out = np.empty((len(windows), self.bins))
        if self.threads == 1 or len(windows) < THREADED_MINIMUM:
            self._power_rows(windows, out, 0)
        else:
            # numpy releases the GIL in these loops: split the rows over threads.
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads - 1)
            edges = np.linspace(0, len(windows), self.threads + 1).astype(int)
            jobs = [
                self._pool.submit(self._power_rows, windows[a:b], out[a:b], worker)
                for worker, (a, b) in enumerate(zip(edges[1:-1], edges[2:], strict=True), start=1)
            ]
            self._power_rows(windows[: edges[1]], out[: edges[1]], 0)
            for job in jobs:
                job.result()
        out *= self._scale
        out[:, 1:-1] *= 2.0
        return out

    def _power_rows(self, windows: np.ndarray, out: np.ndarray, worker: int) -> None:
        for start in range(0, len(windows), WINDOWS_PER_BATCH):
            block = windows[start : start + WINDOWS_PER_BATCH]
            self._power(block, out[start : start + len(block)], worker)

    def _power(self, block: np.ndarray, out: np.ndarray, worker: int) -> None:
        """|FFT(w (x - mean))|^2 of each row into ``out`` (work buffers re-used)."""
        count = len(block)
        weighted_buffer, spectrum_buffer, squares_buffer = self._buffers[worker]
        weighted = weighted_buffer[:count]
        if self.keep_dc:
            np.multiply(block, self.window, out=weighted)
        else:
            np.subtract(block, block.mean(axis=1, dtype=np.float64, keepdims=True), out=weighted)
            weighted *= self.window
        spectrum = np.fft.rfft(weighted, axis=1, out=spectrum_buffer[:count])
        pairs = spectrum.view(np.float64).reshape(count, -1, 2)
        squares = np.multiply(pairs, pairs, out=squares_buffer[:count])
        np.add(squares[..., 0], squares[..., 1], out=out)


def sliding_windows(values: np.ndarray, length: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """All windows ``values[o:o+length]`` for ``o = 0, shift, 2 shift, ...``.

    Returns ``(offsets, windows)``; ``windows`` is a read-only strided view.
    """
    count = len(values)
    if count < length:
        return np.zeros(0, dtype=np.intp), np.zeros((0, length))
    offsets = np.arange(0, count - length + 1, shift, dtype=np.intp)
    view = np.lib.stride_tricks.sliding_window_view(values, length)
    return offsets, view[offsets]


def jitter_breaks(times: np.ndarray, limit: float) -> np.ndarray:
    """Indexes ``i`` (>= 2) where the 3-point test on ``t[i-2], t[i-1], t[i]`` fails.

    The jitter is ``2 |t2 - 2 t1 + t0| / |t2 - t0|`` (das2_psd); it breaks when
    it is larger than ``limit``.
    """
    if len(times) < 3:
        return np.zeros(0, dtype=np.intp)
    t0, t1, t2 = times[:-2], times[1:-1], times[2:]
    with np.errstate(invalid="ignore", divide="ignore"):
        jitter = 2.0 * np.abs((t2 - 2.0 * t1 + t0) / (t2 - t0))
    return np.flatnonzero(jitter > limit) + 2
