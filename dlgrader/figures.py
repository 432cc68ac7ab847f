"""What the report's figures share: matplotlib figures drawn without pyplot, their style, and
titles and labels that fit."""

from __future__ import annotations

__all__ = ["DPI", "STYLE", "figure", "fit_title", "wrap_label"]

#: Font sizes (points) of the figures; saved at DPI dots per inch.
STYLE = {"font.size": 11, "figure.titlesize": 13, "axes.titlesize": 12, "axes.labelsize": 11,
         "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}
DPI = 150


def figure(width: float, height: float):
    """A matplotlib Figure drawn by the Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def fit_title(fig, title, smallest: float = 8.0) -> None:
    """Shrink ``title`` (the figure's suptitle) until it lies inside the figure (down to
    ``smallest`` points), then wrap its lines."""
    import textwrap

    for _ in range(4):
        fig.canvas.draw()
        box = title.get_window_extent()
        if box.x0 >= fig.bbox.x0 and box.x1 <= fig.bbox.x1:
            return
        ratio = 0.95 * fig.bbox.width / box.width
        if title.get_fontsize() > smallest:
            title.set_fontsize(max(smallest, title.get_fontsize() * ratio))
        else:
            lines = title.get_text().split("\n")
            width = max(10, int(max(len(line) for line in lines) * ratio))
            title.set_text("\n".join(textwrap.fill(line, width, break_on_hyphens=False)
                                     for line in lines))


def wrap_label(label: str, width: int = 36) -> str:
    """A function label on two lines when long ("notebook: function" breaks after ': ')."""
    if len(label) <= width or ": " not in label:
        return label
    head, _, tail = label.partition(": ")
    return f"{head}:\n{tail}"
