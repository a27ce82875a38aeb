"""REDCap: a longitudinal project (data dictionary, events, repeating instruments) and its data."""
