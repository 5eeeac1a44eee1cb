"""The console's pages, one module per journey (thin: read the form, call the API, render)."""
