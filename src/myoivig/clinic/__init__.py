"""The clinic's record-keeping commands: database set-up, import/export, patients."""
