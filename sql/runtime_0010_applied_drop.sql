-- Back to pgpolicy runtime version 9 (continued): no record of the rules at the last apply.

DROP FUNCTION pgpolicy.odoo_rules_changed();
DROP FUNCTION pgpolicy.record_applied_rules();
DROP FUNCTION pgpolicy.odoo_rules_fingerprint();
DROP TABLE pgpolicy.applied_rules;
