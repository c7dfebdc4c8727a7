import sys

from motionlib.cli import main

sys.exit(main())
