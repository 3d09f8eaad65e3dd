"""Words the pages show from Python tables owned elsewhere (role names), marked here for the catalogs.

Templates translate them at the point of display (`_(who.role_label)`); tests/web/test_i18n.py checks
that every label of those tables is listed here, so a new role cannot reach a page untranslated.
"""

from __future__ import annotations

from assembly.web.i18n import N_

ROLE_NAMES = (
    N_("业主"),
    N_("业主委员会主任"),
    N_("业主委员会委员"),
    N_("业主委员会工作人员"),
    N_("社区居委会"),
    N_("观察员"),
    N_("街道办事处"),
    N_("平台管理员"),
    N_("代理人"),
)
