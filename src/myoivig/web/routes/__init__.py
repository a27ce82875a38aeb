"""Routes grouped per resource: sign-in, patient pages, administration, the patients API."""
