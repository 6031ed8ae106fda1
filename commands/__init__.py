"""Sub-commands of ``cli.py``: each module defines ``register(subparsers)``.

``cli.py`` finds the modules here, so adding a command means adding one module. A command's handler
takes the parsed ``argparse.Namespace`` and returns the process exit code.
"""
