"""CPU priority of background work, so that people's requests go first.

A large import or export keeps a core busy for minutes. The web server's
requests are what people wait on, so the processes doing such work run
with a higher niceness: when the machine has a core to spare they run at
full speed, and when the web server needs it they give way.
"""

import os

BACKGROUND_NICENESS = 10  # of 19; enough for the scheduler to favour the web server clearly


def lower_priority(to: int = BACKGROUND_NICENESS) -> int:
    """Make this process at least `to` nice and return its niceness.

    Never raises priority (only a privileged process may), so calling it
    again, or in a process already nicer, changes nothing.
    """
    current = os.nice(0)
    if current < to:
        current = os.nice(to - current)
    return current
