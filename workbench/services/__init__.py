"""Services the pages call: cached access to the store and the data each page shows."""
