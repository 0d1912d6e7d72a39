"""Server-side timing for benchmarks/dashboard_responsiveness.py: on a dashboard server started
with this folder on PYTHONPATH and HGYM_SERVER_TIMING_LOG set, log when each run request is
received and each run's script_finished is handed to the websocket, on the server's clock.

Python imports ``sitecustomize`` at start-up by itself; in any process but a Streamlit server
(the training child inherits the environment) this does nothing.
"""

import os
import sys
import time

LOG = os.environ.get("HGYM_SERVER_TIMING_LOG")


def _install(log_path: str) -> None:
    from streamlit.runtime.runtime import Runtime
    from streamlit.web.server.starlette.starlette_websocket import StarletteSessionClient

    log = open(log_path, "a", buffering=1)   # a line per event, written at once
    handle_backmsg, write_forward_msg = Runtime.handle_backmsg, StarletteSessionClient.write_forward_msg

    def timed_handle_backmsg(self, session_id, msg, **kwargs):
        if msg.WhichOneof("type") == "rerun_script":
            log.write(f"{time.monotonic():.6f} request {msg.rerun_script.fragment_id or '-'}\n")
        return handle_backmsg(self, session_id, msg, **kwargs)

    def timed_write_forward_msg(self, msg):
        result = write_forward_msg(self, msg)   # includes serialising the message
        if msg.WhichOneof("type") == "script_finished":
            log.write(f"{time.monotonic():.6f} finish {msg.script_finished}\n")
        return result

    Runtime.handle_backmsg = timed_handle_backmsg
    StarletteSessionClient.write_forward_msg = timed_write_forward_msg


if LOG and "streamlit" in " ".join(getattr(sys, "orig_argv", [])):
    _install(LOG)
