"""Auditors' answers read from the database and its deployed policies: explain, who-can."""
