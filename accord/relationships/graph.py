"""The small relationship graph on a contact's page: the person in the middle, the people
related to them around, laid out in Python and drawn as SVG by the template."""

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 320, 240
RADIUS = 90  # leaves room for a name under each outer node
MAX_NODES = 12  # more make an unreadable ring; the list below the graph has them all


@dataclass
class Node:
    x: int
    y: int
    name: str
    label: str
    url: str
    ended: bool


def layout(center_name: str, others: list[dict]) -> dict:
    """Positions of the centre and of up to MAX_NODES related people on a ring."""
    cx, cy = WIDTH // 2, HEIGHT // 2
    shown = others[:MAX_NODES]
    nodes = []
    for index, other in enumerate(shown):
        angle = -math.pi / 2 + 2 * math.pi * index / max(len(shown), 1)
        nodes.append(Node(x=round(cx + RADIUS * math.cos(angle)),
                          y=round(cy + RADIUS * math.sin(angle)),
                          name=other["name"], label=other["label"], url=other["url"],
                          ended=other["ended"]))
    return {"width": WIDTH, "height": HEIGHT, "cx": cx, "cy": cy, "center": center_name,
            "nodes": nodes, "hidden": max(len(others) - MAX_NODES, 0)}
