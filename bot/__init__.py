"""NuanJing, the union's welfare bot: the composition root, rules, jobs and services."""

import sys

# httpx (python-telegram-bot's HTTP client) imports its command-line client when it can: click
# and, if installed, pygments, about 2.5 MB, for a tool the bot never runs. A None entry makes
# that one import fail as if they were missing, which httpx expects and handles; its `httpx`
# command is a process of its own. (`nuanjing run` still loads click through uvicorn, the HTTP
# listener's server: there this spares pygments where it is installed.)
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
