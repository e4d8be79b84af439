"""Figures with a slider that work on the static site: precomputed frames, no kernel, no network.

:func:`slider_figure` draws every frame of a figure in the notebook and packs them, with a slider
that picks the frame, into one piece of HTML: the frames are embedded PNG images, the few lines
of script that swap them are inline, and nothing is loaded from elsewhere. So the slider works
on the rendered website, offline, with no kernel. It is an ordinary range input: the arrow keys
move it, and it tells screen readers its value. The image carries alt text.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["slider_figure"]

_TEMPLATE = """<div class="slider-figure" id="{uid}">
<img id="{uid}-img" src="{first}" alt="{alt}" style="max-width: 100%; height: auto;">
<div style="display: flex; align-items: center; gap: 1em; margin: 0.3em 0 1em 0;">
<label for="{uid}-input">{label}</label>
<input type="range" id="{uid}-input" min="0" max="{last}" step="1" value="{start}"
 aria-valuetext="{start_text}" style="flex: 1; max-width: 24em;">
<output id="{uid}-output" for="{uid}-input">{start_text}</output>
</div>
<script>
(function () {{
  const frames = {frames};
  const values = {values};
  const img = document.getElementById("{uid}-img");
  const input = document.getElementById("{uid}-input");
  const output = document.getElementById("{uid}-output");
  input.addEventListener("input", function () {{
    const i = Number(input.value);
    img.src = frames[i];
    output.textContent = values[i];
    input.setAttribute("aria-valuetext", values[i]);
  }});
}})();
</script>
</div>"""


def slider_figure(
    fig: Figure,
    draw_frame: Callable[[int], object],
    values: Sequence[str],
    *,
    alt: str,
    label: str,
    start: int = 0,
) -> str:
    """HTML of ``fig`` with a slider over its frames, one per entry of ``values``.

    ``draw_frame(i)`` updates the figure to frame ``i``; ``values[i]`` is the text shown next to
    the slider (and read by screen readers) for that frame, e.g. ``"θ = +1.0"``. ``alt`` is the
    text alternative of the figure, ``label`` the slider's visible label (what it changes). The
    page opens at frame ``start``. The figure is closed afterwards, so that the notebook does not
    show it a second time; show the result with ``IPython.display.HTML``. Raises ``ValueError``
    for fewer than two frames, a ``start`` outside them, or an empty ``alt`` or ``label``.
    """
    n = len(values)
    if n < 2:
        raise ValueError(f"a slider needs at least two frames, got {n}")
    if not 0 <= start < n:
        raise ValueError(f"start must be a frame number from 0 to {n - 1}, got {start}")
    if not alt.strip() or not label.strip():
        raise ValueError("give the figure a text alternative (alt) and the slider a label")
    frames = []
    try:
        for i in range(n):
            draw_frame(i)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            frames.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    finally:
        plt.close(fig)
    uid = "slider-" + hashlib.sha1(label.encode()).hexdigest()[:10]  # same id in every build
    return _TEMPLATE.format(
        uid=uid,
        first=frames[start],
        alt=html.escape(alt),
        label=html.escape(label),
        last=n - 1,
        start=start,
        start_text=html.escape(values[start]),
        frames=json.dumps(frames),
        values=json.dumps(list(values)),
    )
