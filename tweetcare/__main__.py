"""`python -m tweetcare`: the CLI run from this source tree, whichever copy is installed.

MLflow Projects share one environment per lock across checkouts, so its entry points run the
checkout's own code this way rather than through an installed `tweetcare` script.
"""

import sys

from tweetcare.cli import main

sys.exit(main())
