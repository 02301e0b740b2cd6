"""Collection rules for the whole run (tests and the package's doctests).

``flowlaws.torch`` needs PyTorch (the ``flowlaws[torch]`` extra) at import time: without it,
its modules' doctests are not collected (the tests that need it call ``importorskip``).
"""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("torch") is not None else ["flowlaws/torch/*"]
