"""What the frozen `merchant-terminal` executable runs: the console script's entry point, nothing more.

PyInstaller needs a script file, not an entry point; keeping it this thin means the frozen terminal
and the `pip install`ed one run exactly the same code.
"""

import sys

from terminal.app import main

if __name__ == "__main__":
    sys.exit(main())
