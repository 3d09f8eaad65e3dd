"""Every table of the platform: the one module that imports each feature's table modules, for
Alembic (alembic/env.py) and the check that the migrations match the models. Nothing else imports
it: a feature's service imports its own tables only.
"""

from __future__ import annotations

from sqlmodel import SQLModel

import assembly.audit.models  # noqa: F401
import assembly.auth.models  # noqa: F401
import assembly.auth.screen_login  # noqa: F401
import assembly.events.models  # noqa: F401
import assembly.notify.models  # noqa: F401
import assembly.notify.owner_models  # noqa: F401
import assembly.proxies.models  # noqa: F401
import assembly.register.models  # noqa: F401
import assembly.register.voter_models  # noqa: F401
import assembly.voting.attachment_models  # noqa: F401
import assembly.voting.legal_hold_models  # noqa: F401
import assembly.voting.models  # noqa: F401
import assembly.voting.paper_models  # noqa: F401
import assembly.voting.posting_models  # noqa: F401
import assembly.voting.transfer_models  # noqa: F401


def load_all_models() -> type[SQLModel]:
    """SQLModel, whose metadata now holds every table."""
    return SQLModel
