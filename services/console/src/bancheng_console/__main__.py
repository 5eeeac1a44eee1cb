"""`python -m bancheng_console`: serve the console."""

from bancheng_console.main import main

main()
