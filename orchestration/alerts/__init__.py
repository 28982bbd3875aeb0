"""Alerts to partner ops: one per problem, to every configured channel.

Every failed check becomes an alert identified by a fingerprint of check, asset, batch and
partner set. A new fingerprint is recorded in ``quality.alerts``, logged as one structured
line and sent to the webhook and e-mail channels configured in :class:`Settings`. A
fingerprint that is still open is not sent again; when its check passes on the same scope
the alert is marked resolved (and would be sent again if the problem came back).
"""

from __future__ import annotations

from orchestration.alerts.dispatch import Alert, dispatch, resolve_scope_key

__all__ = ["Alert", "dispatch", "resolve_scope_key"]
