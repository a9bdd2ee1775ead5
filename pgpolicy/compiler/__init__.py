"""Where a rule becomes SQL: domain trees to predicates (`predicate`), Odoo's rules and
access rights per table and command to policy specs (`rules`, `spec`)."""
