import sys

from .cli import main

if __name__ == "__main__":  # a spawned worker imports this module again; it must not start another run
    sys.exit(main())
