"""Every word the bot shows, in Simplified Chinese, in one place.

Templates use str.format placeholders; keep them short and warm.
"""

from __future__ import annotations

# Binding （绑定）
WELCOME = (
    "您好，欢迎使用{bot_name}！这里是{union}的会员服务。\n"
    "请点下方按钮分享您的手机号，核对工会名册后即可开始使用。"
)
SHARE_CONTACT_BUTTON = "📱 分享我的手机号"
ASK_CONTACT_AGAIN = "请点下方「分享我的手机号」按钮，不用手动输入号码。"
FOREIGN_CONTACT = "这不是您本人的号码。请点下方按钮分享您自己的手机号。"
ASK_POLICE_ID = "已在工会名册中找到这个手机号！请输入您的警号，确认是您本人。"
WRONG_POLICE_ID = "警号不对，请再核对一下（还可以试 {left} 次）。"
POLICE_ID_TRIES_USED = (
    "警号多次核对未通过，本次绑定已结束。请稍后重新发送 /start，或联系单位工会干部。"
)
ASK_TEXT_POLICE_ID = "请直接输入警号，例如 012345。"
TOO_MANY_ATTEMPTS = "尝试次数过多，为保护您的账号，请一小时后再试。"
BOUND = "绑定成功！{name}，欢迎回家。以后有事，找工会。"
NOT_ON_ROSTER = (
    "抱歉，工会名册里暂时没有这个手机号（可能是换了号码或名册未更新）。\n"
    "别担心，可以提交申请，由工会干部人工核对。请输入您的警号："
)
ASK_CLAIM_NAME = "请输入您的姓名："
BAD_NAME = "姓名请输入 2 到 20 个字。"
REQUEST_SENT = "申请已提交，工会干部核对后会第一时间通知您。"
REQUEST_PENDING = "您的申请正在审核中，请耐心等待，审核后会通知您。"
REQUEST_APPROVED = "您的绑定申请已通过，{name}，欢迎回家！"
REQUEST_REJECTED = "很抱歉，您的绑定申请未通过。如有疑问，请联系单位工会干部。"
STRANGER_HINT = "请先发送 /start 完成会员绑定。"

# Organizers: binding requests
REQUEST_CARD = (
    "🆕 绑定申请 #{id}\n"
    "Telegram：{telegram_name}\n"
    "手机号：{phone}\n"
    "自报警号：{police_id}\n"
    "自报姓名：{name}\n"
    "名册核对：{roster}"
)
ROSTER_MATCH = "名册中有此警号：{name}，{unit}"
ROSTER_ALREADY_BOUND = "；⚠️ 该会员已绑定另一个 Telegram 账号"
ROSTER_HAS_ROLE = "；⚠️ 该会员担任工会干部或管理员"
ROSTER_PHONE_SAME = "；手机号与名册一致"
ROSTER_PHONE_DIFFERENT = "；手机号与名册不一致（名册：{phone}）"
APPROVAL_NEEDS_ADMIN = "该警号已绑定其他账号或担任职务，需由管理员批准。"
ACCOUNT_DISPLACED = (
    "您的 Telegram 账号已与工会会员身份解除绑定（工会已将该身份改绑到新账号）。"
    "如有疑问，请联系单位工会干部。"
)
ROSTER_NO_MATCH = "名册中没有此警号，批准后将新建会员"
APPROVE_BUTTON = "✅ 批准"
REJECT_BUTTON = "❌ 拒绝"
REQUEST_DONE_APPROVED = "\n\n✅ 已批准（{by}）"
REQUEST_DONE_REJECTED = "\n\n❌ 已拒绝（{by}）"
NO_PENDING_REQUESTS = "目前没有待审核的绑定申请。"
PENDING_REQUESTS_HEADER = "待审核的绑定申请共 {count} 条："

# Menus and help
MAIN_MENU = "{name}，您好！请选择："
MENU_PROFILE = "👤 我的资料"
MENU_HELP = "❓ 帮助"
MENU_REQUESTS = "📋 绑定申请"
FREE_TEXT_HINT = "想办点什么？发送 /menu 打开菜单。"
STALE_BUTTON = "此按钮已失效"
NOT_ALLOWED = "您没有权限进行此操作。"
CANCELLED = "已取消，什么都没有保存。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"
HELP_OFFICER = (
    "暖警能帮您：\n/menu 打开菜单\n/me 查看和修改我的资料\n/cancel 取消当前操作\n/help 查看帮助"
)
HELP_ORGANIZER = (
    "\n\n工会干部：\n/announce 发布通知（全体、按单位或按角色）\n/requests 审核绑定申请\n"
    "/cases 待办慰问申报，可加筛选，如 /cases 住院 天元分局 已探望 2026-01-01 2026-06-30"
    "（/cases help 查看全部写法）\n"
    "/cases 统计 慰问统计\n/cases 导出 导出慰问申报 Excel（也可写 stats、export）"
)
HELP_ADMIN = (
    "\n\n管理员：\n"
    "/grant 警号 角色 授予角色（角色：organizer 工会干部，admin 管理员）\n"
    "/revoke 警号 角色 撤销角色"
)
HELP_STRANGER = "发送 /start，分享手机号，核对警号，即可绑定工会会员身份。"

# Bot command menu (setMyCommands)
COMMAND_START = "开始 / 绑定会员"
COMMAND_MENU = "打开菜单"
COMMAND_ME = "我的资料"
COMMAND_HELP = "帮助"
COMMAND_CANCEL = "取消当前操作"
COMMAND_REQUESTS = "审核绑定申请"
COMMAND_GRANT = "授予角色"
COMMAND_REVOKE = "撤销角色"

# Profile (/me)
PROFILE_CARD = (
    "👤 我的资料\n"
    "姓名：{name}\n"
    "警号：{police_id}\n"
    "单位：{unit}\n"
    "手机：{phone}\n"
    "生日：{birthday}\n"
    "性别：{gender}\n"
    "血型：{blood}\n"
    "单身交友活动：{single}\n"
    "节日生日问候：{greetings}"
)
UNKNOWN = "未登记"
GENDER_NAMES = {"M": "男", "F": "女"}
SINGLE_ON = "已报名（可收到交友活动）"
SINGLE_OFF = "未开启"
GREETINGS_ON = "接收"
GREETINGS_OFF = "不接收"
PROFILE_PHONE_BUTTON = "📱 更换手机号"
PROFILE_BLOOD_BUTTON = "🩸 修改血型"
PROFILE_SINGLE_ON_BUTTON = "💞 开启单身交友"
PROFILE_SINGLE_OFF_BUTTON = "💞 关闭单身交友"
PROFILE_GREETINGS_ON_BUTTON = "🎉 接收问候"
PROFILE_GREETINGS_OFF_BUTTON = "🔕 不再接收问候"
PROFILE_DONE_BUTTON = "完成"
PROFILE_CLOSED = "资料已保存。"
ASK_NEW_PHONE = "请点下方按钮分享您的新手机号："
PHONE_CHANGED = "手机号已更新为 {phone}。"
PHONE_NOT_MAINLAND = "只支持中国大陆手机号，请联系工会干部更新名册。"
PHONE_TAKEN = "这个手机号已登记在其他会员名下，请联系工会干部核对。"
ASK_BLOOD = "请选择您的血型："
BLOOD_UNKNOWN_BUTTON = "不清楚"

# Roles in chat (admins)
GRANT_USAGE = "用法：/grant 警号 角色（organizer 工会干部，admin 管理员）"
REVOKE_USAGE = "用法：/revoke 警号 角色（organizer 工会干部，admin 管理员）"
ROLE_NAMES = {"organizer": "工会干部", "admin": "管理员"}
UNKNOWN_ROLE = "角色只能是 organizer（工会干部）或 admin（管理员）。"
NO_SUCH_OFFICER = "名册中没有警号 {police_id}。"
GRANTED = "已授予 {name}（{police_id}）{role}角色。"
ALREADY_HAS_ROLE = "{name}（{police_id}）已经是{role}。"
REVOKED = "已撤销 {name}（{police_id}）的{role}角色。"
DID_NOT_HAVE_ROLE = "{name}（{police_id}）没有{role}角色。"
CANNOT_REVOKE_SELF_ADMIN = "不能撤销自己的管理员角色，请另一位管理员操作。"
YOU_WERE_GRANTED = "您已被授予{role}角色。发送 /help 查看新功能。"
YOU_WERE_REVOKED = "您的{role}角色已撤销。"

# Broadcasts (群发)
BROADCAST_STARTING = "📣 准备发送给 {total} 位会员……"
BROADCAST_PROGRESS = "📣 发送中：已送达 {sent}/{total}，失败 {failed}，无法送达 {blocked}"
BROADCAST_SUMMARY = "✅ 发送完成：已送达 {sent}/{total}，失败 {failed}，无法送达 {blocked}"
BROADCAST_CANCELLED_SUMMARY = (
    "⏹ 已停止发送：已送达 {sent}/{total}，未发送 {cancelled}，失败 {failed}，无法送达 {blocked}"
)
BROADCAST_CANCEL_BUTTON = "⏹ 停止发送"
BROADCAST_CANCEL_DONE = "已停止，不会再发出新的消息。"
UNREACHED_HEADER = "以下会员未能收到："
UNREACHED_LINE = "{name}（{police_id}）：{why}"
UNREACHED_WHY = {"blocked": "已屏蔽机器人", "failed": "发送失败"}

# Announcements (/announce, organizers)
COMMAND_ANNOUNCE = "发布通知"
ANNOUNCE_ASK_AUDIENCE = "📣 发布通知：请选择发送对象。"
ANNOUNCE_EVERYONE_BUTTON = "全体会员"
ANNOUNCE_BY_UNIT_BUTTON = "按单位"
ANNOUNCE_BY_ROLE_BUTTON = "按角色"
ANNOUNCE_ASK_UNIT = "请选择单位："
ANNOUNCE_NO_UNITS = "名册里还没有登记单位，请选择其他发送对象。"
ANNOUNCE_ASK_ROLE = "请选择角色："
ANNOUNCE_AUDIENCE_EVERYONE = "全体会员"
ANNOUNCE_AUDIENCE_ROLE = "全体{role}"
ANNOUNCE_NOBODY = "{audience}暂时没有可以接收消息的会员，请重新选择发送对象。"
ANNOUNCE_ASK_TEXT = "发送对象：{audience}。\n请输入通知内容（不超过 {limit} 字）："
ANNOUNCE_TEXT_ONLY = "通知只能是文字，请直接输入通知内容："
ANNOUNCE_TEXT_EMPTY = "通知内容不能为空，请重新输入："
ANNOUNCE_TEXT_TOO_LONG = "通知最多 {limit} 字，这次有 {length} 字，请删减后重新发送："
ANNOUNCE_PREVIEW = "以上是通知预览，将发送给{audience}，共 {count} 位会员。确认发送吗？"
ANNOUNCE_CONFIRM_BUTTON = "✅ 确认发送"
ANNOUNCE_CANCEL_BUTTON = "❌ 取消"
ANNOUNCE_CONFIRMED = "✅ 已确认，通知正在发送给{audience}。"
ANNOUNCE_NOBODY_NOW = "{audience}已经没有可以接收消息的会员，本次没有发送。"
ANNOUNCE_USE_BUTTONS = "请点上方的按钮选择，或发送 /cancel 取消。"

# Care reports (慰问申报)
MENU_REPORT = "📝 慰问申报"
MENU_MYREPORTS = "🗂 我的申报"
COMMAND_REPORT = "慰问申报（住院、婚育、退休、丧事）"
COMMAND_MYREPORTS = "我的申报"
HELP_CARE = "\n/report 慰问申报（住院、结婚、生育、退休、丧事）\n/myreports 查看我的申报"
CARE_EVENTS = {
    "hospitalization": "住院",
    "marriage": "结婚",
    "childbirth": "生育",
    "retirement": "退休",
    "relative_death": "直系亲属去世",
    "officer_death": "民警去世",
}
CARE_RELATIONS = {"spouse": "配偶", "parent": "父母", "parent_in_law": "配偶父母", "child": "子女"}
CARE_RELATIVE_EVENT = "{relation}去世"
CARE_ASK_EVENT = "📝 慰问申报：请选择要申报的事项。"
CARE_ASK_WHO = "申报「{event}」，是为谁申报？"
CARE_FOR_SELF = "为本人"
CARE_FOR_OTHER = "代同事申报"
CARE_ASK_COLLEAGUE = "请输入同事的警号，或本单位同事的姓名："
CARE_COLLEAGUE_NOT_FOUND = "没有找到这位同事。请输入警号，或本单位同事的完整姓名："
CARE_PICK_COLLEAGUE = "本单位有几位同名同事，请选择："
CARE_PICK_LINE = "{name}（{police_id}）"
CARE_ASK_HOSPITAL = "请输入住院的医院名称："
CARE_ASK_WARD = "请输入病区和床号（仅工会干部可见）："
CARE_ASK_RELATION = "请选择去世的亲属："
CARE_ASK_DATE = {
    "hospitalization": "请输入入院日期，例如 2026-11-29：",
    "marriage": "请输入结婚登记日期（计划中的婚礼可填 60 天内的日期），例如 2026-11-29：",
    "childbirth": "请输入生育日期，例如 2026-11-29：",
    "retirement": "请输入退休日期，例如 2026-11-29：",
    "relative_death": "请输入去世日期，例如 2026-11-29：",
    "officer_death": "请输入去世日期，例如 2026-11-29：",
}
CARE_BAD_DATE = "日期格式不对，可以写 2026-11-29、11月29日或昨天："
CARE_DATE_PROBLEMS = {
    "future": "日期不能晚于今天，请重新输入：",
    "too_far_ahead": "婚期只能填今后 60 天以内的日期，请重新输入：",
    "before_birth": "日期早于出生日期，请核对后重新输入：",
    "too_old": "只能申报一年以内的事项，请重新输入；更早的请联系工会干部：",
}
CARE_ASK_NOTE = "还有需要说明的吗？可以简短写一句（仅工会干部可见），或点「跳过」。"
CARE_SKIP = "跳过"
CARE_TEXT_TOO_LONG = "请简短一些，不超过 {limit} 个字："
CARE_TEXT_EXPECTED = "请直接输入文字。"
CARE_SUMMARY = (
    "请确认申报内容：\n"
    "事项：{event}\n"
    "对象：{name}（{police_id}，{unit}）"
    "{details}\n"
    "日期：{date}\n"
    "慰问金：{amount}"
)
CARE_LINE_HOSPITAL = "医院：{hospital}"
CARE_LINE_WARD = "病区：{ward}"
CARE_LINE_NOTE = "说明：{note}"
CARE_AMOUNT = "{amount} 元"
CARE_AMOUNT_UP_TO = "最高 {amount} 元"
CARE_AMOUNT_NONE = "按工会规定核定"
CARE_SUBMIT = "✅ 提交"
CARE_DISCARD = "❌ 取消"
CARE_SUBMITTED = "已提交，编号 #{id}。工会会尽快与您联系，每一步进展都会告诉您。"
# Before CARE_SUBMITTED when the report is of a death (a relative's or a colleague's).
CARE_CONDOLENCE = "🕯 惊闻噩耗，深表哀悼，请节哀保重。\n"
CARE_REPORTED_FOR_YOU = "同事{reporter}为您申报了「{event}」慰问，工会会尽快与您联系。"
CARE_NONE_YET = "您还没有慰问申报。需要时发送 /report。"
CARE_MINE_HEADER = "🗂 我的申报："
CARE_MINE_LINE = "#{id} {event} {date}：{status}"
CARE_MINE_FOR = "（为{name}申报）"
CARE_MINE_PAID = "，{amount} 元"
CARE_MINE_DECLINED = "，原因：{reason}"
CASE_STATUS = {
    "reported": "已上报",
    "visited": "已探望",
    "paid": "已发放",
    "declined": "不予受理",
    "duplicate": "重复申报",
}
CASE_CARD = (
    "🔔 慰问申报 #{id}\n"
    "事项：{event}\n"
    "对象：{name}（{police_id}，{unit}）\n"
    "日期：{date}\n"
    "慰问金：{amount}\n"
    "状态：{status}"
)
CASE_CARD_REPORTER = "申报人：{name}（{police_id}）"
CASE_VISIT_BUTTON = "已探望"
CASE_PAY_BUTTON = "已发放"
CASE_DECLINE_BUTTON = "不予受理"

# Organizers: care cases (已探望 / 已发放 / 不予受理, /cases, exports, figures)
COMMAND_CASES = "慰问申报办理、统计和导出"
CASE_FLOW_CANCEL_BUTTON = "❌ 取消"
CASE_PAY_SUM_BUTTON = "✅ 按 {amount} 元发放"
CASE_STEP_HEAD = "#{id} {event}：{name}（{unit}）"
CASE_PAY_ASK = (
    "💰 {head}\n政策标准：{policy}。\n"
    "点「按 {amount} 元发放」确认，或直接输入实际发放的金额（不超过 {amount} 元）："
)
CASE_PAY_ASK_UNPRICED = "💰 {head}\n这项没有政策标准，请输入实际发放的金额（元）："
CASE_AMOUNT_BAD = "请输入整数金额，例如 800："
CASE_AMOUNT_RANGE = "金额要大于 0、不超过政策标准 {amount} 元，请重新输入："
CASE_AMOUNT_RANGE_UNPRICED = "金额要大于 0、不超过 {limit} 元，请重新输入："
CASE_PAY_REASON_ASK = (
    "发放 {amount} 元，与政策标准 {policy} 元不同，请简要说明原因（不超过 {limit} 字）："
)
CASE_PAY_REASON_ASK_UNPRICED = (
    "发放 {amount} 元。这项没有政策标准，请简要说明依据（不超过 {limit} 字）："
)
CASE_DECLINE_ASK = "{head}\n请输入不予受理的原因（不超过 {limit} 字，会告知本人）："
CASE_REASON_BAD = "原因请用文字写明，不超过 {limit} 字："
CASE_USE_BUTTON_OR_TYPE = "请点上方按钮，或直接输入金额；发送 /cancel 取消。"
CASE_VISITED_DONE = "已登记探望。"
CASE_PAID_DONE = "✅ 已登记 #{id} 发放慰问金 {amount} 元。{told}"
CASE_DECLINED_DONE = "已登记 #{id} 不予受理。{told}"
CASE_TOLD_OFFICER = "已通知本人。"
CASE_TOLD_REPORTER = "已通知申报人。"
CASE_TOLD_NOBODY = "对方暂时收不到暖警的消息，请另行告知。"
CASE_MOVED_ON = "#{id} 现在是「{status}」，这一步已无法办理，什么都没有改动。"
CASE_TOLD = {
    "visited": "工会已登记对您的探望（#{id} {event}）。有什么需要，随时告诉我们。",
    "paid": "您的慰问金已发放（#{id} {event}）：{amount} 元。工会一直在您身边。",
    "declined": (
        "很抱歉，您的申报 #{id}（{event}）不予受理。\n原因：{reason}\n"
        "如有疑问，请联系单位工会干部。"
    ),
}
CASE_TOLD_AS_REPORTER = {
    "visited": "您为{name}申报的 #{id}（{event}）：工会已登记探望。",
    "paid": "您为{name}申报的 #{id}（{event}）：慰问金 {amount} 元已发放。",
    "declined": "您为{name}申报的 #{id}（{event}）不予受理。\n原因：{reason}",
}
CASES_HEADER = "📋 慰问申报（{filters}）共 {count} 件，最早的在前："
CASES_FILTER_OPEN = "待办：已上报、已探望"
CASES_FILTER_ALL = "全部状态"
CASES_FILTER_PERIOD = "申报于 {start} 至 {end}"
CASES_FILTER_SINCE = "申报于 {start} 以后"
CASES_LINE = "#{id} {event} {name} {unit} {date} {status}"
CASES_MORE = "只列出最早的 {limit} 件，请加筛选条件缩小范围。"
CASES_FOOTER = "发送 /cases #编号 查看详情并办理。"
CASES_NONE = "没有符合条件的慰问申报（{filters}）。"
CASES_NO_SUCH = "没有编号为 #{id} 的慰问申报。"
CASES_BAD_TOKEN = "看不懂「{token}」。\n\n"
CASES_BAD_PERIOD = "日期最多写两个（起、止），或写一个年份、月份，如 2026 或 2026-03。\n\n"
CASES_ALL = "全部"
CASES_USAGE = (
    "📋 /cases 用法（条件之间用空格隔开，可任意组合）：\n"
    "/cases — 待办申报（已上报、已探望），最早的在前\n"
    "/cases 住院 天元分局 已探望 — 按事项、单位、状态筛选\n"
    "/cases 2026-01-01 2026-06-30 — 按申报日期筛选；只写一个日期＝从这天起；"
    "也可写 2026 或 2026-03\n"
    "/cases 全部 — 连同已发放、不予受理、重复申报\n"
    "/cases #12 — 查看 12 号申报并办理\n"
    "/cases 统计 [起 止] — 慰问统计（默认今年，按事件日期）\n"
    "/cases 导出 [起 止] — 导出 Excel 给财务（默认今年，按事件日期）\n"
    "（统计、导出也可写 stats、export）\n"
    "事项：住院 结婚 生育 退休 直系亲属去世 民警去世\n"
    "状态：已上报 已探望 已发放 不予受理 重复申报"
)
CASES_EXPORT_CAPTION = "慰问申报 {start} 至 {end}（按事件日期），共 {count} 件。不含病区和说明。"
CASES_STATS_HEADER = "📊 慰问统计 {start} 至 {end}（按事件日期，不含重复申报）："
CASES_STATS_LINE = "{event}：{cases} 件，已发放 {paid} 件，共 {amount} 元"
CASES_STATS_TOTAL = "合计：{cases} 件，已发放 {paid} 件，共 {amount} 元"
CASES_STATS_NONE = "这段时间没有慰问申报。"
CASES_STATS_COMFORTED = "自 {since} 以来，工会共慰问 {count} 人。"
EXPORT_COLUMNS = (
    "编号",
    "警号",
    "姓名",
    "单位",
    "事项",
    "事件日期",
    "政策金额",
    "发放金额",
    "状态",
    "申报时间",
    "探望时间",
    "探望人",
    "发放时间",
    "发放人",
    "不予受理时间",
    "不予受理人",
    "原因",
    "重复于",
)
EXPORT_SHEET = "慰问申报"

# Blood donation records (/blood)
COMMAND_BLOOD = "我的献血记录"
HELP_BLOOD = "\n/blood 我的献血记录和下次可以献血的日期"
HELP_BLOOD_ORGANIZER = (
    "\n/blood 登记 警号 成分 数量 [日期] 登记献血，如 /blood 登记 100001 全血 400\n"
    "/blood 统计 [年份] 献血统计\n/blood 警号 查看某位会员的献血记录"
)
BLOOD_COMPONENTS = {"whole_blood": "全血", "platelets": "血小板", "plasma": "血浆"}
BLOOD_AMOUNTS = {
    "whole_blood": "{amount} 毫升",
    "platelets": "{amount} 个治疗量",
    "plasma": "{amount} 毫升",
}
BLOOD_HEAD_OWN = "🩸 我的献血"
BLOOD_HEAD_OTHER = "🩸 {name}（{police_id}，{unit}）的献血记录"
BLOOD_TYPE_LINE = "血型：{blood}"
BLOOD_TYPE_UNKNOWN_OWN = "未登记（可在 /me 中填写）"
BLOOD_TOTALS = "累计献血 {count} 次：全血和血浆 {ml} 毫升，血小板 {units} 个治疗量。"
BLOOD_NO_HISTORY = "还没有献血记录。"
BLOOD_HISTORY_HEAD = "献血记录（最近的在前）："
BLOOD_HISTORY_LINE = "{date} {component} {amount}"
BLOOD_HISTORY_MORE = "……只列出最近 {limit} 次。"
BLOOD_NEXT_HEAD = "下次献血："
BLOOD_MAY_NOW = "{component}：现在就可以献 ❤️"
BLOOD_MAY_FROM = "{component}：{date} 起可以献（{reason}）"
BLOOD_MAY_NOT = "{component}：暂时不能献（{reason}）"
BLOOD_REASONS = {
    "interval": "离上次献血还要再休息一段时间",
    "yearly_cap": "今年的血小板已献满 {cap} 次",
    "too_young": "年满 {min_age} 周岁就可以献血了",
    "too_old": "已过献血年龄上限 {max_age} 周岁，感谢一直以来的爱心",
    "too_old_first_time": "初次献血须在 {max_first} 周岁以内，感谢这份爱心",
    "unknown_birthday": "名册里没有出生日期，请联系工会干部补登",
}
BLOOD_STATION_FINAL = "以上按国家献血标准推算，能否献血以血站当天的检查为准。"
BLOOD_ORGANIZER_HINT = "\n\n工会干部：发送 /blood help 查看登记和统计的写法。"
BLOOD_USAGE = (
    "🩸 /blood 用法：\n"
    "/blood — 我的献血记录\n"
    "/blood 警号 — 查看某位会员的献血记录\n"
    "/blood 登记 警号 成分 数量 [日期] — 登记献血，"
    "如 /blood 登记 100001 全血 400 或 /blood 登记 100001 血小板 1 昨天\n"
    "全血 200、300 或 400 毫升；血小板 1～3 个治疗量；血浆 100～800 毫升（50 的整数倍）。"
    "日期默认今天，可补登一年以内的。\n"
    "/blood 统计 [年份] — 献血统计（默认今年）\n"
    "（登记、统计也可写 record、stats）"
)
BLOOD_RECORD_MISSING = "登记献血请写警号、成分和数量。\n\n"
BLOOD_BAD_COMPONENT = "看不懂成分「{token}」，请写全血、血小板或血浆。\n\n"
BLOOD_BAD_AMOUNT = "看不懂数量「{token}」，请写数字。\n\n"
BLOOD_BAD_WHOLE = "全血只能登记 200、300 或 400 毫升。"
BLOOD_BAD_PLATELETS = "血小板按治疗量登记，只能是 1、2 或 3 个。"
BLOOD_BAD_PLASMA = "血浆请登记 100～800 毫升，且为 50 的整数倍。"
BLOOD_BAD_DATE = "看不懂日期「{token}」，请写成 2026-11-20。\n\n"
BLOOD_TOO_MANY = "多了「{token}」，请按下面的写法重新发送。\n\n"
BLOOD_DATE_FUTURE = "献血日期不能晚于今天。"
BLOOD_DATE_TOO_OLD = "只能补登一年以内（{earliest} 及以后）的献血。"
BLOOD_OFFICER_LEFT = "{name}（{police_id}）已不在会员名册中，不能登记。"
BLOOD_DUPLICATE = "{name}（{police_id}）{date} 的{component}已经登记过了，这次没有重复登记。"
BLOOD_RECORDED = "✅ 已登记：{name}（{police_id}）{date} {component} {amount}。{told}"
BLOOD_TOLD = "已通知本人。"
BLOOD_TOLD_NOBODY = "本人暂时收不到暖警的消息，请另行转达感谢。"
BLOOD_TOLD_SELF = "谢谢您的爱心！"
BLOOD_THANKS = (
    "🩸 感谢您 {date} 无偿献血（{component} {amount}）！\n{totals}\n"
    "发送 /blood 查看记录和下次可以献血的日期。"
)
BLOOD_STATS_HEAD = "📊 {year} 年献血统计（按献血日期）："
BLOOD_STATS_TOTAL = (
    "共 {donors} 人献血 {donations} 人次：全血和血浆 {ml} 毫升，血小板 {units} 个治疗量。"
)
BLOOD_STATS_DRIVES = "献血活动 {drives} 场。"
BLOOD_STATS_UNITS_HEAD = "按单位（以现在所在单位计）："
BLOOD_STATS_UNIT_LINE = "{unit}：{donors} 人，{donations} 人次，{ml} 毫升，{units} 个治疗量"
BLOOD_STATS_NONE = "{year} 年还没有献血记录。"
BLOOD_BAD_YEAR = "看不懂年份「{token}」，请写成 2026。\n\n"
BLOOD_BAD_ARGUMENT = "看不懂「{token}」。\n\n"

# --- blood drives (献血活动) ---------------------------------------------------------------
COMMAND_DRIVES = "献血活动报名"
HELP_DRIVES = "\n/drives 近期献血活动，报名或取消报名"
HELP_DRIVES_ORGANIZER = (
    "\n/drives 新建 日期 时间 地点 名额 [血型] 安排献血活动，如 "
    "/drives 新建 12月5日 上午9点 市中心血站 30 O,A\n/drives 编号 查看某场活动的报名名单"
)
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
DRIVE_WHEN = "{date}（{weekday}）{time}"
DRIVE_ALL_TYPES = "各血型都欢迎"
DRIVE_CARD = (
    "🩸 献血活动 #{id}\n时间：{when}\n地点：{place}\n血型：{types}\n"
    "名额：{capacity} 人，已报名 {signed} 人，还剩 {left} 个{waiting}"
)
DRIVE_WAITING = "，候补 {count} 人"
DRIVE_MINE_SIGNED = "\n✅ 您已报名。"
DRIVE_MINE_WAITLISTED = "\n⏳ 您在候补第 {position} 位，有人取消时按顺序递补，会告诉您。"
DRIVE_SIGN_UP_BUTTON = "报名"
DRIVE_WAITLIST_BUTTON = "报名候补"
DRIVE_CANCEL_BUTTON = "取消报名"
DRIVES_NONE = "近期还没有安排献血活动，有新活动时工会会通知大家。"
DRIVES_ORGANIZER_HINT = (
    "\n\n工会干部：/drives 新建 日期 时间 地点 名额 [血型] 安排新活动，/drives 编号 查看名单。"
)
DRIVE_USAGE = (
    "🩸 /drives 用法：\n"
    "/drives — 近期献血活动，报名或取消报名\n"
    "/drives 新建 日期 时间 地点 名额 [血型] — 安排献血活动，"
    "如 /drives 新建 2026-12-05 09:00 市中心血站 30 或 "
    "/drives 新建 12月5日 上午9点 市中心血站 30 O,A（新建也可写 new）\n"
    "名额 1～10000；血型写 A、B、O、AB，用逗号隔开，不写表示各血型都欢迎。\n"
    "/drives 编号 — 查看某场活动的报名和候补名单"
)
DRIVE_MISSING = "安排献血活动请写日期、时间、地点和名额。\n\n"
DRIVE_BAD_DATE = "看不懂日期「{token}」，请写成 2026-12-05。\n\n"
DRIVE_BAD_TIME = "看不懂时间「{token}」，请写成 09:00。\n\n"
DRIVE_BAD_CAPACITY = "名额请写 1～10000 之间的数字（现在是「{token}」）。\n\n"
DRIVE_BAD_TYPES = "看不懂血型「{token}」，请写 A、B、O、AB，用逗号隔开。\n\n"
DRIVE_PAST = "活动时间 {when} 已经过去了，请写以后的时间。"
DRIVE_CREATED = (
    "✅ 已安排献血活动 #{id}：{when}，{place}，{capacity} 个名额，{types}。"
    "会员发送 /drives 即可报名。"
)
DRIVE_NOT_FOUND = "没有编号为 {id} 的献血活动。"
DRIVE_ATTENDEES_HEAD = "🩸 献血活动 #{id}（{when}，{place}）报名名单："
DRIVE_ATTENDEE_LINE = "{number}. {name}（{police_id}，{unit}）"
DRIVE_WAITLIST_HEAD = "候补："
DRIVE_NOBODY = "还没有人报名。"
DRIVE_SIGNED = "✅ 报名成功！请按时到场，前一天会提醒您。"
DRIVE_WAITLISTED = "名额已满，已为您排在候补第 {position} 位；有人取消时按顺序递补，会告诉您。"
DRIVE_ALREADY_SIGNED = "您已经报过名了。"
DRIVE_ALREADY_WAITLISTED = "您已经在候补第 {position} 位了。"
DRIVE_CLOSED = "这场活动已经开始或取消，不能再报名了。"
DRIVE_CANCELLED = "已取消报名，名额已让给其他同事。谢谢告诉我们！"
DRIVE_LEFT_WAITLIST = "已退出候补。"
DRIVE_NOT_SIGNED = "您没有报名这场活动。"
DRIVE_INELIGIBLE = "{date} 您还不能献全血：{reason}。"
DRIVE_INELIGIBLE_FROM = "{date} 您还不能献全血：{reason}，{from_date} 起可以献。"
DRIVE_INELIGIBLE_TAIL = "\n这次先不报名了，谢谢您的爱心！发送 /blood 查看详情。"
DRIVE_TYPE_NOT_WANTED = (
    "这场活动需要的血型是 {types}，您的血型是 {blood}，这次先不用报名，谢谢您的爱心！"
)
DRIVE_TYPE_UNKNOWN = "这场活动只需要 {types} 型血，您的血型还没有登记，请先在 /me 中填写血型。"
DRIVE_PROMOTED = (
    "🎉 好消息：有同事取消了报名，您已从候补递补为正式报名：献血活动 #{id}，{when}，{place}。"
    "请按时到场；去不了请发送 /drives 取消报名。"
)
DRIVE_REMINDER = (
    "🩸 献血提醒：{when}，{place}（献血活动 #{id}），您已报名。\n"
    "请带好身份证；前一晚早点休息，清淡饮食、不要饮酒，当天吃点清淡早餐。\n"
    "去不了请发送 /drives 取消报名，把名额让给候补的同事。"
)

# --- urgent blood appeals (/appeal) -------------------------------------------------------------

COMMAND_APPEAL = "紧急用血呼吁"
APPEAL_USAGE = (
    "用法：/appeal 血型 成分 人数 截止日期 截止时间 医院|地址|联系人\n"
    "例如：/appeal O- 血小板 2 2026-11-30 08:00 市中心医院|长沙路1号|张医生 13800000000\n"
    "血型：A、B、O、AB，后加 + 或 -（Rh 阳性或阴性，不写为阳性）；"
    "成分：全血、血小板、血浆；截止日期可写 明天、12月5日，时间可写 8点、晚上8点（本地时间）。"
)
APPEAL_BAD_TYPE = "看不懂血型「{token}」。\n"
APPEAL_BAD_COMPONENT = "看不懂成分「{token}」：请写 全血、血小板 或 血浆。\n"
APPEAL_BAD_UNITS = "人数「{token}」不对：请写 1–100 的整数。\n"
APPEAL_BAD_DATE = "看不懂截止日期「{token}」：可写 明天、12月5日 或 2026-12-05。\n"
APPEAL_BAD_TIME = "看不懂截止时间「{token}」：可写 8点、晚上8点 或 20:30。\n"
APPEAL_PAST = "截止时间 {when} 已经过去了。"
APPEAL_BAD_PLACE = "请写 医院|地址|联系人，三项都不能空，用 | 隔开。\n"
APPEAL_BLOOD = "{group}型"
APPEAL_BLOOD_NEGATIVE = "{group}型Rh阴性"
APPEAL_COMPONENTS = {"whole_blood": "全血", "platelets": "血小板", "plasma": "血浆"}
APPEAL_PREVIEW = (
    "🆘 紧急用血呼吁预览\n"
    "血型：{blood}　成分：{component}　需要：{units} 人\n"
    "医院：{hospital}（{address}）\n联系人：{contact}\n截止：{deadline}\n\n"
    "将以紧急优先级发送给 {count} 位血型相符、现在可以献{component}的会员。"
)
APPEAL_CONFIRM_BUTTON = "✅ 确认发送"
APPEAL_CANCEL_BUTTON = "❌ 取消"
APPEAL_CANCELLED = "已取消，呼吁没有发出。"
APPEAL_NOBODY = "现在没有血型相符、可以献{component}的会员，呼吁没有发出。"
APPEAL_CONFIRMED = "已确认，呼吁正在以紧急优先级发出。"
APPEAL_TEXT = (
    "🆘 紧急用血呼吁\n{hospital} 急需 {blood}{component}，需要 {units} 位献血者，"
    "截止 {deadline}。\n您的血型相符，目前也可以献{component}。能去的话请按「我能去」，"
    "去不了请按「去不了」。谢谢！"
)
APPEAL_COMING_BUTTON = "🙋 我能去"
APPEAL_CANNOT_BUTTON = "去不了"
APPEAL_ARRIVED_BUTTON = "📍 已到达"
APPEAL_END_BUTTON = "⏹ 结束呼吁"
APPEAL_TALLY = (
    "🆘 紧急用血呼吁 #{id}：{blood}{component}，{hospital}，需要 {units} 人，截止 {deadline}\n"
    "已询问 {asked} 人｜我能去 {coming}｜已到达 {arrived}｜去不了 {cannot}"
)
APPEAL_TALLY_FULFILLED = "\n✅ 已满足：已通知其他会员不用再去。"
APPEAL_TALLY_CLOSED = "\n⏹ 已结束。"
APPEAL_GO = "谢谢您！请前往 {hospital}：{address}\n联系人：{contact}\n到达后请按「已到达」。"
APPEAL_COMING_ANSWER = "谢谢！地址和联系人已发给您。"
APPEAL_CANNOT_ANSWER = "已记录，谢谢告诉我们。"
APPEAL_ARRIVED_ANSWER = "已记录到达，谢谢您的爱心！"
APPEAL_NOT_COMING_ANSWER = "请先按「我能去」。"
APPEAL_FINAL_ANSWER = "您已到达，无需更改。"
APPEAL_ENDED_ANSWER = "此呼吁已结束"
APPEAL_FULFILLED_ANSWER = "此呼吁已满足，感谢"
APPEAL_NOT_ASKED = "这条呼吁不是发给您的。"
APPEAL_END_ANSWER = "呼吁已结束，已通知尚未到达的会员。"
APPEAL_STAND_DOWN = "🩸 {hospital} 的紧急用血已满足，感谢您的爱心！这次不用去了。"
APPEAL_STILL_EXPECTED = "🩸 {hospital} 的紧急用血人数已够。您仍在名单上，请按时到达。"
APPEAL_CLOSED_NOTICE = "🩸 {hospital} 的紧急用血呼吁已结束，不用再去了。谢谢您的关注！"
HELP_APPEAL_ORGANIZER = (
    "\n🆘 /appeal 血型 成分 人数 截止日期 截止时间 医院|地址|联系人：发出紧急用血呼吁，"
    "只发给血型相符、现在可以献该成分的会员。"
)
DRIVE_RECORD_HEAD = "\n登记献血：下面每位已报名的会员一条消息，按实际献的成分和数量点一次。"
DRIVE_RECORD_LINE = "{number}. {name}（{police_id}，{unit}）"
DRIVE_RECORD_BUTTONS = (
    (
        ("whole_blood", 200, "全血200"),
        ("whole_blood", 300, "全血300"),
        ("whole_blood", 400, "全血400"),
    ),
    (("platelets", 1, "血小板1"), ("platelets", 2, "血小板2")),
)
DRIVE_RECORD_TOO_EARLY = "献血日还没到（{date}），到时再登记。"
DRIVE_RECORD_NOT_SIGNED = "此人没有报名这次献血活动，不能从名单登记。"

# Greeting texts (bot.rules.greeting_text)
# Neutral on purpose: "快乐" would be wrong for 清明, a day of remembrance.
GREETING_FALLBACK_TEXT = "{name}，{festival}到了，{union}祝您平安健康、阖家幸福。"
GREETING_TEXT_REFUSED = {
    "empty": "问候语不能为空。",
    "too_long": "最多 {limit} 字，这次有 {length} 字。",
    "unknown_placeholder": (
        "只能用 {{name}}（姓名）、{{festival}}（节日）、{{union}}（工会）这三个占位符。"
    ),
    "stray_brace": "花括号只能用在 {{name}}、{{festival}}、{{union}} 里，请去掉多余的 {{ 或 }}。",
}

# Greetings: festival names
FESTIVAL_NAMES = {
    "yuandan": "元旦",
    "chunjie": "春节",
    "yuanxiao": "元宵节",
    "qingming": "清明节",
    "laodong": "劳动节",
    "duanwu": "端午节",
    "guoqing": "国庆节",
    "zhongqiu": "中秋节",
    "birthday": "生日",
}

# Clubs (/clubs, /clubnotice)
COMMAND_CLUBS = "兴趣俱乐部：加入或退出"
HELP_CLUBS = "\n/clubs 兴趣俱乐部：看看有哪些，加入或退出"
HELP_CLUBS_LEADER = (
    "\n\n俱乐部队长（{clubs}）：\n/clubnotice 给本俱乐部会员发通知\n"
    "/clubs 俱乐部名 查看本俱乐部成员名单\n/events 发布本俱乐部的活动"
)
HELP_CLUBS_ORGANIZER = (
    "\n🏅 /clubs leader 警号 俱乐部名 任命队长，/clubs unleader 警号 俱乐部名 撤销队长；"
    "/clubs 俱乐部名 查看成员名单；/clubnotice 给任一俱乐部会员发通知"
)
CLUBS_HEAD = "🏅 工会兴趣俱乐部（共 {count} 个）："
CLUBS_LINE = "{number}. {club}：{members} 人{mine}"
CLUBS_MINE_MEMBER = "　✅ 已加入"
CLUBS_MINE_LEADER = "　⭐ 您是队长"
CLUBS_FOOT = "\n点下方按钮加入或退出，欢迎一起来！"
CLUBS_LEADER_FOOT = "\n您是队长：/clubnotice 给会员发通知，👥 按钮查看成员名单。"
CLUBS_ORGANIZER_FOOT = (
    "\n工会干部：/clubs leader 警号 俱乐部名 任命队长，/clubnotice 发俱乐部通知。"
)
CLUBS_NONE = "工会暂时还没有设立俱乐部。"
CLUB_JOIN_BUTTON = "➕ 加入{club}"
CLUB_LEAVE_BUTTON = "➖ 退出{club}"
CLUB_MEMBERS_BUTTON = "👥 {club}成员"
CLUB_JOINED = "欢迎加入{club}俱乐部！俱乐部的活动和通知会发给您。"
CLUB_ALREADY_MEMBER = "您已经是{club}俱乐部的会员了。"
CLUB_LEFT = "已退出{club}俱乐部，欢迎随时回来。"
CLUB_LEFT_LEADER = "已退出{club}俱乐部，队长职务也一并卸下。感谢您的付出，欢迎随时回来。"
CLUB_NOT_MEMBER = "您还不是{club}俱乐部的会员。"
CLUB_UNKNOWN = "没有叫「{club}」的俱乐部。现有俱乐部：{clubs}。"
CLUB_COUNT = "{club}俱乐部现有 {count} 位会员。"
CLUB_MEMBERS_HEAD = "👥 {club}俱乐部成员（{count} 人）："
CLUB_MEMBER_LINE = "{number}. {name}（{police_id}，{unit}）{leader}"
CLUB_MEMBER_LEADER = "⭐ 队长"
CLUB_NO_MEMBERS = "还没有会员。"
CLUB_MEMBERS_NOT_ALLOWED = "成员名单只有本俱乐部队长和工会干部可以查看。"
CLUB_LEADER_USAGE = (
    "用法：/clubs leader 警号 俱乐部名（任命队长），/clubs unleader 警号 俱乐部名（撤销队长）"
)
CLUB_LEADER_GRANTED = "已任命 {name}（{police_id}）为{club}俱乐部队长。{told}"
CLUB_LEADER_ALREADY = "{name}（{police_id}）已经是{club}俱乐部队长。"
CLUB_LEADER_REVOKED = "已撤销 {name}（{police_id}）的{club}俱乐部队长职务，仍保留会员身份。{told}"
CLUB_LEADER_NOT = "{name}（{police_id}）不是{club}俱乐部队长。"
CLUB_LEADER_LEFT = "{name}（{police_id}）已不在会员名册中，不能任命为队长。"
CLUB_TOLD = "已私信告诉本人。"
CLUB_NOT_TOLD = "本人尚未绑定或暂时联系不上，没能告诉本人。"
CLUB_YOU_LEAD = (
    "🏅 您已被任命为{club}俱乐部队长！用 /clubnotice 给会员发通知，发送 /help 查看队长能做的事。"
)
CLUB_YOU_NO_LONGER_LEAD = "您的{club}俱乐部队长职务已撤销，仍是俱乐部会员。感谢您的付出！"
CLUB_NOTICE_NOT_LEADER = "只有俱乐部队长和工会干部可以发俱乐部通知。"
CLUB_NOTICE_NOT_YOURS = "您不是{club}俱乐部的队长，不能给这个俱乐部发通知。"
CLUB_NOTICE_ASK_CLUB = "📣 俱乐部通知：请选择俱乐部。"
CLUB_NOTICE_ASK_TEXT = "发给{club}俱乐部的会员。\n请输入通知内容（不超过 {limit} 字）："
CLUB_NOTICE_PREFIX = "【{club}俱乐部】\n"
CLUB_NOTICE_PREVIEW = "以上是通知预览，将发送给{club}俱乐部的 {count} 位会员。确认发送吗？"
CLUB_NOTICE_SEND_BUTTON = "✅ 发送"
CLUB_NOTICE_CANCEL_BUTTON = "❌ 取消"
CLUB_NOTICE_SENT = "✅ 已确认，通知正在发送给{club}俱乐部的会员。"
CLUB_NOTICE_NOBODY = "{club}俱乐部暂时没有可以接收消息的会员，本次没有发送。"

# Greetings admin (/greetings)
COMMAND_GREETINGS = "节日生日问候语"
HELP_GREETINGS_ORGANIZER = "\n🎉 /greetings 节日生日问候：查看日期、修改问候语、试发给自己"
GREETINGS_VIEW_HEADER = (
    "🎉 节日和生日问候（未来 12 个月，当天 {send_at} 发出）\n"
    "问候语里的 {{name}} 换成会员姓名，{{festival}} 换成节日名，{{union}} 换成“{union}”。"
)
GREETINGS_VIEW_FESTIVAL = "\n\n📅 {festival}：{dates}"
GREETINGS_VIEW_DATE = "{date}（{weekday}）"
GREETINGS_VIEW_DATE_SEPARATOR = "、"
GREETINGS_VIEW_BIRTHDAY = "\n\n🎂 生日：每位会员生日当天（选了按农历过生日的，按农历）"
GREETINGS_VIEW_TEXT = "\n问候语：{text}"
GREETINGS_VIEW_EDITED = "（已修改）"
GREETINGS_VIEW_NOTE = "\n福利提示：{note}"
GREETINGS_NO_NOTE = "无"
GREETINGS_EDIT_BUTTON = "✏️ 修改问候语"
GREETINGS_TEST_BUTTON = "📨 试发给我"
GREETINGS_ASK_OCCASION = "要修改哪个问候语？"
GREETINGS_ASK_TEST = "试发哪个问候？只发给您自己，不计入正式发送。"
GREETINGS_TEST_SENT = "已试发给您，其他会员不会收到。"
GREETINGS_ASK_TEXT = (
    "请发送新的{festival}问候语，不超过 {limit} 字。\n"
    "可用占位符：{{name}} 姓名，{{festival}} 节日，{{union}} 工会名称。\n\n"
    "现在的问候语：\n{current}"
)
GREETINGS_KEEP_TEXT_BUTTON = "沿用现在的问候语"
GREETINGS_RETRY = "{reason}\n请重新发送。"
GREETINGS_ASK_NOTE = (
    "请发送福利提示（例如慰问品、消费券的领取地点），不超过 {limit} 字，"
    "会单独一行附在问候语下面。\n\n现在的福利提示：{current}"
)
GREETINGS_KEEP_NOTE_BUTTON = "沿用现在的提示"
GREETINGS_NO_NOTE_BUTTON = "不附福利提示"
GREETINGS_PREVIEW = "以上是{festival}问候发给您时的样子，发给其他会员时换成他们的姓名。保存吗？"
GREETINGS_SAVE_BUTTON = "✅ 保存"
GREETINGS_CANCEL_BUTTON = "❌ 取消"
GREETINGS_SAVED = "已保存{festival}问候语。发送 /greetings 查看。"
GREETINGS_USE_BUTTONS = "请点上方的按钮。"
GREETINGS_TEXT_ONLY = "请直接发送文字。"

# Profile (/me): lunar birthday
PROFILE_BIRTHDAY_SOLAR = "\n生日问候：按公历生日"
PROFILE_BIRTHDAY_LUNAR = "\n生日问候：按农历生日（{lunar}）"
LUNAR_DATE = "农历{label}"
PROFILE_LUNAR_ON_BUTTON = "🌙 按农历过生日"
PROFILE_LUNAR_OFF_BUTTON = "📅 改回公历生日"
PROFILE_LUNAR_NO_BIRTHDAY = "名册里还没有您的生日，暂时不能按农历过生日。请联系单位工会干部补登。"
PROFILE_LUNAR_ON_ANSWER = "好的，以后在{lunar}为您送上生日祝福。"
PROFILE_LUNAR_OFF_ANSWER = "好的，以后在公历生日为您送上祝福。"

# Events （活动） and their sign-ups
COMMAND_EVENTS = "活动报名：联谊、课堂、户外、比赛、俱乐部"
EVENT_KINDS = {
    "matchmaking": "联谊交友",
    "class": "兴趣课堂",
    "outing": "户外活动",
    "competition": "体育比赛",
    "club_activity": "俱乐部活动",
}
EVENT_KIND_ICONS = {
    "matchmaking": "💞",
    "class": "🎨",
    "outing": "🌿",
    "competition": "🏆",
    "club_activity": "🏃",
}
EVENT_AUDIENCES = {
    "everyone": "全体会员",
    "unit": "{value}会员",
    "club": "{value}俱乐部成员",
    "singles": "单身会员",
    "women": "女警",
    "men": "男警",
}
EVENT_WHEN_SAME_DAY = "{date}（{weekday}）{start} 至 {end}"
EVENT_WHEN_DAYS = "{date}（{weekday}）{start} 至 {end_date}（{end_weekday}）{end}"
EVENT_CARD = (
    "{icon} {kind}｜{title}{ref}\n"
    "🕒 {when}\n"
    "📍 {place}\n"
    "👥 面向：{audience}\n"
    "🎫 名额 {capacity} 个，还剩 {left} 个{gender_left}\n"
    "⏳ 报名截止：{deadline}"
)
EVENT_REF = "（#{id}）"
EVENT_GENDER_LEFT = "（男 {male} 个，女 {female} 个）"
EVENT_GENDER_LEFT_MALE = "（男 {male} 个）"
EVENT_GENDER_LEFT_FEMALE = "（女 {female} 个）"
EVENT_WAITING = "，候补 {count} 人"
EVENT_NO_WAITLIST = "（不设候补）"
EVENT_DEADLINE_PASSED = "\n🔒 报名已截止。"
EVENT_MINE_SIGNED = "\n✅ 您已报名。"
EVENT_MINE_WAITLISTED = "\n⏳ 您在候补第 {position} 位。"
EVENT_SIGN_UP_BUTTON = "报名"
EVENT_WAITLIST_BUTTON = "候补报名"
EVENT_FULL_NOTE = "\n🈵 名额已满。"
EVENT_CANCEL_BUTTON = "取消报名"
EVENT_MANAGE_BUTTON = "⚙️ 管理"
EVENTS_NONE = "近期还没有您可以报名的活动，有新活动会第一时间通知您。"
EVENTS_MORE = "\n\n后面还有 {count} 个活动，时间较晚，过几天再来看看。"
EVENTS_MINE_HINT = "\n\n查看我的报名：/events 我的"
EVENTS_MANAGER_HINT = "\n\n发布新活动：/events 新建"
EVENTS_MINE_NONE = "您目前没有报名的活动。发送 /events 看看近期活动吧。"
EVENTS_MINE_HEAD = "📋 我的报名："
EVENTS_MINE_LINE = "{number}. {title}（#{id}）\n   🕒 {when}\n   📍 {place}\n   {state}"
EVENTS_MINE_SIGNED = "✅ 已报名"
EVENTS_MINE_WAITLISTED = "⏳ 候补第 {position} 位"
EVENT_SIGNED = "🎉 报名成功！到时见。"
EVENT_WAITLISTED = "名额已满，已为您报名候补，您是第 {position} 位。有人取消时会自动递补并通知您。"
EVENT_ALREADY_SIGNED = "您已经报过名了。"
EVENT_ALREADY_WAITLISTED = "您已在候补名单上，第 {position} 位。"
EVENT_FULL = "很抱歉，名额已满，这个活动不设候补。"
EVENT_DEADLINE = "报名已截止，不能再报名或取消。如有特殊情况请联系活动组织者。"
EVENT_CLOSED = "这个活动已开始或已取消，不能再报名或取消了。"
EVENT_NOT_FOR_YOU = "该活动不在您的报名范围内。"
EVENT_NEEDS_SINGLE = "联谊活动仅面向单身会员。如您单身，可在 /me 里点「💞 开启单身交友」后再报名。"
EVENT_NEEDS_GENDER = "这个活动按性别分配名额，名册里还没有您的性别，请联系单位工会干部补充。"
EVENT_CANCELLED = "已取消报名。"
EVENT_LEFT_WAITLIST = "已退出候补。"
EVENT_NOT_SIGNED = "您还没有报名这个活动。"
EVENT_PROMOTED = (
    "🎉 好消息！有同事取消了报名，您已从候补递补为正式报名：\n「{title}」\n🕒 {when}\n📍 {place}"
)
EVENT_NOT_FOUND = "没有找到编号为 {id} 的活动。"
EVENT_NOT_MANAGER = "您不能管理这个活动。"
EVENT_NOT_PUBLISHER = "只有工会干部和俱乐部负责人可以发布活动。"
EVENT_USAGE = (
    "用法：\n"
    "/events：近期可报名的活动\n"
    "/events 我的：我的报名\n"
    "/events 新建：发布新活动（工会干部、俱乐部负责人）\n"
    "/events 编号：管理一个活动（名单、签到、导出、修改、取消）\n"
    "（我的、新建也可写 mine、new）"
)
EVENT_BAD_ARGUMENT = "看不懂「{token}」。\n"

# Events: publishing and editing
EVENT_ASK_KIND = "要发布哪类活动？"
EVENT_ASK_CLUB = "是哪个俱乐部的活动？"
EVENT_NO_CLUBS = "工会还没有设置俱乐部。"
EVENT_ASK_AUDIENCE = "谁可以报名？"
EVENT_AUDIENCE_BUTTONS = (
    ("everyone", "全体会员"),
    ("unit", "某个单位"),
    ("women", "仅女警"),
    ("men", "仅男警"),
    ("singles", "单身会员"),
)
EVENT_ASK_UNIT = "请选择单位："
EVENT_NO_UNITS = "名册里还没有单位。"
EVENT_ASK_TITLE = "请输入活动名称（不超过 100 字）："
EVENT_ASK_WHEN = (
    "活动什么时候？请按格式输入：\n"
    "2026-12-20 14:00-17:00\n"
    "跨天的活动：2026-12-20 09:00 至 2026-12-21 12:00"
)
EVENT_ASK_PLACE = "活动地点在哪里？（不超过 100 字）"
EVENT_ASK_CAPACITY = "一共多少个名额？请输入 1～10000 的数字："
EVENT_ASK_CAPACITY_CAPS = (
    "一共多少个名额？可以按性别限额，例如：40 男20 女20\n不限性别只写总数，例如：40"
)
EVENT_ASK_DEADLINE = "报名截止时间？请输入如 2026-12-19 18:00，或点下面的按钮。"
EVENT_DEADLINE_AT_START = "开始前都可报名"
EVENT_ASK_DESCRIPTION = "请简单介绍一下活动（不超过 1000 字），或点「跳过」。"
EVENT_SKIP_BUTTON = "跳过"
EVENT_PREVIEW = "请核对活动信息：\n\n{card}\n\n候补：{waitlist}\n发布后将通知 {count} 位会员。"
EVENT_WAITLIST_ON = "开（满员后可报名候补）"
EVENT_WAITLIST_OFF = "不开"
EVENT_TOGGLE_WAITLIST_OFF = "不设候补"
EVENT_TOGGLE_WAITLIST_ON = "开放候补"
EVENT_PUBLISH_BUTTON = "✅ 发布"
EVENT_DISCARD_BUTTON = "取消"
EVENT_PUBLISHED = "活动已发布（#{id}），正在通知 {count} 位会员。"
EVENT_PUBLISHED_NOBODY = "活动已发布（#{id}）。目前没有可通知的会员，会员发送 /events 即可看到。"
EVENT_ANNOUNCEMENT = "📣 新活动，欢迎报名！\n\n{card}"
EVENT_ANNOUNCE_BUTTON = "我要报名"
EVENT_TEXT_ONLY = "请直接输入文字。"
EVENT_PROBLEMS = {
    "empty": "内容不能为空，请重新输入：",
    "title_too_long": "活动名称不能超过 100 字，请精简后重新输入：",
    "place_too_long": "地点不能超过 100 字，请精简后重新输入：",
    "description_too_long": "介绍不能超过 1000 字，请精简后重新输入：",
    "bad_when": "看不懂这个时间。请按格式输入，例如 2026-12-20 14:00-17:00：",
    "bad_moment": "看不懂这个时间。请按格式输入，例如 2026-12-19 18:00：",
    "in_the_past": "这个时间已经过去了，请输入以后的时间：",
    "end_before_start": "结束时间要晚于开始时间，请重新输入：",
    "deadline_after_start": "报名截止时间不能晚于活动开始（{start}），请重新输入：",
    "bad_capacity": "名额请只写数字，例如 40（联谊活动可写 40 男20 女20）：",
    "capacity_range": "名额请写 1～10000 之间的数字：",
    "caps_over_capacity": "男女限额都不能超过总名额，请重新输入：",
    "below_signed": "已报名的人数超过了新的名额，名额不能少于已报名人数，请重新输入：",
    "caps_below_capacity": "男女限额加起来少于总名额，多出的名额没人能报，请重新输入：",
}
EVENT_MANAGE = "{card}\n\n已报名 {signed} 人{genders}，候补 {waiting} 人。"
EVENT_MANAGE_GENDERS = "（男 {male}，女 {female}）"
EVENT_LIST_BUTTON = "📋 名单和签到"
EVENT_EXPORT_BUTTON = "📥 导出名单"
EVENT_EDIT_BUTTONS = (
    ("when", "修改时间"),
    ("place", "修改地点"),
    ("deadline", "修改截止"),
    ("title", "修改名称"),
    ("description", "修改介绍"),
    ("capacity", "修改名额"),
)
EVENT_CANCEL_EVENT_BUTTON = "取消活动"
EVENT_ASK_EDIT = {
    "when": EVENT_ASK_WHEN,
    "place": EVENT_ASK_PLACE,
    "deadline": "新的报名截止时间？请输入如 2026-12-19 18:00：",
    "title": EVENT_ASK_TITLE,
    "description": "请输入新的活动介绍（不超过 1000 字）：",
    "capacity": "新的名额是多少？（1～10000；联谊活动可写 40 男20 女20）",
}
EVENT_EDIT_PREVIEW = "「{title}」的{field}将改为：\n{value}\n\n{notice}"
EVENT_EDIT_FIELDS = {
    "when": "时间",
    "place": "地点",
    "deadline": "报名截止时间",
    "title": "名称",
    "description": "介绍",
    "capacity": "名额",
}
EVENT_CAPACITY_VALUE = "{capacity} 个{caps}"
EVENT_CAPS_VALUE = "（男 {male}，女 {female}）"
UNLIMITED = "不限"
EVENT_EDIT_NOTICE = "确认后将通知已报名和候补的 {count} 位会员。"
EVENT_EDIT_SILENT = "这项修改不另行通知会员。"
EVENT_EDIT_CONFIRM_BUTTON = "✅ 确认修改"
EVENT_EDITED = "已修改。{told}"
EVENT_EDITED_TOLD = "正在通知 {count} 位会员。"
EVENT_CHANGED_NOTICE = "📢 活动变更：您报名的「{title}」{field}有调整。\n🕒 {when}\n📍 {place}"
EVENT_ASK_CANCEL = "确定取消活动「{title}」吗？将通知已报名和候补的 {count} 位会员。"
EVENT_CANCEL_CONFIRM_BUTTON = "确定取消活动"
EVENT_KEEP_BUTTON = "不取消"
EVENT_CANCELLED_DONE = "活动「{title}」已取消，正在通知 {count} 位会员。"
EVENT_CANCELLED_NOTICE = (
    "📢 很抱歉，您报名的活动「{title}」（{when}）已取消，给您带来不便，敬请谅解。"
)
EVENT_GONE = "这个活动已取消或已开始，不能再修改了。"
EVENT_ATTENDANCE_HEAD = "📋「{title}」（#{id}）名单\n🕒 {when}"
EVENT_ATTENDANCE_LINE = "{number}. {mark}{name}（{police_id}，{unit}{gender}）{no_shows}"
EVENT_ATTENDANCE_NO_SHOWS = " 累计缺席 {count} 次"
EVENT_ATTENDANCE_WAITLIST = "候补："
EVENT_ATTENDANCE_NOBODY = "还没有人报名。"
EVENT_ATTENDANCE_HINT = "\n活动当天起可点下方按钮登记：✅ 到场，❌ 缺席。"
EVENT_MARK_PRESENT = "✅ {number}. {name}"
EVENT_ATTENDANCE_GENDER = "，{gender}"
EVENT_TITLE_QUOTED = "「{title}」"
EVENT_MARK_ABSENT = "❌"
EVENT_MARKS = {True: "✅", False: "❌", None: ""}
EVENT_MARK_TOO_EARLY = "活动当天（{date}）才能签到。"
EVENT_MARK_NOT_SIGNED = "此人不在报名名单上。"
EVENT_MARKED = "已记录。"
EVENT_EXPORT_CAPTION = "「{title}」（#{id}）名单，共 {count} 人。"
EVENT_EXPORT_COLUMNS = (
    "序号",
    "姓名",
    "警号",
    "单位",
    "性别",
    "状态",
    "报名时间",
    "签到",
    "累计缺席",
)
EVENT_EXPORT_SHEET = "名单"
EVENT_EXPORT_STATES = {"signed": "已报名", "waitlisted": "候补"}
EVENT_EXPORT_ATTENDED = {True: "到场", False: "缺席", None: ""}
GENDER_NAMES = {"M": "男", "F": "女"}
EVENT_REMINDER_24H = (
    "⏰ 活动提醒：您报名的「{title}」\n🕒 活动时间：{when}\n📍 {place}\n期待与您相见！"
)
EVENT_REMINDER_2H = "⏰ 活动即将开始：「{title}」{day} {time} 开始。\n📍 {place}\n请准时到场。"
EVENT_REMINDER_TODAY = "今天"
HELP_EVENTS = "\n🎉 /events：近期活动（联谊、课堂、户外、比赛、俱乐部），报名、取消、候补。"
HELP_EVENTS_MANAGER = (
    "\n🎉 /events 新建：发布活动，发布后通知可报名的会员；"
    "/events 编号：名单、签到、导出、修改、取消。"
)

# Events: after the review
EVENT_PROMOTED_MORE_PLACES = (
    "🎉 好消息！活动增加了名额，您已从候补转为正式报名：\n「{title}」\n🕒 {when}\n📍 {place}"
)
EVENT_WITHDRAWN_NOT_SINGLE = "您已关闭单身交友，已为您取消联谊活动{titles}的报名。"
EVENT_MARK_CLOSED = "这个活动已取消，不能登记到场。"
EVENT_REPEAT_STEP = "请点下面的按钮选择，或发送 /cancel 放弃。"

# --- input hygiene (issue 14) ---
# Free text made only of blanks or invisible characters (zero-width, BOM, direction controls).
TEXT_INVISIBLE = "内容不能只有空格或看不见的字符，请用文字重新输入："
TEXT_INVISIBLE_PLACE = "地点不能只有空格或看不见的字符，请用文字写明。\n\n"
DRIVE_PLACE_TOO_LONG = "地点不能超过 {limit} 字。\n\n"
# Dates further ahead than two years (bot/rules/horizon.py).
DRIVE_TOO_FAR = "活动日期 {date} 太远了：最远只能安排到 {latest}。"
APPEAL_TOO_FAR = "截止日期 {date} 太远了：最远只能到 {latest}。"
EVENT_PROBLEMS["too_far_ahead"] = "活动时间最远只能安排在两年内，请重新输入："

# --- leaks and repeated presses (issue 14) ---
# A press on a message outside a private chat: nothing is shown there, only this to the presser.
PRIVATE_CHAT_ONLY = "请在与暖警的私聊中使用。"
# A duplicate report: the reporter hears the ordinary reply; organizers see the link on the card.
CASE_CARD_DUPLICATE = "与 #{id} 是同一件事：已关联，不会重复发放。"
# A repeated press on a case card: the card as it stands now.
CASE_NOW = "这件申报现在是「{status}」。"
# A repeated press on a binding request: the card shows how it was decided.
REQUEST_ALREADY_DECIDED = "这条申请已处理，结果见卡片。"
# A repeated record button under a drive's list: the record as it stands.
DRIVE_RECORD_ALREADY = "✅ 已登记：{name}（{police_id}）{date} {component} {amount}。"
# A repeated 确定取消活动.
EVENT_CANCELLED_ALREADY = "活动「{title}」已取消，报名和候补的会员都会收到通知。"

# --- broadcast outcomes (issue 14) ---
# 可能已送达: Telegram did not confirm a send in time; it may have arrived and is not sent again.
# Used instead of BROADCAST_PROGRESS / _SUMMARY / _CANCELLED_SUMMARY when there are such.
BROADCAST_PROGRESS_UNCERTAIN = (
    "📣 发送中：已送达 {sent}/{total}，可能已送达 {uncertain}，失败 {failed}，无法送达 {blocked}"
)
BROADCAST_SUMMARY_UNCERTAIN = (
    "✅ 发送完成：已送达 {sent}/{total}，可能已送达 {uncertain}，失败 {failed}，无法送达 {blocked}"
)
BROADCAST_CANCELLED_SUMMARY_UNCERTAIN = (
    "⏹ 已停止发送：已送达 {sent}/{total}，可能已送达 {uncertain}，未发送 {cancelled}，"
    "失败 {failed}，无法送达 {blocked}"
)
# Why an officer is on the list of those not reached ("unreachable": blocked the bot earlier).
BROADCAST_UNREACHED_WHY = {**UNREACHED_WHY, "unreachable": "此前已屏蔽机器人，未发送"}
BROADCAST_UNCERTAIN_HEADER = "以下会员可能已收到（Telegram 未及时确认，为免重复未再补发）："
BROADCAST_UNCERTAIN_LINE = "{name}（{police_id}）"

# --- bookings (预约): working days and services (issue 11) ---
# `nuanjing calendar workdays YEAR`: the exceptions to the week (bot.rules.workdays.DayMark).
WORKDAY_MARKS = {"off": "休", "work": "班"}
# To organizers, once per year, when the year's official arrangement of holidays is missing.
WORKDAYS_MISSING = (
    "📅 尚未收录 {year} 年的法定节假日和调休安排。\n"
    "在补上之前，健康屋、心理咨询等按工作日开放的服务暂按“周一至周五开放、周六周日休息”"
    "安排，节假日和调休上班日不会自动调整。\n"
    "国务院办公厅通常在前一年 11 月发布通知；请管理员将 {year} 年的安排写入政策文件"
    "（[[workdays.years]]），或升级机器人。"
)
# Service kinds (bot.policy.ServiceKind).
SERVICE_KINDS = {"health_room": "健康屋", "counselling": "心理咨询", "facility": "场馆"}
# Why a booking is refused (bot.rules.slots.Problem).
BOOKING_PROBLEMS = {
    "blocked": "近期多次预约未到，暂时不能预约，{until}起可再预约。",
    "too_many_open": "您已有 {limit} 个未完成的预约，请先完成或取消后再预约。",
    "week_full": "这一周您已预约 {limit} 次，已达上限，请选择其他周。",
}

# --- bookings (预约): the officer's side (handlers/bookings.py) ---
MENU_BOOK = "📅 预约"
COMMAND_BOOK = "预约健康屋、心理咨询和场馆"
HELP_BOOK = "\n📅 /book 预约健康屋、心理咨询、健身房等；/book 我的 查看和取消我的预约。"
SERVICE_ICONS = {"health_room": "🩺", "counselling": "💬", "facility": "🏓"}
BOOK_PICK_SERVICE = "📅 想预约什么？"
BOOK_NO_SERVICES = "暂时没有可以预约的服务。"
BOOK_MINE_BUTTON = "📋 我的预约"
BOOK_BACK_BUTTON = "↩️ 返回"
BOOK_DAY = "{month}月{day}日"
BOOK_PICK_DAY = "{icon} {name}\n📍 {place}\n请选择日期（显示还有空位的日子）："
BOOK_NO_DAYS = "{icon} {name}\n最近 {days} 天都约满了或不开放，过几天再来看看吧。"
BOOK_DAY_BUTTON = "{date} {weekday} · 余 {left}"
BOOK_PICK_SLOT = "{icon} {name}\n📅 {date} {weekday}\n请选择时段："
BOOK_SLOT_BUTTON = "{time} 余 {left}"
BOOK_SLOT_FULL_BUTTON = "{time} 满·候补"
BOOK_NO_SLOTS = "这一天已经没有可预约的时段了，请换一天。"
BOOK_CONFIRM = "请确认预约：\n{icon} {name}\n📅 {date} {weekday} {start}–{end}\n📍 {place}"
BOOK_CONFIRM_FULL = "\n\n这个时段已满，确认后为您排入候补，有人取消时按顺序递补。"
BOOK_CONFIRM_PRIVATE = "\n\n🔒 咨询预约严格保密：只有您和咨询师能看到。"
BOOK_CANCEL_RULE = "\n开始前 {minutes} 分钟内不能取消。"
BOOK_OK_BUTTON = "✅ 确认预约"
BOOK_WAIT_BUTTON = "✅ 排入候补"
BOOK_BOOKED = (
    "✅ 预约成功！\n{icon} {name}\n📅 {date} {weekday} {start}–{end}\n📍 {place}\n"
    "前一天晚上 8 点和开始前 1 小时会提醒您。"
)
BOOK_WAITLISTED = (
    "这个时段已满，已为您排在候补第 {position} 位。\n{icon} {name}\n📅 {date} {weekday} "
    "{start}–{end}\n有人取消时按顺序递补，会告诉您。"
)
BOOK_ALREADY = "您已经预约了这个时段。"
BOOK_ALREADY_WAITING = "您已在这个时段的候补名单上（第 {position} 位）。"
BOOK_CLOSED = "这个时段已关闭或已开始，请选择其他时段。"
BOOK_SLOT_GONE = "这个时段已不能预约（已过去、超出可预约范围或当天不开放），请重新选择。"
BOOK_UNKNOWN_SERVICE = "这项服务已不再开放预约。"
BOOK_CANCEL_BUTTON = "取消预约"
BOOK_CANCEL_WAIT_BUTTON = "取消候补"
BOOK_ALIAS_BUTTON = "🎭 设置化名"
BOOK_ASK_ALIAS = (
    "请发送您希望咨询师看到的称呼（化名），2–10 个字，例如“小林”。\n发送 /cancel 不设置。"
)
BOOK_BAD_ALIAS = "化名需要 2–10 个字，不能只有空格或符号。请重新发送，或发送 /cancel 不设置。"
BOOK_ALIAS_SET = "好的，咨询师只会看到“{alias}”。"
BOOK_ALIAS_LINE = "\n🎭 化名：{alias}"
BOOK_CANCELLED = "已取消预约，名额已让给其他同事。谢谢告诉我们！"
BOOK_CANCELLED_WAIT = "已退出候补。"
BOOK_CANCEL_TOO_LATE = "开始前 {minutes} 分钟内不能在线取消了，如不能到场请直接联系工作人员。"
BOOK_NOT_YOURS = "没有找到这个预约，它可能已取消。"
BOOK_MINE_EMPTY = "您目前没有预约。发送 /book 预约。"
BOOK_MINE_HEAD = "📋 我的预约（{count} 个）："
BOOK_MINE_LINE = "{icon} {name} {date} {weekday} {start}–{end}"
BOOK_MINE_WAITING = "（候补第 {position} 位）"
# Pushed to the lock screen: a counselling booking is "the service you booked", never named.
BOOK_PROMOTED = (
    "🎉 候补成功！您预约的{name} {date} {weekday} {start} 有空位了，已为您保留，请按时到场。"
)
BOOK_PRIVATE_NAME = "服务"

# --- bookings (预约): the staff's side and the figures (handlers/booking_staff.py) ---
# Granting the staff role of a service (handlers/roles.py): /grant 警号 staff 服务键.
GRANT_STAFF_USAGE = (
    "服务工作人员：/grant 警号 staff 服务键，/revoke 警号 staff 服务键（{services}）"
)
STAFF_SERVICE_ITEM = "{key} {name}"
STAFF_UNKNOWN_SERVICE = "没有服务键为「{service}」的服务。现有服务：{services}"
STAFF_DEFAULT_TITLE = "工作人员"
STAFF_GRANTED = "已任命 {name}（{police_id}）为{service}{title}。{told}"
STAFF_REVOKED = "已撤销 {name}（{police_id}）的{service}{title}身份。{told}"
STAFF_ALREADY = "{name}（{police_id}）已经是{service}{title}。"
STAFF_NOT_STAFF = "{name}（{police_id}）不是{service}{title}。"
STAFF_LEFT = "{name}（{police_id}）已不在会员名册中，不能任命。"
STAFF_TOLD = "已私信告诉本人。"
STAFF_NOT_TOLD = "本人尚未绑定或暂时联系不上，没能告诉本人。"
STAFF_YOU_ARE = "您已被任命为{service}{title}。发送 /staff 查看预约名单、签到和关闭时段。"
STAFF_YOU_NO_LONGER = "您的{service}{title}身份已撤销，谢谢您的付出！"
# Menus and help.
COMMAND_STAFF = "预约名单和签到（服务工作人员）"
COMMAND_BOOKINGS = "预约统计"
HELP_STAFF = "\n\n服务工作人员：\n/staff 查看预约名单（前后一周），签到到场或未到，关闭时段或当天"
HELP_BOOKINGS_ORGANIZER = "\n📊 /bookings 各项服务本月和上月的预约、到场、未到人次"
HELP_STAFF_ADMIN = (
    "\n/grant 警号 staff 服务键 任命服务工作人员，/revoke 警号 staff 服务键 撤销"
    "（发送 /grant 查看服务键）"
)
# /staff: the day list.
STAFF_NOT_ALLOWED = "只有服务工作人员可以查看预约名单。"
STAFF_NOT_YOURS = "您不是{service}的工作人员，不能查看它的名单。"
STAFF_PICK_SERVICE = "您负责以下服务，请选择："
STAFF_DAY_HEAD = "{icon} {name} · {date} {weekday}{today}"
STAFF_TODAY = "（今天）"
STAFF_DAY_SHUT = "这一天不开放。"
STAFF_DAY_EMPTY = "这一天还没有预约。"
STAFF_SLOT_LINE = "⏰ {start}–{end} · {booked}/{places} 人{waiting}"
STAFF_SLOT_WAITING = "，候补 {count} 人"
STAFF_SLOT_CLOSED_LINE = "⏰ {start}–{end} 🚫 已关闭"
STAFF_BOOKING_LINE = "　{number}. {who}{mark}"
STAFF_WHO = "{name}（{police_id}）"
STAFF_ALIAS = "🎭 {alias}"
STAFF_ALIAS_UNREADABLE = "🎭（化名）"
STAFF_MARK_PRESENT = " ✅ 已到场"
STAFF_MARK_ABSENT = " ❌ 未到"
STAFF_DAY_FOOT = "点时段查看名单、签到或关闭。"
STAFF_PREV_BUTTON = "◀ 前一天"
STAFF_NEXT_BUTTON = "后一天 ▶"
STAFF_CLOSE_DAY_BUTTON = "🚫 关闭当天"
STAFF_SERVICES_BUTTON = "↩️ 换服务"
STAFF_SLOT_BUTTON = "{start} · {booked}人"
STAFF_SLOT_CLOSED_BUTTON = "{start} 🚫"
STAFF_DAY_OUT_OF_RANGE = "只能查看前后一周的名单，已为您打开今天的。"
# /staff: one slot.
STAFF_SLOT_HEAD = "{icon} {name} · {date} {weekday} {start}–{end}"
STAFF_SLOT_NOBODY = "这个时段还没有人预约。"
STAFF_SLOT_IS_CLOSED = "🚫 这个时段已关闭。"
STAFF_SLOT_MARK_LATER = "时段当天就可以在这里签到。"
STAFF_PRESENT_BUTTON = "{number}. ✅ 到场"
STAFF_ABSENT_BUTTON = "{number}. ❌ 未到"
STAFF_CLOSE_SLOT_BUTTON = "🚫 关闭此时段"
STAFF_BACK_DAY_BUTTON = "↩️ 返回当天"
STAFF_SLOT_UNKNOWN = "没有找到这个时段，请重新发送 /staff。"
STAFF_MARKED_PRESENT = "已标记到场"
STAFF_MARKED_ABSENT = "已标记未到"
STAFF_MARK_NOT_YET = "时段当天或开始后才能签到。"
STAFF_BOOKING_GONE = "这个预约已取消，无需签到。"
# /staff: closing a slot or a day.
STAFF_ASK_CLOSE_SLOT = "确定关闭 {date} {weekday} {start}–{end} 吗？\n{told}"
STAFF_ASK_CLOSE_DAY = (
    "确定关闭 {date} {weekday} 全天吗？尚未开始的 {slots} 个时段都会关闭。\n{told}"
)
STAFF_CLOSE_TELLS = "已预约或候补的 {count} 位同事会收到通知，并看到最近的空闲时段。"
STAFF_CLOSE_NOBODY = "目前没有人预约。"
STAFF_CLOSE_OK_BUTTON = "✅ 确定关闭"
STAFF_CLOSE_KEEP_BUTTON = "↩️ 不关闭"
STAFF_SLOT_CLOSED_DONE = "已关闭 {date} {weekday} {start}–{end}，已通知 {count} 位同事。"
STAFF_DAY_CLOSED_DONE = "已关闭 {date} {weekday} 的 {slots} 个时段，已通知 {count} 位同事。"
STAFF_NOTHING_TO_CLOSE = "没有可以关闭的时段了（已开始或已关闭）。"
STAFF_SLOT_STARTED = "这个时段已经开始或已关闭，不能再关闭了。"
# To an officer whose slot was closed (counselling is "您预约的服务": a lock screen shows it).
BOOK_SLOT_CLOSED_NOTICE = (
    "很抱歉，您预约的{name} {date} {weekday} {start}–{end} 因故关闭，预约已取消。"
)
BOOK_SLOT_CLOSED_NEXT = "\n最近还有空位的时段如下，点一下就能改约："
BOOK_SLOT_CLOSED_NONE = "\n最近暂时没有空位，过几天发送 /book 再看看吧。"
BOOK_NEXT_SLOT_BUTTON = "{date} {weekday} {start}"
# To an officer a 未到 mark blocked from booking (bot.rules.slots.no_show_block).
BOOK_BLOCKED_NOTICE = (
    "⚠️ 您近 {days} 天内有 {count} 次{name}预约未到场，按规定暂停预约{name}，"
    "{next}起可以再预约。如有疑问，请联系工作人员。"
)
BOOK_BLOCKED_NOTICE_PRIVATE = (
    "⚠️ 您预约的服务近 {days} 天内有 {count} 次未到场，按规定暂停预约，"
    "{next}起可以再预约。如有疑问，请联系工作人员。"
)
# /bookings (organizers and admins): figures only; counselling only its counts.
BOOKINGS_HEAD = "📊 预约统计"
BOOKINGS_SERVICE = "\n{icon} {name}"
BOOKINGS_MONTH = "　{month}：预约 {booked} 人次，到场 {attended}，未到 {missed}"
BOOKINGS_MONTH_PRIVATE = "　{month}：预约 {booked} 人次"
BOOKINGS_MONTH_LABEL = "{year}年{month}月"
BOOKINGS_PRIVATE_NOTE = "\n🔒 心理咨询严格保密，只统计人次，不显示任何个人信息。"

# --- bookings (预约): reminders (bot/jobs/bookings.py) ---
# At 20:00 the evening before a booked slot and an hour before it, to those holding a place.
# {day} is BOOKING_REMINDER_TODAY or _TOMORROW; the rest are handlers.bookings.slot_fields.
BOOKING_REMINDER_EVENING = (
    "⏰ 预约提醒：您预约了{day}（{date} {weekday}）{start}–{end} 的{icon} {name}。\n📍 {place}\n"
    "请按时到场。"
)
BOOKING_REMINDER_HOUR = (
    "⏰ 预约即将开始：{icon} {name}，{day} {start}–{end}。\n📍 {place}\n请按时到场。"
)
# Counselling goes to the lock screen too: never the service's name, icon or place.
BOOKING_REMINDER_EVENING_PRIVATE = (
    "⏰ 预约提醒：您预约的服务时间为{day}（{date} {weekday}）{start}–{end}，请按时到场。"
)
BOOKING_REMINDER_HOUR_PRIVATE = (
    "⏰ 预约即将开始：您预约的服务时间为{day} {start}–{end}，请按时到场。"
)
# Added while the booking may still be cancelled (bot.rules.slots.may_cancel).
BOOKING_REMINDER_CANCEL = "\n如不能到场，请发送 /book mine 取消预约，把名额让给其他同事。"
BOOKING_REMINDER_TODAY = "今天"
BOOKING_REMINDER_TOMORROW = "明天"

# --- easy on a phone: forgiving input and the whole menu (issue 17, items 2-3) ---
# The main menu: every feature by role (handlers/common.py main_menu_markup).
MENU_DRIVES = "🩸 献血活动"
MENU_BLOOD = "💉 我的献血"
MENU_EVENTS = "🎉 活动"
MENU_CLUBS = "🏃 俱乐部"
MENU_STAFF = "🗓 预约名单"
MENU_ANNOUNCE = "📣 发通知"
MENU_APPEAL = "🆘 献血呼吁"
MENU_CASES = "📋 慰问办理"
MENU_GREETINGS = "🎊 节日问候"
MENU_BOOKINGS = "📊 预约统计"
# Free text naming the care report: the report is one tap away.
FEATURE_REPORT_OFFER = "要申报慰问吗？点下面的按钮开始："
# The care report's date step: a tap gives what typing the word gives.
CARE_DATE_TODAY = "今天"
CARE_DATE_YESTERDAY = "昨天"
# Typed text at a step of the care report that waits for a button: which one; the step stays.
CARE_USE_BUTTONS = {
    "event": "请点上面的按钮选择要申报的事项，或发送 /cancel 取消。",
    "who": "请点上面的「为本人」或「代同事申报」按钮。",
    "pick": "请点上面的按钮选择是哪位同事。",
    "relation": "请点上面的按钮选择去世的亲属。",
    "confirm": "请点上面的「✅ 提交」或「❌ 取消」按钮。",
}

# --- easy on a phone: festivals from the policy (issue 17, item 7) ---
# After an occasion's name in /greetings when the policy greets women only with it.
GREETINGS_VIEW_WOMEN_ONLY = "（只问候女会员）"

# --- easy on a phone: appeals that name who is coming (issue 17, item 4) ---
APPEAL_LIST_BUTTON = "👥 名单"
APPEAL_LIST_HEAD = "👥 紧急用血呼吁 #{id} 名单（{hospital}，需要 {units} 人）"
APPEAL_LIST_COMING = "\n\n🙋 我能去（{count} 人）："
APPEAL_LIST_ARRIVED = "\n\n📍 已到达（{count} 人）："
APPEAL_LIST_LINE = "\n{number}. {name}｜{unit}｜{phone}"
APPEAL_LIST_NONE = "\n（暂无）"
APPEAL_LIST_ANSWER = "名单已私信发给您。"
APPEAL_LIST_REFUSED = "只有发起人和工会干部可以查看名单。"
APPEAL_END_ASK = (
    "确定结束紧急用血呼吁 #{id}（{hospital}）吗？\n结束后会通知所有尚未到达的会员不用再去。"
)
APPEAL_END_CONFIRM_BUTTON = "确认结束"
APPEAL_END_KEEP_BUTTON = "先不结束"
APPEAL_END_DONE = "紧急用血呼吁 #{id} 已结束，已通知尚未到达的会员。"
APPEAL_END_ALREADY = "紧急用血呼吁 #{id} 已经结束了。"
APPEAL_END_KEPT = "好的，呼吁 #{id} 继续进行。"
APPEAL_LEFT_OUT_HEAD = "\n\n另有 {count} 位血型相符的会员这次不会收到："
APPEAL_LEFT_OUT = {
    "no_birthday": "\n· {count} 位花名册上没有生日，无法核对年龄",
    "too_soon": "\n· {count} 位距上次献血未满规定间隔",
    "age": "\n· {count} 位年龄不在献血范围内",
    "unreachable": "\n· {count} 位已屏蔽机器人，无法送达",
    "not_bound": "\n· {count} 位尚未绑定机器人",
}
APPEAL_LEFT_OUT_FIX = "\n花名册资料有误的会员可在 /me 点「资料有误？」告诉工会。"
PROFILE_NOTE_BUTTON = "资料有误？"
PROFILE_NOTE_ASK = (
    "请用一句话写明哪项资料有误、正确的是什么（最多 {limit} 字），例如：生日应为 1985-03-12。\n"
    "工会干部会核对后更正。"
)
PROFILE_NOTE_CANCEL_BUTTON = "❌ 取消"
PROFILE_NOTE_CANCELLED = "已取消，没有提交。"
PROFILE_NOTE_TOO_LONG = "最多 {limit} 字，这次有 {length} 字，请写短一些再发。"
PROFILE_NOTE_EMPTY = "请用文字写明哪项资料有误。"
PROFILE_NOTE_PENDING = "您上次提交的资料更正还在等工会处理，处理后才能再提交。"
PROFILE_NOTE_SENT = "已提交给工会，核对更正后会告诉您。"
PROFILE_NOTE_FOR_ORGANIZERS = (
    "📝 资料更正 #{id}\n{name}（警号 {police_id}，{unit}）说花名册上的资料有误：\n{text}\n\n"
    "更正花名册后请点「已处理」。"
)
PROFILE_NOTE_DONE_BUTTON = "✅ 已处理"
PROFILE_NOTE_DONE_ANSWER = "已标记为已处理，并已告诉该会员。"
PROFILE_NOTE_DONE_BEFORE = "这条更正已经处理过了。"
PROFILE_NOTE_DONE_MARK = "\n\n✅ 已处理。"
PROFILE_NOTE_RESOLVED = "工会已处理您提交的资料更正，请发送 /me 查看。"
