{
    "name": "pgpolicy bridge probe",
    "summary": "Test-only: module code that runs raw SQL inside a user's request",
    "version": "1.0.0",
    "license": "LGPL-3",
    "author": "pgpolicy",
    "depends": ["pgpolicy_bridge"],
    "data": [],
    "installable": True,
}
