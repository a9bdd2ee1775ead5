-- A small Odoo-shaped database for `pgpolicy demo` and the tests.
--
-- The metadata tables (ir_model, ir_model_fields, ir_model_inherit,
-- ir_model_data, ir_rule, rule_group_rel, ir_model_access, res_groups and their
-- relation tables) have the column names and types of Odoo 18, reduced to the
-- columns Odoo's access checks and pgpolicy read, plus their NOT NULL columns.
-- The business tables keep a few real columns each. Records and rule texts are
-- made up for this sample.
--
-- Two companies: 1 "Azul Lisbon" and 2 "Azul Porto". Five users:
--
--   uid 1 __system__  the superuser (Odoo's sudo): no record rule and no access
--                     right applies to it; it sees every row of both companies.
--   uid 2 alice       salesperson of Lisbon, "own documents only": her orders and
--                     leads plus the unassigned ones, of Lisbon (and company-less leads).
--   uid 3 bruno       sales administrator in both companies, working with both
--                     allowed: every order, lead, partner and company.
--   uid 4 dora        "all documents" salesperson of Porto only: every order and
--                     lead of Porto (and company-less leads), nothing of Lisbon.
--   uid 5 paul        portal user, a contact of the customer Deco Addict: reads the
--                     Lisbon orders of Deco Addict and its contacts; no lead at all.
--
-- Partners follow the company rule (no company, or one of the allowed ones);
-- a portal user reads only its own commercial partner and that partner's contacts.
-- Companies: an employee or portal user reads only its allowed companies.

-- ---------------------------------------------------------------------------
-- Metadata: models, fields, groups, record rules, access rights

CREATE TABLE ir_model (
    id serial PRIMARY KEY,
    model varchar NOT NULL UNIQUE,
    "order" varchar NOT NULL DEFAULT 'id',
    state varchar DEFAULT 'base',
    name jsonb NOT NULL,
    transient boolean DEFAULT false,
    is_mail_thread boolean DEFAULT false
);

CREATE TABLE ir_model_fields (
    id serial PRIMARY KEY,
    model_id integer NOT NULL REFERENCES ir_model(id) ON DELETE CASCADE,
    name varchar NOT NULL,
    model varchar NOT NULL,
    relation varchar,
    relation_field varchar,
    ttype varchar NOT NULL,
    related varchar,
    state varchar NOT NULL DEFAULT 'base',
    relation_table varchar,
    column1 varchar,
    column2 varchar,
    field_description jsonb NOT NULL,
    required boolean DEFAULT false,
    index boolean DEFAULT false,
    translate boolean DEFAULT false,
    company_dependent boolean DEFAULT false,
    sanitize boolean DEFAULT false,
    store boolean DEFAULT true,
    CONSTRAINT ir_model_fields_name_unique UNIQUE (model, name)
);

-- `_inherit` and `_inherits` links; parent_field_id is set for `_inherits` only.
CREATE TABLE ir_model_inherit (
    id serial PRIMARY KEY,
    model_id integer NOT NULL REFERENCES ir_model(id) ON DELETE CASCADE,
    parent_id integer NOT NULL REFERENCES ir_model(id) ON DELETE CASCADE,
    parent_field_id integer REFERENCES ir_model_fields(id) ON DELETE CASCADE,
    CONSTRAINT ir_model_inherit_uniq UNIQUE (model_id, parent_id)
);

CREATE TABLE ir_model_data (
    id serial PRIMARY KEY,
    res_id integer,
    noupdate boolean DEFAULT false,
    name varchar NOT NULL,
    module varchar NOT NULL,
    model varchar NOT NULL
);

CREATE TABLE res_groups (
    id serial PRIMARY KEY,
    name jsonb NOT NULL,
    share boolean DEFAULT false
);

-- gid implies hid
CREATE TABLE res_groups_implied_rel (
    gid integer NOT NULL REFERENCES res_groups(id) ON DELETE CASCADE,
    hid integer NOT NULL REFERENCES res_groups(id) ON DELETE CASCADE,
    PRIMARY KEY (gid, hid)
);

CREATE TABLE ir_rule (
    id serial PRIMARY KEY,
    model_id integer NOT NULL REFERENCES ir_model(id) ON DELETE CASCADE,
    name varchar,
    domain_force text,
    active boolean DEFAULT true,
    perm_read boolean DEFAULT true,
    perm_write boolean DEFAULT true,
    perm_create boolean DEFAULT true,
    perm_unlink boolean DEFAULT true,
    global boolean,
    CONSTRAINT ir_rule_no_access_rights
        CHECK (perm_read OR perm_write OR perm_create OR perm_unlink)
);

CREATE TABLE rule_group_rel (
    rule_group_id integer NOT NULL REFERENCES ir_rule(id) ON DELETE CASCADE,
    group_id integer NOT NULL REFERENCES res_groups(id) ON DELETE CASCADE,
    PRIMARY KEY (rule_group_id, group_id)
);

CREATE TABLE ir_model_access (
    id serial PRIMARY KEY,
    model_id integer NOT NULL REFERENCES ir_model(id) ON DELETE CASCADE,
    group_id integer REFERENCES res_groups(id) ON DELETE RESTRICT,
    name varchar NOT NULL,
    active boolean DEFAULT true,
    perm_read boolean DEFAULT false,
    perm_write boolean DEFAULT false,
    perm_create boolean DEFAULT false,
    perm_unlink boolean DEFAULT false
);

-- ---------------------------------------------------------------------------
-- Business tables (foreign keys at the end: companies and partners refer to
-- each other)

CREATE TABLE res_company (
    id serial PRIMARY KEY,
    name varchar NOT NULL,
    partner_id integer NOT NULL,
    sequence integer DEFAULT 10,
    parent_path varchar,
    parent_id integer,
    active boolean DEFAULT true
);

CREATE TABLE res_partner (
    id serial PRIMARY KEY,
    company_id integer,
    name varchar,
    parent_id integer,
    commercial_partner_id integer,
    type varchar DEFAULT 'contact',
    email varchar,
    active boolean DEFAULT true,
    is_company boolean DEFAULT false,
    partner_share boolean
);

CREATE TABLE res_users (
    id serial PRIMARY KEY,
    company_id integer NOT NULL,
    partner_id integer NOT NULL,
    active boolean DEFAULT true,
    login varchar NOT NULL UNIQUE,
    share boolean
);

CREATE TABLE res_company_users_rel (
    cid integer NOT NULL,
    user_id integer NOT NULL,
    PRIMARY KEY (cid, user_id)
);

CREATE TABLE res_groups_users_rel (
    gid integer NOT NULL,
    uid integer NOT NULL,
    PRIMARY KEY (gid, uid)
);

CREATE TABLE sale_order (
    id serial PRIMARY KEY,
    company_id integer NOT NULL,
    partner_id integer NOT NULL,
    user_id integer,
    name varchar NOT NULL,
    state varchar,
    amount_total numeric,
    date_order timestamp NOT NULL
);

CREATE TABLE crm_lead (
    id serial PRIMARY KEY,
    user_id integer,
    company_id integer,
    partner_id integer,
    name varchar NOT NULL,
    type varchar NOT NULL,
    expected_revenue numeric,
    active boolean DEFAULT true
);

-- ---------------------------------------------------------------------------
-- Models and the fields rules and access checks can reach

INSERT INTO ir_model (id, model, "order", name, is_mail_thread) VALUES
    (1, 'res.company', 'sequence, name', '{"en_US": "Companies"}', false),
    (2, 'res.partner', 'complete_name ASC, id DESC', '{"en_US": "Contact"}', true),
    (3, 'res.users', 'name, login', '{"en_US": "User"}', true),
    (4, 'res.groups', 'name', '{"en_US": "Access Groups"}', false),
    (5, 'sale.order', 'date_order desc, id desc', '{"en_US": "Sales Order"}', true),
    (6, 'crm.lead', 'priority desc, id desc', '{"en_US": "Lead/Opportunity"}', true);

INSERT INTO ir_model_fields
    (model_id, model, name, field_description, ttype, relation, relation_field,
     relation_table, column1, column2, related, store, required, translate)
SELECT m.id, f.model, f.name, jsonb_build_object('en_US', f.label), f.ttype, f.relation,
       f.relation_field, f.relation_table, f.column1, f.column2, f.related, f.store,
       f.required, f.translate
  FROM (VALUES
    -- model, name, label, ttype, relation, relation_field, relation_table, column1, column2,
    -- related, store, required, translate
    ('res.company', 'id', 'ID', 'integer', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.company', 'name', 'Company Name', 'char', NULL, NULL, NULL, NULL, NULL, 'partner_id.name', true, true, false),
    ('res.company', 'partner_id', 'Partner', 'many2one', 'res.partner', NULL, NULL, NULL, NULL, NULL, true, true, false),
    ('res.company', 'sequence', 'Sequence', 'integer', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.company', 'parent_path', 'Parent Path', 'char', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.company', 'parent_id', 'Parent Company', 'many2one', 'res.company', NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.company', 'child_ids', 'Branches', 'one2many', 'res.company', 'parent_id', NULL, NULL, NULL, NULL, true, false, false),
    ('res.company', 'active', 'Active', 'boolean', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.company', 'user_ids', 'Accepted Users', 'many2many', 'res.users', NULL, 'res_company_users_rel', 'cid', 'user_id', NULL, true, false, false),
    ('res.partner', 'id', 'ID', 'integer', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'name', 'Name', 'char', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'company_id', 'Company', 'many2one', 'res.company', NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'parent_id', 'Related Company', 'many2one', 'res.partner', NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'child_ids', 'Contact', 'one2many', 'res.partner', 'parent_id', NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'commercial_partner_id', 'Commercial Entity', 'many2one', 'res.partner', NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'type', 'Address Type', 'selection', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'email', 'Email', 'char', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'active', 'Active', 'boolean', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'is_company', 'Is a Company', 'boolean', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'partner_share', 'Share Partner', 'boolean', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.partner', 'user_ids', 'Users', 'one2many', 'res.users', 'partner_id', NULL, NULL, NULL, NULL, true, false, false),
    ('res.users', 'id', 'ID', 'integer', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.users', 'login', 'Login', 'char', NULL, NULL, NULL, NULL, NULL, NULL, true, true, false),
    ('res.users', 'partner_id', 'Related Partner', 'many2one', 'res.partner', NULL, NULL, NULL, NULL, NULL, true, true, false),
    ('res.users', 'company_id', 'Company', 'many2one', 'res.company', NULL, NULL, NULL, NULL, NULL, true, true, false),
    ('res.users', 'company_ids', 'Companies', 'many2many', 'res.company', NULL, 'res_company_users_rel', 'user_id', 'cid', NULL, true, false, false),
    ('res.users', 'groups_id', 'Groups', 'many2many', 'res.groups', NULL, 'res_groups_users_rel', 'uid', 'gid', NULL, true, false, false),
    ('res.users', 'active', 'Active', 'boolean', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.users', 'share', 'Share User', 'boolean', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    -- `_inherits` fields of res.partner: not stored on res.users, read through partner_id
    ('res.users', 'name', 'Name', 'char', NULL, NULL, NULL, NULL, NULL, 'partner_id.name', false, false, false),
    ('res.users', 'commercial_partner_id', 'Commercial Entity', 'many2one', 'res.partner', NULL, NULL, NULL, NULL, 'partner_id.commercial_partner_id', false, false, false),
    ('res.groups', 'id', 'ID', 'integer', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.groups', 'name', 'Name', 'char', NULL, NULL, NULL, NULL, NULL, NULL, true, true, true),
    ('res.groups', 'share', 'Share Group', 'boolean', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('res.groups', 'users', 'Users', 'many2many', 'res.users', NULL, 'res_groups_users_rel', 'gid', 'uid', NULL, true, false, false),
    ('res.groups', 'implied_ids', 'Inherits', 'many2many', 'res.groups', NULL, 'res_groups_implied_rel', 'gid', 'hid', NULL, true, false, false),
    ('sale.order', 'id', 'ID', 'integer', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('sale.order', 'name', 'Order Reference', 'char', NULL, NULL, NULL, NULL, NULL, NULL, true, true, false),
    ('sale.order', 'company_id', 'Company', 'many2one', 'res.company', NULL, NULL, NULL, NULL, NULL, true, true, false),
    ('sale.order', 'partner_id', 'Customer', 'many2one', 'res.partner', NULL, NULL, NULL, NULL, NULL, true, true, false),
    ('sale.order', 'user_id', 'Salesperson', 'many2one', 'res.users', NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('sale.order', 'state', 'Status', 'selection', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('sale.order', 'amount_total', 'Total', 'monetary', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('sale.order', 'date_order', 'Order Date', 'datetime', NULL, NULL, NULL, NULL, NULL, NULL, true, true, false),
    ('crm.lead', 'id', 'ID', 'integer', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('crm.lead', 'name', 'Opportunity', 'char', NULL, NULL, NULL, NULL, NULL, NULL, true, true, false),
    ('crm.lead', 'user_id', 'Salesperson', 'many2one', 'res.users', NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('crm.lead', 'company_id', 'Company', 'many2one', 'res.company', NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('crm.lead', 'partner_id', 'Customer', 'many2one', 'res.partner', NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('crm.lead', 'type', 'Type', 'selection', NULL, NULL, NULL, NULL, NULL, NULL, true, true, false),
    ('crm.lead', 'expected_revenue', 'Expected Revenue', 'monetary', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false),
    ('crm.lead', 'active', 'Active', 'boolean', NULL, NULL, NULL, NULL, NULL, NULL, true, false, false)
  ) AS f(model, name, label, ttype, relation, relation_field, relation_table, column1, column2,
         related, store, required, translate)
  JOIN ir_model m ON m.model = f.model;

-- res.users `_inherits` res.partner through partner_id.
INSERT INTO ir_model_inherit (model_id, parent_id, parent_field_id)
SELECT 3, 2, id FROM ir_model_fields WHERE model = 'res.users' AND name = 'partner_id';

-- ---------------------------------------------------------------------------
-- Groups: salesman ⊂ all documents ⊂ sales administrator, each implying the one
-- before and "Internal User"; Odoo stores the closure in res_groups_users_rel.

INSERT INTO res_groups (id, name, share) VALUES
    (1, '{"en_US": "Internal User"}', false),
    (2, '{"en_US": "Portal"}', true),
    (3, '{"en_US": "Multi Companies"}', false),
    (4, '{"en_US": "User: Own Documents Only"}', false),
    (5, '{"en_US": "User: All Documents"}', false),
    (6, '{"en_US": "Administrator"}', false);

INSERT INTO res_groups_implied_rel (gid, hid) VALUES (4, 1), (5, 4), (6, 5);

-- ---------------------------------------------------------------------------
-- Record rules, in Odoo's domain_force syntax; `global` is true for rules
-- without groups.

INSERT INTO ir_rule (id, model_id, name, domain_force, perm_read, perm_write, perm_create,
                     perm_unlink, global) VALUES
    (1, 1, 'Employees see their allowed companies',
        '[(''id'', ''in'', company_ids)]', true, true, true, true, false),
    (2, 1, 'Portal users see their allowed companies',
        '[(''id'', ''in'', company_ids)]', true, true, true, true, false),
    (3, 2, 'Contacts: shared or of an allowed company',
        '[''|'', (''company_id'', ''='', False), (''company_id'', ''in'', company_ids)]',
        true, true, true, true, true),
    (4, 2, 'Portal: own commercial partner and its contacts',
        '[(''id'', ''child_of'', user.commercial_partner_id.id)]', true, false, false, false, false),
    (5, 5, 'Orders of the allowed companies',
        '[(''company_id'', ''in'', company_ids)]', true, true, true, true, true),
    (6, 5, 'Salesperson: own and unassigned orders',
        '[''|'', (''user_id'', ''='', user.id), (''user_id'', ''='', False)]',
        true, true, true, true, false),
    (7, 5, 'All orders',
        '[(1, ''='', 1)]', true, true, true, true, false),
    (8, 5, 'Portal: orders of its commercial partner',
        '[(''partner_id'', ''child_of'', [user.commercial_partner_id.id])]',
        true, false, false, false, false),
    (9, 6, 'Leads without company or of an allowed company',
        '[''|'', (''company_id'', ''='', False), (''company_id'', ''in'', company_ids)]',
        true, true, true, true, true),
    (10, 6, 'Salesperson: own and unassigned leads',
        '[''|'', (''user_id'', ''='', user.id), (''user_id'', ''='', False)]',
        true, true, true, true, false),
    (11, 6, 'All leads',
        '[(1, ''='', 1)]', true, true, true, true, false);

INSERT INTO rule_group_rel (rule_group_id, group_id) VALUES
    (1, 1), (2, 2), (4, 2), (6, 4), (7, 5), (8, 2), (10, 4), (11, 5);

-- ---------------------------------------------------------------------------
-- Access rights: no row for a model and mode means no access at all (the
-- portal user has none on crm.lead).

INSERT INTO ir_model_access (id, model_id, group_id, name, perm_read, perm_write, perm_create,
                             perm_unlink) VALUES
    (1, 1, 1, 'res.company employee', true, false, false, false),
    (2, 1, 2, 'res.company portal', true, false, false, false),
    (3, 2, 1, 'res.partner employee', true, false, false, false),
    (4, 2, 2, 'res.partner portal', true, false, false, false),
    (5, 2, 4, 'res.partner salesman', true, true, true, false),
    (6, 2, 6, 'res.partner sales administrator', true, true, true, true),
    (7, 5, 2, 'sale.order portal', true, false, false, false),
    (8, 5, 4, 'sale.order salesman', true, true, true, false),
    (9, 5, 6, 'sale.order sales administrator', true, true, true, true),
    (10, 6, 4, 'crm.lead salesman', true, true, true, false),
    (11, 6, 6, 'crm.lead sales administrator', true, true, true, true);

-- ---------------------------------------------------------------------------
-- Companies, partners, users

INSERT INTO res_company (id, name, partner_id, sequence, parent_path, parent_id) VALUES
    (1, 'Azul Lisbon', 1, 10, '1/', NULL),
    (2, 'Azul Porto', 2, 20, '2/', NULL);

INSERT INTO res_partner (id, name, company_id, parent_id, commercial_partner_id, is_company,
                         partner_share, email) VALUES
    (1, 'Azul Lisbon', 1, NULL, 1, true, false, 'lisbon@azul.example'),
    (2, 'Azul Porto', 2, NULL, 2, true, false, 'porto@azul.example'),
    (3, 'OdooBot', NULL, NULL, 3, false, false, 'odoobot@azul.example'),
    (4, 'Alice Martin', NULL, NULL, 4, false, false, 'alice@azul.example'),
    (5, 'Bruno Silva', NULL, NULL, 5, false, false, 'bruno@azul.example'),
    (6, 'Dora Costa', NULL, NULL, 6, false, false, 'dora@azul.example'),
    (7, 'Deco Addict', 1, NULL, 7, true, true, 'info@deco.example'),
    (8, 'Paul Ferreira', 1, 7, 7, false, true, 'paul@deco.example'),
    (9, 'Rita Ruiz', 1, 7, 7, false, true, 'rita@deco.example'),
    (10, 'Gemini Furniture', 1, NULL, 10, true, true, 'sales@gemini.example'),
    (11, 'Ready Mat', 1, NULL, 11, true, true, 'hello@readymat.example'),
    (12, 'Porto Ceramics', 2, NULL, 12, true, true, 'geral@ceramics.example'),
    (13, 'Douro Hotels', 2, NULL, 13, true, true, 'booking@douro.example'),
    (14, 'Ana Reis', 2, 13, 13, false, true, 'ana@douro.example'),
    (15, 'Wood Corner', NULL, NULL, 15, true, true, 'shop@woodcorner.example'),
    (16, 'Tom Wood', NULL, 15, 15, false, true, 'tom@woodcorner.example');

INSERT INTO res_users (id, login, partner_id, company_id, active, share) VALUES
    (1, '__system__', 3, 1, false, false),
    (2, 'alice', 4, 1, true, false),
    (3, 'bruno', 5, 1, true, false),
    (4, 'dora', 6, 2, true, false),
    (5, 'paul', 8, 1, true, true);

INSERT INTO res_company_users_rel (user_id, cid) VALUES
    (1, 1), (1, 2), (2, 1), (3, 1), (3, 2), (4, 2), (5, 1);

-- Group memberships, implied groups included (as Odoo stores them).
INSERT INTO res_groups_users_rel (uid, gid) VALUES
    (1, 1), (1, 3), (1, 4), (1, 5), (1, 6),
    (2, 1), (2, 4),
    (3, 1), (3, 3), (3, 4), (3, 5), (3, 6),
    (4, 1), (4, 4), (4, 5),
    (5, 2);

-- ---------------------------------------------------------------------------
-- Sales orders: 7 of Lisbon, 5 of Porto

INSERT INTO sale_order (id, name, company_id, partner_id, user_id, state, amount_total,
                        date_order) VALUES
    (1, 'S00001', 1, 7, 2, 'sale', 1250.00, '2025-01-08 10:00'),
    (2, 'S00002', 1, 10, 2, 'draft', 480.00, '2025-01-15 11:30'),
    (3, 'S00003', 1, 11, 3, 'sale', 3200.00, '2025-02-03 09:15'),
    (4, 'S00004', 1, 7, 3, 'sent', 760.00, '2025-02-11 14:00'),
    (5, 'S00005', 1, 15, NULL, 'draft', 150.00, '2025-02-20 16:45'),
    (6, 'S00006', 1, 8, 2, 'sale', 95.50, '2025-03-02 08:20'),
    (7, 'S00007', 1, 9, 3, 'cancel', 410.00, '2025-03-09 12:00'),
    (8, 'S00008', 2, 12, 4, 'sale', 2100.00, '2025-01-21 10:10'),
    (9, 'S00009', 2, 13, 4, 'draft', 5400.00, '2025-02-14 15:30'),
    (10, 'S00010', 2, 14, 3, 'sale', 870.00, '2025-02-27 09:00'),
    (11, 'S00011', 2, 15, NULL, 'sent', 330.00, '2025-03-05 17:05'),
    (12, 'S00012', 2, 7, 4, 'draft', 1999.00, '2025-03-12 11:45');

-- ---------------------------------------------------------------------------
-- Leads: 5 of Lisbon (one archived), 4 of Porto, 3 without company

INSERT INTO crm_lead (id, name, company_id, user_id, partner_id, type, expected_revenue,
                      active) VALUES
    (1, 'Hotel lobby tiles', 1, 2, 7, 'opportunity', 12000, true),
    (2, 'Kitchen renovation', 1, 2, 10, 'lead', 3500, true),
    (3, 'Office floor', 1, 3, 11, 'opportunity', 18000, true),
    (4, 'Showroom walls', 1, NULL, 15, 'lead', 6000, true),
    (5, 'Terrace tiles', 1, 3, NULL, 'lead', 2500, false),
    (6, 'Restaurant bathrooms', 2, 4, 12, 'opportunity', 9000, true),
    (7, 'Hotel pool', 2, 4, 13, 'opportunity', 40000, true),
    (8, 'Spa refurbishment', 2, 3, 14, 'lead', 15000, true),
    (9, 'Facade panels', 2, NULL, NULL, 'lead', 22000, true),
    (10, 'Trade fair contact', NULL, NULL, NULL, 'lead', 0, true),
    (11, 'Website enquiry', NULL, 2, NULL, 'lead', 800, true),
    (12, 'Distributor in Spain', NULL, 4, 16, 'opportunity', 60000, true);

-- ---------------------------------------------------------------------------
-- External ids, as Odoo keeps them for data created by modules

INSERT INTO ir_model_data (module, name, model, res_id, noupdate) VALUES
    ('base', 'group_user', 'res.groups', 1, false),
    ('base', 'group_portal', 'res.groups', 2, false),
    ('base', 'group_multi_company', 'res.groups', 3, false),
    ('sales_team', 'group_sale_salesman', 'res.groups', 4, false),
    ('sales_team', 'group_sale_salesman_all_leads', 'res.groups', 5, false),
    ('sales_team', 'group_sale_manager', 'res.groups', 6, false),
    ('base', 'res_company_rule_employee', 'ir.rule', 1, true),
    ('base', 'res_company_rule_portal', 'ir.rule', 2, true),
    ('base', 'res_partner_rule', 'ir.rule', 3, true),
    ('base', 'res_partner_portal_rule', 'ir.rule', 4, true),
    ('sale', 'sale_order_comp_rule', 'ir.rule', 5, true),
    ('sale', 'sale_order_personal_rule', 'ir.rule', 6, true),
    ('sale', 'sale_order_see_all', 'ir.rule', 7, true),
    ('sale', 'sale_order_rule_portal', 'ir.rule', 8, true),
    ('crm', 'crm_lead_company_rule', 'ir.rule', 9, true),
    ('crm', 'crm_rule_personal_lead', 'ir.rule', 10, true),
    ('crm', 'crm_rule_all_lead', 'ir.rule', 11, true),
    ('base', 'access_res_company_employee', 'ir.model.access', 1, false),
    ('base', 'access_res_company_portal', 'ir.model.access', 2, false),
    ('base', 'access_res_partner_group_user', 'ir.model.access', 3, false),
    ('base', 'access_res_partner_portal', 'ir.model.access', 4, false),
    ('sale', 'access_res_partner_sale_user', 'ir.model.access', 5, false),
    ('sale', 'access_res_partner_sale_manager', 'ir.model.access', 6, false),
    ('sale', 'access_sale_order_portal', 'ir.model.access', 7, false),
    ('sale', 'access_sale_order', 'ir.model.access', 8, false),
    ('sale', 'access_sale_order_manager', 'ir.model.access', 9, false),
    ('crm', 'access_crm_lead', 'ir.model.access', 10, false),
    ('crm', 'access_crm_lead_manager', 'ir.model.access', 11, false),
    ('base', 'main_company', 'res.company', 1, true),
    ('base', 'user_root', 'res.users', 1, true);

-- ---------------------------------------------------------------------------
-- Foreign keys of the business tables, and the sequences past the ids above

ALTER TABLE res_company
    ADD FOREIGN KEY (partner_id) REFERENCES res_partner(id),
    ADD FOREIGN KEY (parent_id) REFERENCES res_company(id) ON DELETE SET NULL;
ALTER TABLE res_partner
    ADD FOREIGN KEY (company_id) REFERENCES res_company(id) ON DELETE SET NULL,
    ADD FOREIGN KEY (parent_id) REFERENCES res_partner(id) ON DELETE SET NULL,
    ADD FOREIGN KEY (commercial_partner_id) REFERENCES res_partner(id) ON DELETE SET NULL;
ALTER TABLE res_users
    ADD FOREIGN KEY (company_id) REFERENCES res_company(id) ON DELETE RESTRICT,
    ADD FOREIGN KEY (partner_id) REFERENCES res_partner(id) ON DELETE RESTRICT;
ALTER TABLE res_company_users_rel
    ADD FOREIGN KEY (cid) REFERENCES res_company(id) ON DELETE CASCADE,
    ADD FOREIGN KEY (user_id) REFERENCES res_users(id) ON DELETE CASCADE;
ALTER TABLE res_groups_users_rel
    ADD FOREIGN KEY (gid) REFERENCES res_groups(id) ON DELETE CASCADE,
    ADD FOREIGN KEY (uid) REFERENCES res_users(id) ON DELETE CASCADE;
ALTER TABLE sale_order
    ADD FOREIGN KEY (company_id) REFERENCES res_company(id) ON DELETE RESTRICT,
    ADD FOREIGN KEY (partner_id) REFERENCES res_partner(id) ON DELETE RESTRICT,
    ADD FOREIGN KEY (user_id) REFERENCES res_users(id) ON DELETE SET NULL;
ALTER TABLE crm_lead
    ADD FOREIGN KEY (company_id) REFERENCES res_company(id) ON DELETE SET NULL,
    ADD FOREIGN KEY (user_id) REFERENCES res_users(id) ON DELETE SET NULL,
    ADD FOREIGN KEY (partner_id) REFERENCES res_partner(id) ON DELETE SET NULL;

SELECT setval('ir_model_id_seq', 6), setval('res_groups_id_seq', 6),
       setval('ir_rule_id_seq', 11), setval('ir_model_access_id_seq', 11),
       setval('res_company_id_seq', 2), setval('res_partner_id_seq', 16),
       setval('res_users_id_seq', 5), setval('sale_order_id_seq', 12),
       setval('crm_lead_id_seq', 12);
