"""Odoo's side of the bridge: where Odoo is hooked, and nothing else.

Every decision is made by `lib.bridge.Bridge`; this module only finds, in Odoo,
the cursor, the environment, the call and the cron job it needs to ask about.
"""

import functools
import importlib
import logging
import os
import sys

import odoo
import odoo.release
import psycopg2
import psycopg2.extensions
import psycopg2.sql
from odoo import api, http, sql_db
from odoo.exceptions import AccessDenied
from odoo.modules.registry import Registry
from odoo.tools import SQL, config

from .lib.bridge import Bridge, CursorState
from .lib.context import (
    SESSION_KEY,
    SYSTEM,
    Principal,
    companies_from_context,
    session_profiles,
)
from .lib.health import log_lines, role_health
from .lib.login import login_allowed
from .lib.origin import TRUST_ODOO, OriginRules
from .lib.registry import loading_registry
from .lib.search import NameSearch, routed_fields
from .lib.versions import layout_for

_logger = logging.getLogger(__name__)
IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE

# The running Odoo's layout (lib/versions.py); an unsupported version refuses to import
# the addon, so the bridge never hooks code nobody checked.
LAYOUT = layout_for(odoo.release.version_info)
BRIDGE = None  # the Bridge, once post_load has run
MAINTENANCE = None  # whether the process was started with -i / -u (post_load)
PUBLIC_USERS = {}  # database name → uid of base.public_user, read at registry load
NAME_SEARCH = NameSearch()  # the name-search functions of each database (lib/search.py)
# Its statements count as the ORM's: they run with the superuser mode of the ORM's own.
NAME_SEARCH_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "search.py")


def state_of(cr):
    """The bridge's state of an Odoo cursor, created on first use."""
    state = cr.__dict__.get("_pgpolicy")
    if state is None:
        state = cr.__dict__["_pgpolicy"] = CursorState()
    return state


def system():
    """Context manager: the statements of this thread inside run as the system principal.

        from odoo.addons.pgpolicy_bridge import system
        with system():
            self.env.cr.execute(SQL("SELECT id FROM sale_order"))  # every row

    For code that truly needs system access; every use is a decision, keep it small.
    """
    if BRIDGE is None:
        raise RuntimeError(
            "pgpolicy bridge is not loaded: start Odoo with --load=base,web,pgpolicy_bridge"
        )
    return BRIDGE.system()


# Where the session's choice of profiles does not apply: the selector itself and sign-out,
# so that a choice the database refuses (a profile removed since) can always be changed.
CHOICE_FREE_PATHS = frozenset({"/pgpolicy/profiles", "/web/session/logout"})


def principal_of(uid):
    """`Principal(uid)`, with the profiles enabled in the HTTP session when uid is its user.

    A malformed choice raises BridgeError (fail closed): the request is refused.
    """
    session = getattr(http.request, "session", None) if http.request else None
    if session is None or session.uid != uid:
        return Principal(uid)
    if http.request.httprequest.path in CHOICE_FREE_PATHS:
        return Principal(uid)
    return Principal(uid, profiles=session_profiles(session.get(SESSION_KEY), uid))


def role_health_of(cr):
    health = role_health(cr).as_dict()
    health["bridge_loaded"] = BRIDGE is not None
    if BRIDGE is not None:
        health.update(
            shadow=BRIDGE.shadow, statements=BRIDGE.statements, contexts_sent=BRIDGE.contexts
        )
    return health


def remember_public_user(env):
    """Who an environment without a uid stands for: the public user (the least privileged)."""
    public = env.ref("base.public_user", raise_if_not_found=False)
    if public:
        PUBLIC_USERS[env.cr.dbname] = public.id


def maintenance_run():
    """Whether this process installs or upgrades modules (`-i`, `-u`), or is `odoo-bin shell`:
    the owner role's work.

    Read when the process starts (`post_load`): Odoo empties `init` and `update` once the
    modules are loaded, before the `_register_hook` that reports the role's state."""
    if MAINTENANCE is not None:
        return MAINTENANCE
    return bool(config.get("init") or config.get("update")) or odoo_command(sys.argv) == "shell"


def odoo_command(argv):
    """The odoo-bin subcommand of this process (`server` when none is given): `shell` is
    the owner role's other tool for schema changes (docs/bridge.md, Runtime DDL)."""
    args = argv[1:]
    return args[0] if args and not args[0].startswith("-") else "server"


def report_health(cr):
    """The log lines of the registry load: ERROR when a serving role escapes the policies,
    WARNING for the owner role's install or upgrade and for relations awaiting apply."""
    health = role_health(cr)
    if BRIDGE is None:
        _logger.error(
            "pgpolicy bridge installed but not loaded server-wide: no context is set, "
            "protected tables return nothing (start Odoo with --load=base,web,pgpolicy_bridge)"
        )
    for level, message in log_lines(health, maintenance_run()):
        _logger.log(level, "%s", message)
    return health


def post_init_hook(env):
    report_health(env.cr)


# --- the hooks --------------------------------------------------------------------------


def _wrap_method(cls, name, make):
    """Replace `cls.name` by `make(original)`, keeping it a classmethod, a staticmethod
    or a plain method as it was (Odoo 19 turned some classmethods into the other two)."""
    raw = cls.__dict__.get(name)
    if raw is None:  # a hook point this version lacks: refuse to load, never half-hooked
        raise RuntimeError(
            f"pgpolicy bridge: {cls.__name__}.{name} not found in Odoo {LAYOUT.series}"
        )
    if isinstance(raw, classmethod):
        setattr(cls, name, classmethod(make(raw.__func__)))
    elif isinstance(raw, staticmethod):
        setattr(cls, name, staticmethod(make(raw.__func__)))
    else:
        setattr(cls, name, make(raw))


def post_load():
    """Install the hooks, once per process, before any registry loads."""
    global BRIDGE, MAINTENANCE
    if BRIDGE is not None:
        return
    MAINTENANCE = bool(config.get("init") or config.get("update")) or (
        odoo_command(sys.argv) == "shell"
    )
    extra = [
        path.strip()
        for path in (config.get("pgpolicy_bridge_orm_paths") or "").split(",")
        if path.strip()
    ]
    extra.append(NAME_SEARCH_FILE)
    bridge = Bridge(
        OriginRules.for_odoo(
            # the directory of the `odoo` package: 19.0's has no __init__.py (a namespace
            # package without __file__), every version has release.py
            os.path.dirname(odoo.release.__file__),
            extra,
            os.path.dirname(psycopg2.__file__),
            trust=config.get("pgpolicy_bridge_trust") or TRUST_ODOO,
            series=LAYOUT.series,
        ),
        shadow=str(config.get("pgpolicy_bridge_shadow") or "").lower() in ("1", "true", "yes"),
    )

    # Every statement: the one choke point of Odoo's SQL (odoo-semantics §4.1).
    original_execute = sql_db.Cursor.execute

    def execute(self, query, params=None, log_exceptions=True):
        if isinstance(query, SQL):
            assert params is None, "Unexpected parameters for SQL query object"
            query, params = query.code, query.params
        elif isinstance(query, psycopg2.sql.Composable):
            # psycopg2's own SQL composition (Odoo 17.0's modules still use it): its text,
            # as psycopg2 would render it before sending
            query = query.as_string(self._cnx)
        if not bridge.covers(self.dbname, lambda: _has_runtime(self)):
            return original_execute(self, query, params, log_exceptions)
        state = state_of(self)
        idle = self._cnx.info.transaction_status == IDLE
        text = bridge.prepare(state, query, idle, sys._getframe(1))
        try:
            return original_execute(self, text, params, log_exceptions)
        except BaseException:
            if text is not query:
                state.transaction.undo()
            raise
        finally:
            if bridge.shadow and self._cnx.notices:
                _log_shadow_reports(self._cnx.notices)

    sql_db.Cursor.execute = execute

    # The principal: the first environment with a uid on a cursor claims it. Environments
    # built inside a system block claim nothing: checking a password builds one for the
    # user being checked (on the request's own cursor in 19.0), who is not yet trusted.
    original_new = api.Environment.__new__

    def environment_new(cls, cr, uid, context, *args, **kwargs):
        env = original_new(cls, cr, uid, context, *args, **kwargs)
        if bridge.thread.system_depth:
            return env
        if isinstance(uid, int) and not isinstance(uid, bool) and uid > 0:
            state = state_of(cr)
            if state.claimed is None or state.weak_claim:  # else the claim changes nothing
                state.claim(principal_of(uid))
        elif uid is None and cr.dbname in PUBLIC_USERS:
            state_of(cr).claim(Principal(PUBLIC_USERS[cr.dbname]), weak=True)
        return env

    api.Environment.__new__ = staticmethod(environment_new)

    # The request's user after authentication: public user, API key, session.
    original_update_env = http.Request.update_env

    def update_env(self, user=None, context=None, su=None):
        original_update_env(self, user, context, su)
        uid = self.env.uid
        if isinstance(uid, int) and uid > 0:
            state_of(self.env.cr).pin(principal_of(uid))

    http.Request.update_env = update_env

    # The allowed companies of each RPC call (web client, JSON-RPC, XML-RPC).
    call_kw_module = importlib.import_module(LAYOUT.call_kw_module)
    original_call_kw = call_kw_module.call_kw

    def call_kw(model, name, args, kwargs):
        companies = companies_from_context(kwargs.get("context"))
        with bridge.companies(state_of(model.env.cr), companies):
            return original_call_kw(model, name, args, kwargs)

    call_kw_module.call_kw = call_kw
    dataset = sys.modules.get("odoo.addons.web.controllers.dataset")
    if dataset is not None and getattr(dataset, "call_kw", None) is original_call_kw:
        dataset.call_kw = call_kw

    if LAYOUT.json2:
        # 19.0's JSON-2 API calls the method itself, without call_kw: its companies are
        # those of the body's "context", as for call_kw.
        def json2_dispatch(original):
            def wrapped(self, endpoint, args):
                request = self.request
                if getattr(request, "env", None) is None:  # no database: nothing to say
                    return original(self, endpoint, args)
                body = None
                if request.httprequest.content_length:
                    try:
                        body = request.get_json_data()
                    except ValueError:
                        body = None  # the dispatcher answers 400
                context = body.get("context") if isinstance(body, dict) else None
                companies = companies_from_context(context if isinstance(context, dict) else None)
                with bridge.companies(state_of(request.env.cr), companies):
                    return original(self, endpoint, args)

            return wrapped

        _wrap_method(http.Json2Dispatcher, "dispatch", json2_dispatch)

    # An XML-RPC / JSON-RPC call (`execute_kw`) works for the uid it authenticated, on a
    # cursor of its own; 19.0 builds a superuser environment on it first, to check the
    # password, which must not make the whole call the system's.
    from odoo.service import model as service_model

    original_execute_cr = service_model.execute_cr

    def execute_cr(cr, uid, *args, **kwargs):
        state_of(cr).pin(Principal(uid))
        return original_execute_cr(cr, uid, *args, **kwargs)

    service_model.execute_cr = execute_cr

    # Registry loading, module install and upgrade: the system principal. Then, whether
    # the addon is installed in that database or not, who an anonymous visitor stands for,
    # before the registry lock lets a waiting request have the registry (lib/registry.py).
    def loaded(registry):
        NAME_SEARCH.forget(registry.db_name)
        try:
            with registry.cursor() as cr:
                remember_public_user(api.Environment(cr, odoo.SUPERUSER_ID, {}))
        except Exception:  # a database being created: no users yet
            _logger.warning("pgpolicy bridge: no public user found", exc_info=True)

    _wrap_method(
        Registry, "new", lambda original: loading_registry(original, bridge.system, loaded)
    )
    if LAYOUT.signaling_in_tables:
        # 19.0 signals registry and cache changes in tables (`orm_signaling_*`) that no
        # model maps, hence admit the system principal only: reading and writing them is
        # system work, done before and after the request's user is known.
        for name in ("check_signaling", "signal_changes"):
            _wrap_method(Registry, name, lambda original: _in_system(bridge, original))

    # Checking credentials and session tokens reads what no user may read (password
    # hashes, the database secret) for a user not yet trusted: system work.
    users = getattr(
        importlib.import_module("odoo.addons.base.models.res_users"), LAYOUT.users_class
    )
    check = LAYOUT.password_check
    _wrap_method(users, "authenticate", lambda original: _in_system(bridge, original))
    _wrap_method(users, check, lambda original: _in_system(bridge, original))
    # Access profiles may refuse sign-in (deny_login): at every password check, web
    # sign-in and each XML-RPC call alike, after the credentials are known to be good.
    _wrap_method(users, "_login", lambda original: _refusing_blocked(bridge, original, _login_uid))
    _wrap_method(users, check, lambda original: _refusing_blocked(bridge, original, _checked_uid))
    _wrap_method(users, "_compute_session_token", lambda original: _in_system(bridge, original))

    # Crons: bookkeeping as the system principal, each job as its user.
    ir_cron = getattr(importlib.import_module("odoo.addons.base.models.ir_cron"), LAYOUT.cron_class)

    def process_jobs(original):
        def wrapped(*args, **kwargs):
            with bridge.thread_default(SYSTEM):
                return original(*args, **kwargs)

        return wrapped

    def process_job(original):
        # The cron bookkeeping cursor works for the system while the job is processed. In
        # 19.0 "Run manually" passes the request's own cursor: give it back its principal.
        def wrapped(cls, *args, **kwargs):
            state = state_of(args[LAYOUT.cron_cursor_arg])
            before = state.pinned
            state.pin(SYSTEM)
            try:
                return original(cls, *args, **kwargs)
            finally:
                state.pin(before)

        return wrapped

    _wrap_method(ir_cron, "_process_jobs", process_jobs)
    _wrap_method(ir_cron, "_process_job", process_job)

    if LAYOUT.series == "18.0":  # the routing follows 18.0's `_search_display_name`
        _route_name_search(bridge)
    if LAYOUT.series != "17.0":  # 17.0 has no device log
        _route_device_log(bridge)

    # Odoo's standard sequences under a role that may not do DDL: runtime 10's functions.
    from .sequences import route_sequences

    route_sequences()

    BRIDGE = bridge
    _logger.info(
        "pgpolicy bridge loaded for Odoo %s: every transaction carries pgpolicy.set_context%s",
        LAYOUT.series,
        " (SHADOW MODE: mirrors report what they would deny, and deny nothing)"
        if bridge.shadow
        else "",
    )


def _route_device_log(bridge):
    """A read-only request (served from db_replica_host) writes the device log on a cursor
    of its own on the primary, which no environment claims: it works for the request's
    user, as the same INSERT does on the request's cursor otherwise."""
    from odoo.addons.base.models.res_device import ResDeviceLog

    original_update_device = ResDeviceLog._update_device

    @functools.wraps(original_update_device)
    def update_device(self, request):
        uid = self.env.uid
        if not (isinstance(uid, int) and uid > 0):
            return original_update_device(self, request)
        with bridge.thread_default(principal_of(uid)):
            return original_update_device(self, request)

    ResDeviceLog._update_device = update_device


def _route_name_search(bridge):
    """Odoo's default display-name search (`name_search`, many2one dropdowns) through the
    database's name-search functions, where one exists (lib/search.py decides)."""
    original = odoo.models.BaseModel._search_display_name

    @functools.wraps(original)  # keeps `@api.model`
    def _search_display_name(self, operator, value):
        cr = self.env.cr
        if bridge.databases.get(cr.dbname) and self._table and not self._abstract:
            functions = NAME_SEARCH.functions(cr.dbname, cr)
            fields = routed_fields(
                functions.get(self._table),
                self._name,
                operator,
                value,
                self._rec_names_search or ([self._rec_name] if self._rec_name else []),
                type(self)._search_display_name is _search_display_name,
                self.env.registry.has_unaccent,
            )
            if fields is not None:
                self.flush_model(fields)
                domain = NAME_SEARCH.search(cr, self._table, fields, value)
                if domain is not None:
                    return domain
        return original(self, operator, value)

    odoo.models.BaseModel._search_display_name = _search_display_name


def _log_shadow_reports(notices):
    """Move the database's shadow-mode reports from the connection into Odoo's log."""
    kept = []
    for notice in notices:
        if "pgpolicy shadow:" in notice:
            _logger.warning("%s", notice.strip().removeprefix("WARNING:").strip())
        else:
            kept.append(notice)
    notices[:] = kept


def _has_runtime(cr):
    """Whether the cursor's database has the pgpolicy runtime (read past the bridge)."""
    idle = cr._cnx.info.transaction_status == IDLE
    cr._obj.execute("SELECT to_regnamespace('pgpolicy') IS NOT NULL")
    found = cr._obj.fetchone()[0]
    if idle:
        cr._cnx.rollback()  # leave the connection as it was: no transaction
    return found


def _login_uid(result, args, kwargs):
    """The uid `_login` authenticated: its result (17.0), or its result's "uid"."""
    return result if LAYOUT.login_returns_uid else result["uid"]


def _checked_uid(result, args, kwargs):
    """The uid of an XML-RPC password check (`check(db, uid, passwd)`, 19.0's
    `_check_uid_passwd(uid, passwd)`)."""
    return kwargs["uid"] if "uid" in kwargs else args[LAYOUT.password_check_uid_arg]


def _refusing_blocked(bridge, original, uid_of):
    """`original` (`_login` or the password check), then AccessDenied if a profile blocks
    the user it authenticated (`uid_of(result, args, kwargs)`)."""

    @functools.wraps(original)  # keeps what Odoo reads on it (ormcache's __cache__, ...)
    def wrapped(owner, *args, **kwargs):  # owner: the class (17.0, 18.0) or a recordset
        result = original(owner, *args, **kwargs)
        uid = uid_of(result, args, kwargs)
        with bridge.system(), owner.pool.cursor() as cr:  # commits: the refusal stays recorded
            allowed = login_allowed(cr, uid)
        if not allowed:
            _logger.warning("pgpolicy: sign-in of uid %s refused by an access profile", uid)
            raise AccessDenied()
        return result

    return wrapped


def _in_system(bridge, original):
    @functools.wraps(original)
    def wrapped(*args, **kwargs):
        with bridge.system():
            return original(*args, **kwargs)

    return wrapped
