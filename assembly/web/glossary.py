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
    N_("表决权随房屋转让移转"),
    N_("车位、储藏室是否计入"),
    N_("投票"),
    N_("公开选票承诺"),
    N_("议题表决结束"),
    N_("公布结果"),
    N_("异议期结束时的结果"),
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
    N_("表决结果暂缓公告（纸质选票待复核）"),
    N_("业主提出异议"),
    N_("异议期已结束"),
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

# assembly.voting: meetings.STATE_LABELS, casting.CHOICE_LABELS and REVOTE_RULES, proxies.STATUS_LABELS
VOTING = (
    N_("草稿"),
    N_("公告期"),
    N_("投票中"),
    N_("投票已结束，正在计票"),
    N_("投票已截止，纸质选票录入中"),
    N_("纸质选票待复核，结果暂缓公告"),
    N_("结果已公告（异议期）"),
    N_("同意"),
    N_("反对"),
    N_("弃权"),
    N_("投票截止前可以重新投票，以最后一次投票为准。"),
    N_("每个表决权只能投一次，以第一次投票为准，之后不能更改。"),
    N_("待业主委员会确认"),
    N_("已确认"),
    N_("未予确认"),
    N_("已撤回"),
)

# assembly.voting.paper: STATE_LABELS, BY_LABELS; assembly.voting.attachments.TYPE_LABELS
PAPER = (
    N_("已录入，待复核"),
    N_("已复核，计入选票"),
    N_("复核不一致，未计入"),
    N_("纸质票"),
    N_("网上投票（业主本人）"),
    N_("代理人投票"),
    N_("PDF 文件"),
    N_("PNG 图片"),
    N_("JPEG 图片"),
)

# assembly.law.rules.ITEM_NAMES: the matters of Article 278 of the Civil Code
CIVIL_CODE_ITEMS = (
    N_("制定和修改业主大会议事规则"),
    N_("制定和修改管理规约"),
    N_("选举业主委员会或者更换业主委员会成员"),
    N_("选聘和解聘物业服务企业或者其他管理人"),
    N_("使用建筑物及其附属设施的维修资金"),
    N_("筹集建筑物及其附属设施的维修资金"),
    N_("改建、重建建筑物及其附属设施"),
    N_("改变共有部分的用途或者利用共有部分从事经营活动"),
    N_("有关共有和共同管理权利的其他重大事项"),
)
