"""Health Gym Studio core: schema, encoding, Health Gym v1 WGAN-GP training, sampling and evaluation.

Nothing in this package imports Streamlit; the dashboard (app.py, pages/) and the command line
(``python -m hgym_core``) are two thin faces over the same calls.
"""

from hgym_core.errors import HGymError

__all__ = ["HGymError"]
