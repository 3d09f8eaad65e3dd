"""Words the pages show from Python tables owned elsewhere (roles, audit entry types, notifications),
marked here for the catalogs.

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
    N_("服务器操作员"),
    N_("系统"),
    N_("未登录者"),
)

# assembly.audit.observer_routes.TYPE_LABELS
AUDIT_ENTRY_TYPES = (
    N_("业主名册新版本"),
    N_("冻结表决名册"),
    N_("投票"),
    N_("公开选票承诺"),
    N_("议题表决结束"),
    N_("公布结果"),
    N_("最终结果"),
    N_("提出异议"),
    N_("异议成立"),
    N_("异议驳回"),
    N_("工作人员登录"),
    N_("登录失败"),
    N_("登录限速"),
    N_("发放业主一卡通"),
    N_("补办业主一卡通"),
    N_("注销业主一卡通"),
    N_("激活业主一卡通"),
    N_("修改 PIN"),
    N_("创建账户"),
    N_("变更账户负责的小区"),
    N_("停用账户"),
    N_("修改密码"),
    N_("启用两步验证"),
)

# assembly.notify.service.EVENTS
NOTIFICATIONS = (
    N_("业主大会会议通知"),
    N_("投票开始"),
    N_("投票结束"),
    N_("表决结果公告"),
    N_("业主提出异议"),
    N_("表决结果确定"),
)

# assembly.notify.owners.EVENTS and DELIVERY_LABELS (the owner's notices on their home page)
OWNER_NOTICES = (
    N_("业主一卡通激活"),
    N_("PIN 修改"),
    N_("业主一卡通停用"),
    N_("投票"),
    N_("委托代理人"),
    N_("共有人提议投票人"),
    N_("投票人已确定"),
    N_("投票人提议撤回"),
    N_("仅在本页显示（平台未配置短信网关）"),
    N_("仅在本页显示（名册中没有您的手机号）"),
    N_("正在发送短信"),
    N_("已发送短信"),
)
