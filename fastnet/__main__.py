"""``python -m fastnet``: the fastnet command line (see ``fastnet.cli``)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
