"""The enabled subset of a user's access profiles, chosen for the HTTP session.

GET  /pgpolicy/profiles   → {"profiles": [the user's profiles], "enabled": [...] or null}
POST /pgpolicy/profiles   (JSON-RPC, params {"profiles": [...]} or {"profiles": null})
                          → the same, after setting or clearing the choice

The database decides which names are the user's (`pgpolicy.profile_names()`, and
`set_context` refuses any other): a refusal is returned as {"error": ...} with the choice
left as it was.
"""

import psycopg2
from odoo import http
from odoo.http import request

from ..hooks import LAYOUT
from ..lib.context import SESSION_KEY, BridgeError, session_choice, session_profiles
from ..lib.profile_choice import check_choice, profile_names


def _state():
    names = profile_names(request.env.cr) or []
    try:
        enabled = session_profiles(request.session.get(SESSION_KEY), request.session.uid)
    except BridgeError as exc:
        return {"profiles": names, "enabled": None, "error": str(exc)}
    return {"profiles": names, "enabled": None if enabled is None else list(enabled)}


class PgpolicyProfiles(http.Controller):
    @http.route("/pgpolicy/profiles", type="http", auth="user", methods=["GET"], readonly=True)
    def profiles(self):
        return request.make_json_response(_state())

    @http.route("/pgpolicy/profiles", type=LAYOUT.json_route, auth="user", methods=["POST"])
    def choose_profiles(self, profiles=None):
        try:
            choice = session_choice(request.session.uid, profiles)
        except BridgeError as exc:
            return dict(_state(), error=str(exc))
        if choice is not None:
            cr = request.env.cr
            try:
                with cr.savepoint():  # the database's own check; nothing kept
                    check_choice(cr, choice["profiles"])
            except BridgeError as exc:
                return dict(_state(), error=str(exc))
            except psycopg2.Error as exc:
                message = exc.diag.message_primary or str(exc).strip()
                return dict(_state(), error=message)
            request.session[SESSION_KEY] = choice
        else:
            request.session.pop(SESSION_KEY, None)
        return _state()
