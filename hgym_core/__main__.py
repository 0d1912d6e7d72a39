import sys

from hgym_core.cli import main

sys.exit(main())
