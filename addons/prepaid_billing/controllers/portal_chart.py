"""Server-side geometry of the portal's consumption charts (pure: no ``odoo`` import).

The tenant's page draws them as inline SVG: no chart library, no external asset, readable
on a phone and printable. A bar per day or month, stacked by time-of-use register (T1 sharp,
T2 peak, T3 flat, T4 valley) and "untimed" for consumption that the registers do not split
(water, meters without TOU registers).
"""

SERIES = (
    ("t1", "#c0392b"),
    ("t2", "#e67e22"),
    ("t3", "#2e86c1"),
    ("t4", "#27ae60"),
    ("untimed", "#7f8c8d"),
)
WIDTH = 600
HEIGHT = 180
LABEL_SPACE = 18


def _nice_ceiling(value):
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above ``value`` (axis maximum)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def stacked_bar_chart(entries, label_format="%d", width=WIDTH, height=HEIGHT):
    """Bars for ``entries`` (dicts with ``date``, ``total`` and ``t1``..``t4``).

    :return: dict with ``width``, ``height`` (of the plot, labels below it), ``max`` (the
        axis maximum), ``bars``: ``[{"x", "width", "label", "total", "segments": [{"name",
        "color", "y", "height", "value"}]}]`` and ``empty`` when nothing was consumed
    """
    count = max(len(entries), 1)
    slot = width / count
    bar_width = max(slot * 0.7, 1.0)
    top = _nice_ceiling(max((entry["total"] for entry in entries), default=0.0))
    bars = []
    for index, entry in enumerate(entries):
        values = {name: max(entry.get(name) or 0.0, 0.0) for name in ("t1", "t2", "t3", "t4")}
        values["untimed"] = max(entry["total"] - sum(values.values()), 0.0)
        y = float(height)
        segments = []
        for name, color in SERIES:
            value = values[name]
            if value <= 0:
                continue
            segment_height = value / top * height
            y -= segment_height
            segments.append(
                {
                    "name": name,
                    "color": color,
                    "y": round(y, 2),
                    "height": round(segment_height, 2),
                    "value": value,
                }
            )
        bars.append(
            {
                "x": round(index * slot + (slot - bar_width) / 2, 2),
                "width": round(bar_width, 2),
                "label": entry["date"].strftime(label_format),
                "total": entry["total"],
                "segments": segments,
            }
        )
    # Label every bar when few, else about eight labels.
    label_step = max(1, round(count / 8))
    for index, bar in enumerate(bars):
        bar["show_label"] = index % label_step == 0 or index == count - 1
    return {
        "width": width,
        "height": height,
        "full_height": height + LABEL_SPACE,
        "max": top,
        "bars": bars,
        "empty": not any(entry["total"] for entry in entries),
        "series": [name for name, _color in SERIES],
        "colors": dict(SERIES),
    }
