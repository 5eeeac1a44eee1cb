"""`bancheng simulate`: a labelled city day played through a running stack, and its scorecard."""
