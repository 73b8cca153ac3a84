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
UNKNOWN_ROLE = "角色只能是「工会干部」或「管理员」（也可写 organizer、admin）。"
NO_SUCH_OFFICER = "名册中没有警号 {police_id}。"
GRANTED = "已授予{name}（{police_id}）{role}角色。"
ALREADY_HAS_ROLE = "{name}（{police_id}）已经是{role}。"
REVOKED = "已撤销{name}（{police_id}）的{role}角色。"
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
CARE_MINE_PAID = "，{amount} 元（{date} 发放）"
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
    "慰问金标准：{amount}\n"
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
BLOOD_ORGANIZER_HINT = (
    "\n\n工会干部：发送 /blood 登记 按步骤点选登记献血，/blood help 查看登记和统计的写法。"
)
BLOOD_USAGE = (
    "🩸 /blood 用法：\n"
    "/blood — 我的献血记录\n"
    "/blood 警号 — 查看某位会员的献血记录\n"
    "/blood 登记 — 按步骤点选登记献血\n"
    "/blood 登记 警号 成分 数量 [日期] — 一句话登记献血，"
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
    "🆘 紧急用血呼吁\n{hospital}急需{blood}{component}，需要 {units} 位献血者，"
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
APPEAL_GO = "谢谢您！请前往{hospital}：{address}\n联系人：{contact}\n到达后请按「已到达」。"
APPEAL_COMING_ANSWER = "谢谢！地址和联系人已发给您。"
APPEAL_CANNOT_ANSWER = "已记录，谢谢告诉我们。"
APPEAL_ARRIVED_ANSWER = "已记录到达，谢谢您的爱心！"
APPEAL_NOT_COMING_ANSWER = "请先按「我能去」。"
APPEAL_FINAL_ANSWER = "您已到达，无需更改。"
APPEAL_ENDED_ANSWER = "此呼吁已结束"
APPEAL_FULFILLED_ANSWER = "此呼吁已满足，感谢"
APPEAL_NOT_ASKED = "这条呼吁不是发给您的。"
APPEAL_END_ANSWER = "呼吁已结束，已通知尚未到达的会员。"
APPEAL_STAND_DOWN = "🩸 {hospital}的紧急用血已满足，感谢您的爱心！这次不用去了。"
APPEAL_STILL_EXPECTED = "🩸 {hospital}的紧急用血人数已够。您仍在名单上，请按时到达。"
APPEAL_CLOSED_NOTICE = "🩸 {hospital}的紧急用血呼吁已结束，不用再去了。谢谢您的关注！"
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
    "unknown_placeholder": "只能用【姓名】【节日】【工会】这三个占位符。",
    "stray_brace": "花括号只能用在占位符里，请去掉多余的 {{ 或 }}，占位符可以写成【姓名】。",
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
CLUB_LEADER_GRANTED = "已任命{name}（{police_id}）为{club}俱乐部队长。{told}"
CLUB_LEADER_ALREADY = "{name}（{police_id}）已经是{club}俱乐部队长。"
CLUB_LEADER_REVOKED = "已撤销{name}（{police_id}）的{club}俱乐部队长职务，仍保留会员身份。{told}"
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
GREETINGS_VIEW_HEADER = (
    "🎉 节日和生日问候（未来 12 个月，当天 {send_at} 发出）\n"
    "问候语里的【姓名】换成会员姓名，【节日】换成节日名，【工会】换成“{union}”。"
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
    "可用占位符：【姓名】【节日】【工会】，发送时换成会员姓名、节日名和工会名称。\n\n"
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
    "📢 很抱歉，您报名的活动「{title}」已取消，给您带来不便，敬请谅解。\n原定时间：{when}"
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
STAFF_GRANTED = "已任命{name}（{police_id}）为{service}{title}。{told}"
STAFF_REVOKED = "已撤销{name}（{police_id}）的{service}{title}身份。{told}"
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
FEATURE_APPEAL_OFFER = "要发紧急用血呼吁吗？点下面的按钮开始："
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

# --- easy on a phone: the /appeal button dialog (issue 17, item 1) ---
# /appeal alone (or 🆘 献血呼吁): one question per message, by buttons where there can be.
APPEAL_ASK = {
    "blood": (
        "🆘 紧急用血呼吁（1/7）需要什么血型？\n第一行是 Rh阳性，第二行是 Rh阴性（熊猫血）。"
        "随时可发送 /cancel 取消。\n\n"
        "熟悉后也可以一句话发出，用法：/appeal 血型 成分 人数 截止日期 截止时间 医院|地址|联系人"
    ),
    "component": "（2/7）需要什么成分？",
    "units": "（3/7）需要几位献血者？点数字，或直接输入 1–100 的数字。",
    "deadline": "（4/7）截止到什么时候？点按钮，或输入如 明天 晚上8点、12月5日 20:00。",
    "hospital": "（5/7）在哪家医院？请输入医院名称。",
    "address": "（6/7）医院的地址？请输入，方便献血者找到。",
    "contact": "（7/7）现场联系人？请输入姓名和电话，例如：张医生 13800000000。",
}
# Under a typed step when the organizer's last appeal gave a value for it.
APPEAL_ASK_EARLIER = "\n也可以点下面的按钮，用上次填的。"
# A shorter /appeal: what it gave, before the first question it left open.
APPEAL_SO_FAR = "已记下：{given}。\n"
APPEAL_SO_FAR_ITEM = "{field} {value}"
APPEAL_BLOOD_NEGATIVE_BUTTON = "{group}阴性"
APPEAL_DEADLINE_BUTTONS = {
    "today_morning": "今早 8:00",
    "tonight": "今晚 20:00",
    "tomorrow_morning": "明早 8:00",
    "tomorrow_evening": "明晚 20:00",
}
# The pressed step's message keeps only what was chosen; the next step comes as a new one.
APPEAL_CHOSEN = {
    "blood": "✅ 血型：{value}",
    "component": "✅ 成分：{value}",
    "units": "✅ 需要：{value} 人",
    "deadline": "✅ 截止：{value}",
    "hospital": "✅ 医院：{value}",
    "address": "✅ 地址：{value}",
    "contact": "✅ 联系人：{value}",
}
APPEAL_FIELD_NAMES = {
    "blood": "血型",
    "component": "成分",
    "units": "人数",
    "deadline": "截止时间",
    "hospital": "医院",
    "address": "地址",
    "contact": "联系人",
}
APPEAL_FIX_BUTTON = "✏️ {field}"
APPEAL_FIXING = "✏️ 修改{field}"
# Typed text at a step that wants a button: which one; the step stays.
APPEAL_USE_BUTTONS = {
    "blood": "请点上面的按钮选择血型（第二行是 Rh阴性），或发送 /cancel 取消。",
    "component": "请点上面的按钮选择成分：全血、血小板或血浆，或发送 /cancel 取消。",
}
APPEAL_UNITS_AGAIN = "人数「{token}」不对：请点数字，或输入 1–100 的整数。"
APPEAL_DEADLINE_AGAIN = (
    "看不懂「{token}」：可以写 明天 晚上8点、12月5日 20:00 或 20:30，也可以点按钮。"
)
APPEAL_PAST_AGAIN = "截止时间 {when} 已经过去了，请重新选择："
APPEAL_TEXT_ONLY = "请用文字输入{field}。"
APPEAL_TEXT_EMPTY = "{field}不能为空，请重新输入。"
APPEAL_TEXT_TOO_LONG = "{field}最多 {limit} 字，这次有 {length} 字，请写短一些再发。"

# --- easy on a phone: the /drives new dialog and managing drives (issue 17, items 1 and 5) ---
# The /drives new dialog (handlers/drive_admin.py): a step at a time, each with buttons.
DRIVE_NEW_FROM_LINE = "安排献血活动请写日期、时间、地点和名额；没写全也没关系，下面一步步来。\n\n"
DRIVE_ASK_DAY = (
    "🩸 安排献血活动\n哪一天？点下面的按钮，或直接写日期，如 12月5日、12-5、2026-12-05。"
)
DRIVE_DAY_BUTTONS = (("今天", 0), ("明天", 1), ("后天", 2))
DRIVE_ASK_DAY_EDIT = "新的日期？点下面的按钮，或直接写日期，如 12月5日。"
DRIVE_KEEP_DAY_BUTTON = "日期不变（{date}）"
DRIVE_BAD_DAY = "看不懂日期「{token}」，可以写 12月5日、12-5、2026-12-05，或点下面的按钮。"
DRIVE_DAY_PAST = "{date} 已经过去了，请选以后的日期。"
DRIVE_ASK_TIME = "{date} 几点开始？点下面的按钮，或直接写时间，如 8点、8点半、14:30。"
DRIVE_TIME_BUTTONS = ("08:00", "08:30", "09:00", "10:00", "14:00", "15:00")
DRIVE_BAD_CLOCK = "看不懂时间「{token}」，可以写 8点、8点半、下午3点、14:30，或点下面的按钮。"
DRIVE_ASK_PLACE = "在哪里？请直接写地点，如 市中心血站 二楼（最多 {limit} 字）。"
DRIVE_ASK_CAPACITY = "几个名额？点下面的按钮，或直接写 1～10000 的数字。"
DRIVE_CAPACITY_BUTTONS = (10, 20, 30, 50, 100)
DRIVE_BAD_NUMBER = "名额请写 1～10000 的数字（现在是「{token}」），或点下面的按钮。"
DRIVE_ASK_TYPES = (
    "需要哪些血型？点血型选上或取消（可多选），选好点「完成」；各血型都要就点「全部」。\n"
    "现在选了：{chosen}"
)
DRIVE_TYPES_NONE = "还没选（都不选表示各血型都欢迎）"
DRIVE_TYPE_BUTTON = "{group} 型"
DRIVE_TYPE_CHOSEN = "✅ {group} 型"
DRIVE_ALL_TYPES_BUTTON = "全部"
DRIVE_TYPES_DONE_BUTTON = "完成"
DRIVE_PREVIEW = (
    "🩸 新献血活动预览\n时间：{when}\n地点：{place}\n血型：{types}\n名额：{capacity} 人\n\n{notice}"
)
DRIVE_NOTICE_ON = (
    "🔔 发布后通知 {count} 位符合条件的会员（已绑定、血型相符、当天可以献全血），附报名按钮。"
)
DRIVE_NOTICE_OFF = "🔕 发布后不通知会员；会员发送 /drives 可以看到并报名。"
DRIVE_DUPLICATE = (
    "\n\n⚠️ 已有一场同一时间、同一地点的献血活动 #{id}（已报名 {signed} 人），请确认不是重复安排。"
)
DRIVE_DUPLICATE_ASK = (
    "⚠️ 同一时间、同一地点已有献血活动 #{id}（已报名 {signed} 人）。\n"
    "确定还要再发布一场吗？确定请点「仍然发布」。"
)
DRIVE_PUBLISH_BUTTON = "✅ 发布"
DRIVE_PUBLISH_ANYWAY_BUTTON = "仍然发布"
DRIVE_NOTIFY_ON_BUTTON = "🔔 通知符合条件的会员：开"
DRIVE_NOTIFY_OFF_BUTTON = "🔕 通知符合条件的会员：关"
DRIVE_DISCARD_BUTTON = "❌ 取消"
DRIVE_PUBLISHED = "✅ 已发布献血活动 #{id}：{when}，{place}，{capacity} 个名额，{types}。"
DRIVE_PUBLISHED_TOLD = "已通知 {count} 位符合条件的会员，消息正在陆续发出。"
DRIVE_PUBLISHED_SILENT = "没有发通知；会员发送 /drives 即可报名。"
DRIVE_ANNOUNCEMENT = (
    "🩸 新的献血活动，欢迎报名！\n\n{card}\n\n您的血型相符，当天也可以献血。能去的话请点「报名」。"
)
DRIVE_USE_BUTTONS = "请点上面的按钮选择，或发送 /cancel 放弃。"
DRIVE_TEXT_ONLY = "请直接输入文字。"
# Organizers manage a drive from its card.
DRIVE_LIST_BUTTON = "👥 名单"
DRIVE_EDIT_BUTTON = "✏️ 修改"
DRIVE_CANCEL_DRIVE_BUTTON = "⏹ 取消活动"
DRIVE_NEW_BUTTON = "➕ 安排献血活动"
DRIVE_GONE = "这场活动已经开始或取消，不能再修改了。"
DRIVE_ASK_FIELD = "✏️ 修改献血活动 #{id}（{when}，{place}）：要改哪一项？"
DRIVE_FIELDS = {"when": "时间", "place": "地点", "capacity": "名额", "types": "血型"}
DRIVE_FIELD_BUTTONS = (
    ("when", "🕘 时间"),
    ("place", "📍 地点"),
    ("capacity", "👥 名额"),
    ("types", "🩸 血型"),
)
DRIVE_EDIT_PREVIEW = (
    "✏️ 修改献血活动 #{id}\n{field}：{old} → {new}\n\n确认后会通知已报名和候补的 {count} 位会员。"
)
DRIVE_EDIT_CONFIRM_BUTTON = "✅ 确认修改"
DRIVE_EDIT_SAME = "和原来一样，没有改动。请重新选择或输入，或发送 /cancel 放弃。"
DRIVE_BELOW_SIGNED = "已有 {signed} 人报名，名额不能少于 {signed}。"
DRIVE_EDITED = "✅ 已修改献血活动 #{id}：{field}改为 {new}。"
DRIVE_EDITED_TOLD = "已通知 {count} 位已报名或候补的会员。"
DRIVE_EDITED_PROMOTED = "候补中有 {count} 位递补为正式报名，已分别告诉他们。"
DRIVE_CHANGED_NOTICE = (
    "🩸 您报名的献血活动 #{id} 有变动：{field}改为 {new}。\n"
    "现在是：{when}，{place}。去不了请发送 /drives 取消报名，把名额让给其他同事。"
)
DRIVE_TYPES_RELEASED_NOTICE = (
    "🩸 献血活动 #{id}（{when}，{place}）现在只需要 {types} 型血，您的报名（{blood} 型）已取消。"
    "谢谢您的热心，期待下次活动再见！"
)
DRIVE_EDITED_RELEASED = "{count} 位血型不再需要的会员的报名已取消，已分别告诉他们。"
DRIVE_PROMOTED_FREED_PLACE = (
    "🎉 好消息：献血活动有名额空出，您已从候补递补为正式报名：献血活动 #{id}，{when}，{place}。"
    "请按时到场；去不了请发送 /drives 取消报名。"
)
DRIVE_PROMOTED_MORE_PLACES = (
    "🎉 好消息：献血活动增加了名额，您已从候补递补为正式报名：献血活动 #{id}，{when}，{place}。"
    "请按时到场；去不了请发送 /drives 取消报名。"
)
DRIVE_ASK_CANCEL = (
    "确定取消献血活动 #{id}（{when}，{place}）吗？\n"
    "取消后不能再报名，已报名和候补的 {count} 位会员会收到通知。"
)
DRIVE_CANCEL_CONFIRM_BUTTON = "确定取消活动"
DRIVE_KEEP_BUTTON = "先不取消"
DRIVE_CANCEL_DONE = "⏹ 已取消献血活动 #{id}，已通知 {count} 位已报名或候补的会员。"
DRIVE_CANCEL_ALREADY = "献血活动 #{id} 已经取消了。"
DRIVE_CANCELLED_NOTICE = (
    "🩸 很抱歉，您报名的献血活动 #{id}（{when}，{place}）已取消，不用去了。谢谢您的爱心！"
)
# The organizer's donor list: one message, a page at a time.
DRIVE_LIST_HEAD = (
    "🩸 献血活动 #{id}（{when}，{place}）报名名单：已报名 {signed} 人，候补 {waiting} 人"
)
DRIVE_LIST_PAGE = "（第 {page}/{pages} 页）"
DRIVE_LIST_LINE = "{number}. {name}（{police_id}，{unit}，{blood}）{status}"
DRIVE_LIST_SIGNED = "已报名"
DRIVE_LIST_WAITING = "候补"
DRIVE_LIST_GAVE = "✅ 已登记 {what}"
DRIVE_LIST_RECORD_HINT = "\n登记献血：点下面的姓名，再按实际献的成分和数量点一次。"
DRIVE_DONOR_BUTTON = "📝 {number}. {name}"
DRIVE_PREVIOUS_PAGE = "◀ 上一页"
DRIVE_NEXT_PAGE = "下一页 ▶"
DRIVE_DONOR_HEAD = (
    "登记献血：{number}. {name}（{police_id}，{unit}，{blood}）\n按实际献的成分和数量点一次。"
)
DRIVE_BACK_TO_LIST = "◀ 返回名单"
DRIVE_BLOOD_UNKNOWN = "血型未登记"
DRIVE_BLOOD_GROUP = "{group} 型"

# --- easy on a phone: the /blood record dialog, the interval warning (issue 17, items 1, 6) ---
# What an officer has given: only the components given, so no line says 0 (handlers/blood.py).
BLOOD_TOTALS_GIVEN = "累计献血 {count} 次：{parts}。"
BLOOD_TOTALS_SEPARATOR = "，"
BLOOD_NO_HISTORY_OWN = "还没有献血记录。每一次献血，暖警都会在这里替您记下这份爱心 ❤️"
# The /blood record dialog (handlers/blood_record.py).
BLOOD_REC_ASK_OFFICER = "🩸 登记献血\n请发送献血会员的警号或姓名："
BLOOD_REC_TEXT_ONLY = "请用文字发送警号或姓名。"
BLOOD_REC_NOT_FOUND = "名册中没有找到「{typed}」，请核对后重新发送警号或姓名："
BLOOD_REC_TOO_MANY = "名字里有「{typed}」的会员超过 {limit} 位，请发送全名或警号："
BLOOD_REC_LEFT = "{name}（{police_id}）已不在会员名册中，不能登记。请重新发送警号或姓名："
BLOOD_REC_PICK = "有 {count} 位会员名叫「{typed}」，请选择是哪一位（也可以发送警号）："
BLOOD_REC_PICK_BUTTON = "{name}｜{unit}｜{police_id}"
BLOOD_REC_WHO = "会员：{name}（{police_id}，{unit}）"
BLOOD_REC_ASK_COMPONENT = "{who}\n请选择献血成分："
BLOOD_REC_ASK_AMOUNT = "{who}\n成分：{component}\n请选择数量，或发送数字："
BLOOD_REC_BAD_AMOUNT = "看不懂数量「{token}」，请点按钮或发送数字。"
BLOOD_REC_ASK_DATE = (
    "{who}\n{component} {amount}\n哪天献的？请点按钮，或发送日期（如 11-20、2026-11-20）："
)
BLOOD_REC_DATE_TODAY = "今天"
BLOOD_REC_DATE_YESTERDAY = "昨天"
BLOOD_REC_BAD_DATE = "看不懂日期「{token}」，请写成 11-20 或 2026-11-20。"
BLOOD_REC_ASK_AGAIN = "\n请重新发送日期："
BLOOD_REC_USE_BUTTONS = "请点上面的按钮选择，或发送 /cancel 取消。"
BLOOD_REC_PREVIEW = (
    "请核对献血登记：\n{who}\n日期：{date}\n成分：{component} {amount}{warnings}\n\n{question}"
)
BLOOD_REC_QUESTION = "无误请点「登记」。"
BLOOD_REC_QUESTION_WARNED = "核对无误、确需登记，请点「仍然登记」。"
BLOOD_REC_CONFIRM_BUTTON = "✅ 登记"
BLOOD_REC_FORCE_BUTTON = "⚠️ 仍然登记"
BLOOD_REC_CANCEL_BUTTON = "❌ 取消"
BLOOD_REC_CANCELLED = "已取消，没有登记。"
# 登记 pressed while another donation was recorded meanwhile: the preview again, with the warning.
BLOOD_REC_NOW_TOO_CLOSE = "刚登记了这位会员的另一次献血，请再核对一次。"
# The interval warning of a preview (both the dialog and the one-line form).
BLOOD_WARN_HEAD = "\n\n⚠️ 不符合献血间隔："
BLOOD_WARN_BEFORE = "\n· 距上次献{component}（{date}）仅 {gap} 天，规定间隔 {required} 天"
BLOOD_WARN_AFTER = "\n· 距之后献{component}（{date}）仅 {gap} 天，规定间隔 {required} 天"
BLOOD_WARN_SAME_DAY = "\n· 同一天（{date}）已登记献{component}，规定间隔 {required} 天"
BLOOD_WARN_PLATELET_CAP = (
    "\n\n⚠️ 超过血小板捐献年度上限：\n· 这将是{year}年第 {count} 次血小板捐献，每年最多 {cap} 次"
)
BLOOD_WARN_CHECK = "\n请先核对日期和成分有没有写错。"
BLOOD_WARN_DAY = "{month}月{day}日"
BLOOD_WARN_DAY_YEAR = "{year}年{month}月{day}日"

# --- easy on a phone: data that stays right (issue 17, item 6) ---

# Case cards: who took each step and when (organizers' private chats only; reasons are sealed).
CASE_CARD_TAKER = "{name}（{police_id}）"
CASE_CARD_VISITED = "探望：{by}，{at}"
CASE_CARD_PAID = "实发：{amount} 元 · {by}，{at}"
CASE_CARD_PAID_OTHER = "实发：{amount} 元（标准 {policy} 元）· {by}，{at}"
CASE_CARD_PAY_REASON = "发放说明：{reason}"
CASE_CARD_DECLINED = "不予受理：{by}，{at}"
CASE_CARD_DECLINE_REASON = "不予受理原因：{reason}"
# A confirmed death (an officer_death case visited or paid): what stopped, in one line.
CASE_DEATH_CONFIRMED = (
    "🕯 已登记{name}同志离世。此后不再向其账号发送任何消息，不再计入名单和人数{extra}。"
)
CASE_DEATH_DELIVERIES = "，撤下待发消息 {count} 条"
CASE_DEATH_PLACES = "，让出报名名额 {count} 个并已依次递补"
# Approving a stranger: their unit and gender, then the officer is created.
APPROVE_ASK_UNIT = "✅ 批准 {name}（{police_id}）\n请选择所在单位，或直接输入单位名称："
APPROVE_ASK_UNIT_PAGE = "（第 {page}/{pages} 页）"
APPROVE_UNIT_PREV = "◀ 上一页"
APPROVE_UNIT_NEXT = "下一页 ▶"
APPROVE_ASK_GENDER = "✅ 批准 {name}（{police_id}），单位：{unit}\n请选择性别："
APPROVE_GENDER_MALE = "男"
APPROVE_GENDER_FEMALE = "女"
APPROVE_CANCEL = "❌ 取消"
APPROVE_CANCELLED = "已取消批准，申请仍在等待处理。发送 /requests 可再次查看。"
APPROVE_UNIT_BAD = "单位名称请用文字写明，不超过 {limit} 个字："
APPROVE_USE_BUTTONS = "请点上方「男」或「女」；发送 /cancel 取消。"
APPROVE_DONE_DETAIL = "\n单位：{unit}；性别：{gender}"
REQUEST_DECEASED = "名册中此警号的民警已登记离世，无法绑定。"

# --- easy on a phone: polish and the organizer help (issue 17, item 8) ---
# /help, short and grouped by task; a command sent alone opens its step-by-step buttons.
HELP_MEMBER = (
    "暖警能帮您（发送 /menu 用按钮办理）：\n"
    "💐 慰问：/report 申报住院、婚育、退休、丧事，/myreports 我的申报\n"
    "🩸 献血：/blood 我的献血记录，/drives 献血活动报名\n"
    "🎉 活动：/events 活动报名，/clubs 兴趣俱乐部，/book 预约健康屋、心理咨询等\n"
    "🏖 福利：/retreats 疗休养，/honours 评先评优，/surveys 问卷，/charity 慈善募捐\n"
    "👤 /me 我的资料，/cancel 取消当前操作"
)
HELP_LEADER = (
    "\n\n🏅 俱乐部队长（{clubs}）：/clubnotice 给会员发通知，"
    "/clubs 俱乐部名 成员名单，/events 新建 发布本俱乐部活动"
)
HELP_CONTACT = (
    "\n\n🏢 基层工会联络员（{units}）：/retreats、/honours 推荐本单位人选，"
    "/distributions 确认本单位收到的物资"
)
HELP_STAFF_GROUPED = "\n\n🩺 服务工作人员：/staff 预约名单、签到、关闭时段"
HELP_ORGANIZER_GROUPED = (
    "\n\n工会干部（命令单独发送，会一步步用按钮引导）：\n"
    "📣 发消息：/announce 通知，/clubnotice 俱乐部通知，/appeal 紧急用血呼吁，/greetings 问候语\n"
    "💐 慰问：/cases 待办（/cases 帮助 看写法），/cases 统计，/cases 导出，/mutualaid 医疗互助\n"
    "🩸 献血：/drives 新建 安排献血活动，/drives 编号 报名名单，/blood 登记，/blood 统计\n"
    "🎉 活动：/events 新建 发布活动，/events 编号 管理，/clubs 队长 警号 俱乐部名 任命队长\n"
    "🏖 福利：/rounds 疗休养、评先评优，/surveys 问卷，/charity 募捐，/distributions 物资发放\n"
    "📊 数据：/stats 年度数据和报告，/bookings 预约统计\n"
    "👥 会员：/requests 审核绑定申请"
)
HELP_ADMIN_GROUPED = (
    "\n\n🔑 管理员：/grant 警号 角色 授予角色（工会干部、管理员），/revoke 撤销；"
    "/grant 警号 工作人员 服务键 任命服务工作人员；/grant 警号 联络员 任命基层工会联络员"
)
COMMAND_RETREATS = "疗休养：报名、推荐与公示"
COMMAND_HONOURS = "评先评优：推荐、公示与荣誉榜"
COMMAND_SURVEYS = "问卷调查"
COMMAND_CHARITY = "慈善募捐：认捐与进度"
COMMAND_DISTRIBUTIONS = "物资与消费券发放"
MENU_ROUNDS = "🏅 评选管理"
MENU_STATS = "📊 年度数据"
# What officers see above an announcement, so they know the union sent it.
ANNOUNCE_HEADER = "📣 工会通知\n\n"

# --- nominations: retreats and honours (issue 12) ---

# Unit contacts (基层工会联络员): granted by admins in chat (/grant 警号 联络员) or the CLI.
UNIT_CONTACT_TITLE = "基层工会联络员"
GRANT_UNIT_CONTACT_USAGE = "联络员：/grant 警号 联络员（再点选单位），/revoke 警号 联络员"
UNIT_CONTACT_PICK_GRANT = "请选择{name}（{police_id}）担任联络员的单位："
UNIT_CONTACT_PICK_REVOKE = "{name}（{police_id}）是以下单位的联络员，请选择要撤销的单位："
UNIT_CONTACT_NONE = "{name}（{police_id}）目前不是任何单位的联络员。"
UNIT_CONTACT_NO_UNITS = "名册和政策中还没有任何单位，暂时无法任命联络员。"
UNIT_CONTACT_UNIT_GONE = "这个单位已不在可选范围内，请重新发送命令。"
UNIT_CONTACT_GRANTED = "已任命{name}（{police_id}）为{unit}基层工会联络员。{told}"
UNIT_CONTACT_REVOKED = "已撤销{name}（{police_id}）的{unit}联络员身份。{told}"
UNIT_CONTACT_ALREADY = "{name}（{police_id}）已经是{unit}的联络员。"
UNIT_CONTACT_NOT = "{name}（{police_id}）不是{unit}的联络员。"
UNIT_CONTACT_LEFT = "{name}（{police_id}）已不在会员名册中，不能任命。"
UNIT_CONTACT_YOU_ARE = (
    "您已被任命为{unit}基层工会联络员，负责本单位疗休养和评先评优的推荐。谢谢您！"
)
UNIT_CONTACT_YOU_NO_LONGER = "您的{unit}联络员身份已撤销，谢谢您的付出！"
UNIT_CONTACT_NOT_ALLOWED = "只有基层工会联络员可以进行推荐。"
UNIT_CONTACT_OTHER_UNIT = "您只能为自己负责的单位推荐。"

# Programmes and statuses (storage.models.Programme, bot.rules.nominations.NominationStatus).
NOMINATION_PROGRAMMES = {"retreat": "疗休养", "honour": "评先评优"}
NOMINATION_STATUSES = {
    "applied": "已报名",
    "nominated": "已推荐，待本人确认",
    "confirmed": "本人已确认，待审核",
    "declined": "本人已放弃",
    "approved": "已审核通过，待公示",
    "returned": "已退回单位",
    "published": "公示中",
    "objected": "公示中",  # the nominee never learns an objection was made
    "final": "已确定",
    "removed": "公示后未通过",
    "unselected": "未入选",
    "withdrawn": "已撤回",
}
NOMINATION_ROUND_STATUSES = {
    "open": "推荐中",
    "publicity": "公示中",
    "final": "已结束",
    "cancelled": "已取消",
}

# Why an officer may not be put forward (bot.rules.nominations.Ineligible); {since} is a date.
NOMINATION_INELIGIBLE = {
    "inactive": "已不在会员名册中。",
    "new_to_roster": "入会未满规定年限，{since}起可推荐。",
    "recent_retreat": "规定年限内已参加过疗休养，{since}起可推荐。",
    "recent_honour": "规定年限内已获得过该荣誉，{since}起可推荐。",
    "excluded": "工会暂不推荐该同志参评此项荣誉。",
}
NOMINATION_INELIGIBLE_NOW = "不符合推荐条件：{reason}"

# Why an edited quota table cannot be used (bot.rules.nominations.QuotaProblem).
NOMINATION_QUOTA_PROBLEMS = {
    "negative": "{unit}的名额不能小于0。",
    "unknown_unit": "名册中没有{unit}这个单位（或它已没有在职会员）。",
    "over_officers": "{unit}的名额超过了该单位的在职会员人数。",
    "sum_mismatch": "各单位名额合计{total}个，与总名额{places}个不一致，请调整。",
}

# One sentence per refusal of storage.nominations.Refusal.
NOMINATION_REFUSALS = {
    "name_missing": "请填写名称（100字以内）。",
    "unknown_title": "政策中没有这项荣誉，请从列表中选择。",
    "bad_places": "总名额至少为1个。",
    "bad_window": "推荐截止时间须晚于开始时间，并且晚于现在。",
    "bad_quotas": "各单位名额有误，请调整。",
    "no_batches": "疗休养至少需要一个批次。",
    "bad_batch": "批次的日期、地点或人数有误，请检查。",
    "batch_too_long": "每个批次最多{days}天（含路途）。",
    "batch_places_short": "各批次人数合计少于总名额，请增加批次人数。",
    "allowance_over_cap": "每人每天补助不能超过{cap}元。",
    "no_round": "这一轮推荐已不存在。",
    "no_nomination": "这条推荐已不存在。",
    "no_officer": "名册中没有这位会员。",
    "round_not_open": "这一轮推荐已经结束，不能再更改。",
    "before_window": "推荐还没有开始。",
    "after_window": "推荐已经截止。",
    "other_unit": "您只能为自己负责的单位推荐。",
    "ineligible": "该同志不符合推荐条件。",
    "already": "该同志已在本轮名单中，不能重复推荐。",
    "declined_before": "该同志已放弃本轮名额，不能再次推荐。",
    "quota_full": "本单位名额已满。",
    "no_quota": "本单位在这一轮没有名额。",
    "reason_missing": "请填写理由。",
    "reason_too_long": "理由不能超过{limit}字。",
    "not_retreat": "只有疗休养可以本人报名和选择批次。",
    "window_open": "报名截止后才能抽签。",
    "no_applicants": "本单位没有待抽签的报名者。",
    "not_yours": "这不是您的推荐。",
    "wrong_status": "这条推荐的状态已经变化，请重新打开查看。",
    "no_batch": "请选择本轮的一个批次。",
    "batch_full": "这个批次已满，请选择其他批次。",
    "nothing_approved": "还没有审核通过的推荐，无法公示。",
    "not_in_publicity": "这一轮现在不在公示期。",
    "publicity_over": "公示期已结束。",
    "publicity_not_over": "公示期还没有结束。",
    "open_objections": "还有未处理的异议，请先处理。",
    "objection_empty": "请写下您的意见。",
    "objection_too_long": "意见不能超过{limit}字。",
    "already_objected": "您已对这位同志提出过意见，工会会认真核实。",
    "own_nomination": "不能对自己的推荐提出异议。",
    "in_other_round": "该同志正在另一轮同类推荐中，请等那一轮结束后再推荐。",
}

# --- member services: surveys (issue 13, item 3) ---

# Building a survey (/survey, /surveys 新建): organizers only.
SURVEY_NOT_ORGANIZER = "只有工会干部可以发起问卷、查看结果。"
SURVEY_ASK_TITLE = "📋 新建问卷\n请输入问卷标题（不超过 100 字），或直接使用下方模板："
SURVEY_TEMPLATE_BUTTON = "🏠 使用模板：{title}"
SURVEY_ASK_AUDIENCE = "请选择问卷对象："
SURVEY_AUDIENCE_BUTTONS = (
    ("everyone", "全体会员"),
    ("unit", "某个单位"),
    ("women", "仅女警"),
    ("men", "仅男警"),
)
SURVEY_AUDIENCE_NAMES = {"everyone": "全体会员", "women": "女警", "men": "男警"}
SURVEY_ASK_UNIT = "请选择单位："
SURVEY_NO_UNITS = "名册里还没有单位。"
SURVEY_ASK_DEADLINE = (
    "请选择截止时间，或输入日期（如 12月20日、2026-12-20 18:00）；只写日期时截止到当天 18:00。"
)
# (days from today, button): the deadline is that day at 18:00.
SURVEY_DEADLINE_BUTTONS = ((3, "3天后"), (7, "一周后"), (14, "两周后"))
SURVEY_ASK_MODE = "实名还是匿名？\n匿名：答案与填写人没有任何关联，干部只能看到汇总和不具名的答案。"
SURVEY_NAMED_BUTTON = "👤 实名"
SURVEY_ANONYMOUS_BUTTON = "🕶 匿名"
SURVEY_ASK_KIND = "{so_far}请选择第 {number} 题的题型："
SURVEY_SO_FAR = "已添加 {count} 题：\n{questions}\n\n"
SURVEY_KIND_BUTTONS = (
    ("single", "🔘 单选"),
    ("multiple", "☑️ 多选"),
    ("number", "🔢 数字"),
    ("text", "✏️ 简答"),
)
SURVEY_DONE_QUESTIONS_BUTTON = "✅ 完成题目"
SURVEY_ASK_PROMPT = "第 {number} 题（{kind}）：请输入题目（不超过 100 字）："
SURVEY_ASK_OPTIONS = (
    "请输入选项，每行一个（2–10 个，每个不超过 30 字）；"
    "也可以一条消息发一个，发完按「✅ 选项完成」。"
)
SURVEY_OPTIONS_SO_FAR = "已有选项：{options}\n可以继续输入，或按「✅ 选项完成」。"
SURVEY_OPTIONS_DONE_BUTTON = "✅ 选项完成"
SURVEY_NEED_OPTIONS = "至少需要 2 个选项。"
SURVEY_ASK_RANGE = "请输入允许的数字范围「最小值-最大值」，如 0-100："
SURVEY_TOO_MANY_QUESTIONS = "最多 20 题，请按「✅ 完成题目」。"
SURVEY_NEED_QUESTION = "请至少添加 1 题。"
SURVEY_REPEAT_STEP = "请按下方按钮选择。"
SURVEY_TEXT_ONLY = "请输入文字。"
SURVEY_PROBLEMS = {
    "empty": "内容不能为空，请重新输入。",
    "title_too_long": "标题不能超过 100 字，请精简后重新输入。",
    "prompt_too_long": "题目不能超过 100 字，请精简后重新输入。",
    "option_too_long": "每个选项不能超过 30 字，请精简后重新输入。",
    "too_few_options": "至少需要 2 个选项。",
    "too_many_options": "选项最多 10 个，请删减后重新输入。",
    "same_option": "选项不能重复，请重新输入。",
    "bad_range": "没看懂这个范围，请写成「最小值-最大值」，如 0-100。",
    "range_order": "最小值要小于最大值，请重新输入。",
    "range_limit": "数字范围请在正负十亿以内。",
    "bad_deadline": "没看懂这个时间，请写成 12月20日 或 2026-12-20 18:00。",
    "deadline_past": "截止时间已经过去，请选择以后的时间。",
    "deadline_too_far": "截止时间不能超过两年后。",
    "not_a_number": "请输入一个数字，如 120。",
    "out_of_range": "请输入 {low}–{high} 之间的数字。",
    "text_too_long": "回答不能超过 200 字，请精简后重新输入。",
    "no_choice": "请至少选择一项。",
}
SURVEY_PREVIEW = (
    "📋 问卷预览（会员将看到如下内容）\n\n{card}\n\n将通知 {count} 位会员，确认发布吗？"
)
SURVEY_PUBLISH_BUTTON = "✅ 发布"
SURVEY_DISCARD_BUTTON = "取消"
SURVEY_PUBLISHED = "✅ 问卷 #{id} 已发布，正在通知 {count} 位会员。"
SURVEY_PUBLISHED_NOBODY = "✅ 问卷 #{id} 已发布，但问卷对象中暂无已绑定的会员。"
SURVEY_DEADLINE_PASSED = "截止时间已经过去，请重新选择截止时间。"

# The survey as officers and organizers read it.
SURVEY_CARD = "📋 {title}\n对象：{audience}｜截止：{deadline}｜{mode}\n\n{questions}"
SURVEY_MODE_NAMED = "实名"
SURVEY_MODE_ANONYMOUS = "匿名"
SURVEY_KIND_NAMES = {"single": "单选", "multiple": "多选", "number": "数字", "text": "简答"}
SURVEY_QUESTION_LINE = "{number}. {prompt}（{kind}）"
SURVEY_OPTION_LINE = "   ○ {option}"
SURVEY_RANGE_LINE = "   范围 {low}–{high}"
SURVEY_TEXT_LINE = "   不超过 200 字"

# The announcement to the audience (the broadcast engine) and answering.
SURVEY_ANNOUNCEMENT = "📋 工会问卷：{title}\n共 {count} 题，{mode}，请于 {deadline} 前填写。"
SURVEY_ANONYMOUS_NOTE = "本问卷为匿名问卷，答案不会关联到您。"
SURVEY_START_BUTTON = "📝 开始填写"
SURVEY_QUESTION = "📋 {title}（第 {number}/{total} 题）\n\n{prompt}{hint}"
SURVEY_HINT_MULTIPLE = "\n（可多选，选好后按「下一题」）"
SURVEY_HINT_NUMBER = "\n请输入 {low}–{high} 之间的数字："
SURVEY_HINT_TEXT = "\n请直接输入您的回答（不超过 200 字）："
SURVEY_HINT_ANSWERED = "\n当前回答：{answer}"
SURVEY_CHOSEN_MARK = "✅ "
SURVEY_NEXT_BUTTON = "下一题 ▶"
SURVEY_BACK_BUTTON = "◀ 上一题"
SURVEY_KEEP_BUTTON = "保持原答案 ▶"
SURVEY_SUBMIT_BUTTON = "✅ 提交"
SURVEY_LATER_BUTTON = "稍后再填"
SURVEY_SUMMARY = "📋 {title}\n请确认您的回答：\n\n{answers}\n\n{note}确认无误请按「提交」。"
SURVEY_SUMMARY_LINE = "{number}. {prompt}\n   {answer}"
SURVEY_SUBMITTED = "✅ 已提交，感谢您填写「{title}」！"
SURVEY_ALREADY = "您已经填写过这份问卷，每人只能填写一次。"
SURVEY_CLOSED = "这份问卷已结束，不再接受填写。"
SURVEY_LATE = "这份问卷已过截止时间，不再接受填写。"
SURVEY_NOT_FOR_YOU = "这份问卷不面向您。"
SURVEY_GONE = "这份问卷已不存在。"
SURVEY_USE_BUTTONS = "请按题目下方的按钮作答。"
SURVEY_LATER = "好的，稍后可发送 /surveys 继续填写。"

# /surveys: officers see the open ones they are asked; organizers manage.
SURVEY_LIST_MINE = "📋 待填写的问卷："
SURVEY_NONE_OPEN = "目前没有需要您填写的问卷。"
SURVEY_LIST_ORGANIZER = "📋 问卷管理（点选问卷查看结果、导出或结束）："
SURVEY_LIST_EMPTY = "还没有问卷。"
SURVEY_LIST_LINE = "{mark} #{id} {title}｜截止 {deadline}｜已答 {count}"
SURVEY_MINE_LINE = "· {title}｜截止 {deadline}{answered}"
SURVEY_ANSWERED_MARK = "（已提交）"
SURVEY_OPEN_MARK = "🟢"
SURVEY_ENDED_MARK = "⚪"
SURVEY_NEW_BUTTON = "➕ 新建问卷"
SURVEY_FILL_BUTTON = "📝 {title}"
SURVEY_PANEL = "{card}\n\n状态：{status}｜已填写 {answered} / {audience} 人"
SURVEY_STATUS_OPEN = "进行中"
SURVEY_STATUS_CLOSED = "已结束"
SURVEY_STATUS_PAST = "已过截止时间"
SURVEY_RESULTS_BUTTON = "📊 结果"
SURVEY_EXPORT_BUTTON = "📥 导出 XLSX"
SURVEY_CLOSE_BUTTON = "⏹ 结束问卷"
SURVEY_LIST_BUTTON = "◀ 返回列表"
SURVEY_CLOSE_ASK = "确定提前结束「{title}」吗？结束后不再接受填写。"
SURVEY_CLOSE_YES = "⏹ 确定结束"
SURVEY_CLOSE_NO = "返回"
SURVEY_CLOSED_DONE = "⏹ 问卷「{title}」已结束，共 {count} 人填写。"
SURVEY_ALREADY_CLOSED = "这份问卷已经结束。"

# Results and the XLSX (organizers only).
SURVEY_RESULTS = "📊 {title} 结果\n填写人数：{count}\n\n{questions}"
SURVEY_RESULT_QUESTION = "{number}. {prompt}（{answered} 人作答）"
SURVEY_RESULT_OPTION = "   {option}：{count} 人（{share}%）"
SURVEY_RESULT_NUMBER = "   中位数 {median}，范围 {low}–{high}"
SURVEY_RESULT_NOTHING = "   暂无回答"
SURVEY_RESULT_TEXT = "   · {text}"
SURVEY_RESULT_MORE_TEXTS = "   …另有 {more} 条，完整内容请导出 XLSX"
SURVEY_EXPORT_SHEET = "问卷回答"
SURVEY_EXPORT_NAMED = ("警号", "姓名", "单位")
SURVEY_EXPORT_ANONYMOUS = ("序号",)
SURVEY_EXPORT_CAPTION = "📥 问卷「{title}」（#{id}）的回答，共 {count} 份。"

# The reminder 24 hours before the deadline, to those who have not answered.
SURVEY_REMINDER = "⏰ 问卷提醒：「{title}」将于 {deadline} 截止，您还没有填写。"
MENU_SURVEYS = "📋 问卷"

# --- the year in figures: statistics, charts, the report (issue 16) ---

# /stats (handlers/stats.py): organizers see the union, unit contacts their own unit.
COMMAND_STATS = "年度数据与报告"
STATS_SECTIONS = {
    "members": "会员",
    "care": "慰问",
    "blood": "献血",
    "events": "活动",
    "clubs": "俱乐部",
    "greetings": "问候",
    "bookings": "预约",
}
STATS_UNION = "全会"
STATS_ASK_YEAR = "📊 年度数据：请选择年份。"
STATS_YEAR_BUTTON = "{year}年"
STATS_ASK_SECTION = "📊 {year}年 · {scope}：请选择要看的板块（每项一张图和三行小结）。"
STATS_REPORT_BUTTON = "📄 {year}年度报告 PDF"
STATS_OTHER_YEAR_BUTTON = "↩ 换年份"
STATS_NOT_ALLOWED = "年度数据只对工会干部和基层工会联络员开放。"
STATS_REPORT_ORGANIZERS = "年度报告包含全会各单位的数据，只对工会干部开放。"
STATS_BAD_YEAR = "没看懂年份「{token}」。请写四位数字，例如：/stats 报告 2025"
STATS_USAGE = (
    "用法：\n"
    "/stats — 点选年份和板块，看图表和小结\n"
    "/stats 报告 [年份] — 生成年度报告 PDF（默认今年）"
)
STATS_REPORT_WORKING = "⏳ 正在生成{year}年度报告，需要几秒钟，请稍候……"
STATS_REPORT_CAPTION = "📄 {union} {year}年度报告：封面、各板块数据与图表、各单位一览。"

# Charts (bot/charts.py): titles, legends and axes. No emoji: the chart font has none.
CHART_TITLE = "{year}年 · {scope} · {section}"
CHART_EMPTY = "暂无数据"
CHART_PEOPLE = "人数"
CHART_TIMES = "人次"
CHART_CASES = "件数"
CHART_MONTH = "{month}月"
CHART_ACTIVE = "在职会员"
CHART_BOUND = "已绑定"
CHART_REPORTED = "申报"
CHART_PAID = "已发放"
CHART_DONATIONS = "献血人次"
CHART_SIGNED = "报名"
CHART_ATTENDED = "到场"
CHART_MEMBERS = "会员"
CHART_ACTIVITY_SIGNED = "活动报名"
CHART_SENT = "发送"
CHART_REACHED = "送达"
CHART_BOOKED = "预约"
CHART_NO_UNIT = "未填单位"
CHART_UNIT_TITLE = "{year}年 · 每百名在职会员：{unit}与全会"
CHART_PER_HUNDRED = "每百人"

# Three-line summaries under each chart (and in the report).
SUMMARY_MEMBERS = (
    "在册 {on_roster} 人，在职 {active} 人，已绑定 {bound} 人（{bound_share}）",
    "在职男 {men} 人、女 {women} 人；本年离会 {left} 人",
    "单位 {units} 个；在职最多：{top}",
)
SUMMARY_CARE = (
    "慰问申报 {cases} 件（不含重复申报），已发放 {paid_cases} 件，共 {paid_sum} 元",
    "最多的事项：{top}",
    "自 {since} 起累计慰问 {comforted} 人",
)
SUMMARY_BLOOD = (
    "献血 {donors} 人、{donations} 人次，全血和血浆 {ml} 毫升，血小板 {units} 个治疗量",
    "献血活动 {drives} 场，报名 {signups} 人",
    "紧急呼吁 {appeals} 次：送达 {reached} 人，{coming} 人报名能去，{arrived} 人到场{first}",
)
SUMMARY_BLOOD_FIRST = "，首位响应中位 {minutes} 分钟"
SUMMARY_EVENTS = (
    "活动 {events} 场，名额 {places} 个，报名 {signed} 人次",
    "到场 {attended} 人次，缺席 {absent} 人次，缺席率 {no_show}",
    "联谊交友：男 {men} 人次、女 {women} 人次报名",
)
SUMMARY_CLUBS = (
    "俱乐部 {clubs} 个，会员 {members} 人",
    "俱乐部活动 {activities} 场，报名 {signed} 人次，到场 {attended} 人次",
    "会员最多：{top}",
)
SUMMARY_GREETINGS = (
    "问候发出 {sent} 条，送达 {reached} 条（{share}）",
    "节日 {festivals} 个，生日问候 {birthdays} 条",
    "发出最多：{top}",
)
SUMMARY_BOOKINGS = (
    "预约 {booked} 人次，到场 {attended} 人次，爽约 {missed} 人次",
    "服务 {services} 项；预约最多：{top}",
    "心理咨询只计人次，不显示任何个人信息",
)
SUMMARY_NONE = "无"
SUMMARY_NOT_MARKED = "未登记"

# The yearly report (bot/report.py): PDF pages and XLSX sheets.
REPORT_TITLE = "{union}"
REPORT_SUBTITLE = "{year}年度工作数据报告"
REPORT_COVER_LINE = "{bot} · 生成于 {today}"
REPORT_COVER_CONTENTS = "目录：{sections}、各单位一览"
REPORT_COMPARED = "与{before_year}年相比：{label} {now}（{before_year}年 {before}，{change}）"
REPORT_CHANGE_NEW = "上年为零"
REPORT_CHANGE_SAME = "持平"
REPORT_UNIT_TITLE = "{year}年 · {unit}"
REPORT_SHEET_UNITS = "各单位"
REPORT_COLUMNS = ("项目", "{year}年", "{before_year}年")
REPORT_UNIT_COLUMNS = (
    "单位",
    "在职会员",
    "已绑定",
    "慰问件数",
    "慰问金额（元）",
    "献血人数",
    "献血毫升",
    "活动报名",
    "活动到场",
    "问候发出",
    "问候送达",
)
REPORT_LINES = {
    "members.on_roster": "在册会员（人）",
    "members.active": "在职会员（人）",
    "members.bound": "已绑定（人）",
    "members.left": "本年离会（人）",
    "care.cases": "慰问申报（件，不含重复）",
    "care.paid_cases": "已发放（件）",
    "care.paid_sum": "发放金额（元）",
    "care.comforted": "累计慰问人数（自政策日起）",
    "blood.donors": "献血人数",
    "blood.donations": "献血人次",
    "blood.ml": "全血和血浆（毫升）",
    "blood.units": "血小板（治疗量）",
    "blood.drives": "献血活动（场）",
    "blood.signups": "献血活动报名（人）",
    "blood.appeals": "紧急呼吁（次）",
    "blood.appeal_reached": "呼吁送达（人）",
    "blood.appeal_coming": "呼吁报名能去（人）",
    "blood.appeal_arrived": "呼吁到场（人）",
    "events.events": "活动（场）",
    "events.places": "名额（个）",
    "events.signed": "报名（人次）",
    "events.attended": "到场（人次）",
    "events.absent": "缺席（人次）",
    "clubs.members": "俱乐部会员（人）",
    "clubs.activities": "俱乐部活动（场）",
    "clubs.signed": "俱乐部活动报名（人次）",
    "greetings.sent": "问候发出（条）",
    "greetings.reached": "问候送达（条）",
    "bookings.booked": "预约（人次）",
    "bookings.attended": "预约到场（人次）",
}
REPORT_HEADLINES = {
    "members": "members.active",
    "care": "care.cases",
    "blood": "blood.donors",
    "events": "events.signed",
    "clubs": "clubs.signed",
    "greetings": "greetings.reached",
    "bookings": "bookings.booked",
}

# --- nominations: the organizers' side (issue 12) ---

# handlers/nominations/rounds.py: /rounds (评选管理), opening rounds, review, publicity, final.
ROUNDS_NOT_ORGANIZER = "只有工会干部可以管理疗休养和评先评优。"
COMMAND_ROUNDS = "评选管理（疗休养、评先评优）"
ROUNDS_ICONS = {"retreat": "🏖", "honour": "🏅"}
ROUNDS_PANEL_TITLE = {
    "all": "🗂 评选管理（疗休养、评先评优）",
    "retreat": "🗂 疗休养管理",
    "honour": "🗂 评先评优管理",
}
ROUNDS_PANEL_LINE = "{icon} {name}（{what}·{status}）"
ROUNDS_PANEL_NONE = "目前没有进行中的评选，可点「➕ 新一轮」开启。"
ROUNDS_NEW_BUTTON = "➕ 新一轮"
ROUNDS_EXCLUSIONS_BUTTON = "🚫 排除名单"
ROUNDS_BACK_BUTTON = "◀ 全部评选"
ROUNDS_BACK_TO_ROUND = "◀ 返回本轮"
ROUNDS_BACK_TO_REVIEW = "📋 继续审核"
ROUNDS_BACK_TO_OBJECTIONS = "⚠️ 返回异议"
ROUNDS_SHOW_BUTTON = "查看本轮"
ROUNDS_CANCEL_BUTTON = "取消"
ROUNDS_TAP_BELOW = "请点下面的按钮选择，或发送 /cancel 放弃。"
ROUNDS_NOT_A_NUMBER = "请输入一个数字，如 20。"

# A round's card.
ROUNDS_CARD_HEAD = (
    "{icon} {name}（{what}）#{id}\n状态：{status}\n总名额：{places} 个\n"
    "推荐时间：{opens} 至 {closes}"
)
ROUNDS_CARD_ALLOWANCE = "每人每天补助：{allowance} 元"
ROUNDS_CARD_BATCH = "第{number}批：{batch}，已定 {taken}/{places} 人"
ROUNDS_CARD_PUBLICITY = "公示至：{until}"
ROUNDS_CARD_PROGRESS = "各单位进度："
ROUNDS_PROGRESS_LINE = (
    "· {unit}：名额{places}｜已占{held}｜待确认{nominated}｜待审核{confirmed}｜已通过{approved}"
)
ROUNDS_PROGRESS_APPLIED = "｜报名{count}"
ROUNDS_PROGRESS_NONE = "· 暂无"
ROUNDS_REVIEW_BUTTON = "📋 审核（{count}）"
ROUNDS_PUBLISH_BUTTON = "📢 发布公示"
ROUNDS_OBJECTIONS_BUTTON = "⚠️ 异议（待处理{count}）"
ROUNDS_FINALIZE_BUTTON = "⏹ 结束公示"
ROUNDS_EXPORT_BUTTON = "📊 导出名单"
ROUNDS_BATCH_SPAN = "{start}至{end}（{days}天）{place}"

# Review.
ROUNDS_REVIEW_HEAD = "📋 审核「{name}」：待审核 {count} 位"
ROUNDS_REVIEW_NONE = "目前没有待审核的推荐。"
ROUNDS_NOMINEE = "{name}（警号{police_id}，{unit}）"
ROUNDS_NOMINEE_BATCH = "批次：{batch}"
ROUNDS_NOMINEE_REASON = "推荐理由：{reason}"
ROUNDS_NOMINEE_APPLIED = "本人报名，联络员选定"
ROUNDS_NOMINEE_DRAWN = "本人报名，抽签第{rank}位"
ROUNDS_APPROVE_BUTTON = "✅ 通过"
ROUNDS_RETURN_BUTTON = "↩️ 退回"
ROUNDS_APPROVED = "✅ 已通过{name}。"
ROUNDS_APPROVED_NOMINEE = "🎉 您在「{round}」中的推荐已审核通过，公示后确定。"
ROUNDS_APPROVED_CONTACT = "「{round}」：{name}（{unit}）的推荐已审核通过。"
ROUNDS_ASK_RETURN = "请输入退回{name}的理由（{limit}字以内），本人和单位联络员都会看到："
ROUNDS_RETURNED = "已退回{name}的推荐，并通知本人和单位联络员。"
ROUNDS_RETURNED_NOMINEE = "您在「{round}」中的推荐已退回单位。说明：{reason}"
ROUNDS_RETURNED_CONTACT = (
    "「{round}」：{name}（{unit}）的推荐已退回，名额已归还本单位。说明：{reason}"
)

# Publicity.
ROUNDS_PUBLISH_ASK = (
    "📢 发布「{name}」的公示？\n以下 {count} 位同志将公示 {days} 天（至 {until}），"
    "全体会员都会收到通知：\n{names}"
)
ROUNDS_PUBLIC_LINE = "· {name}（{unit}）"
ROUNDS_PUBLISH_CONFIRM = "✅ 确认发布公示"
ROUNDS_PUBLISHED = "✅ 已公示 {count} 位同志，正在通知 {told} 位会员。"
ROUNDS_PUBLICITY_NOTICE = (
    "📢 公示：{icon} {name}（{what}）\n拟入选 {count} 位同志，公示至 {until}。"
    "如有意见，可点下方按钮查看名单并提出，只有工会能看到您的意见。"
)
ROUNDS_PUBLICITY_OPEN_BUTTON = "📋 查看公示名单"
ROUNDS_OBJECTIONS_HEAD = "⚠️ 「{name}」收到的异议（仅工会干部可见）："
ROUNDS_OBJECTIONS_NONE = "暂无异议。"
ROUNDS_OBJECTION_LINE = "· 对{nominee}（{unit}）——{objector}（警号{police_id}）：{text}{outcome}"
ROUNDS_OBJECTION_OUTCOMES = {"kept": "【已保留】", "removed": "【已撤下】"}
ROUNDS_KEEP_BUTTON = "✅ 保留{name}"
ROUNDS_REMOVE_BUTTON = "❌ 撤下{name}"
ROUNDS_ASK_KEEP = "请输入保留{name}的理由（{limit}字以内，仅工会干部可见）："
ROUNDS_ASK_REMOVE = (
    "请输入撤下{name}的理由（{limit}字以内），本人会收到这段说明，但不会知道是谁提出的异议："
)
ROUNDS_KEPT = "已保留{name}，理由已记录。"
ROUNDS_REMOVED = "已撤下{name}，理由已记录，本人已收到通知。"
ROUNDS_REMOVED_NOMINEE = "经公示核实，您在「{round}」中未能入选。说明：{reason}"

# The final list.
ROUNDS_FINALIZED = "⏹ 公示已结束，{count} 位同志正式入选，已通知本人。"
ROUNDS_FINAL_GENERIC = "「{round}」公示结束，名单已确定。"
ROUNDS_FINAL_HONOUR = "🏅 恭喜您！经公示，您已正式获评「{title}」（{year}年）。感谢您的付出！"
ROUNDS_FINAL_RETREAT = (
    "🏖 经公示，您已确定参加「{round}」：{batch}。出发前三天会再提醒您集合时间和地点。"
)

# The workbooks.
ROUNDS_EXPORT_CAPTION = "「{name}」#{id} 名单"
ROUNDS_FINANCE_SHEET = "疗休养补助"
ROUNDS_FINANCE_COLUMNS = (
    "警号",
    "姓名",
    "单位",
    "批次",
    "开始日期",
    "结束日期",
    "天数",
    "每天补助（元）",
    "补助合计（元）",
    "状态",
)
ROUNDS_LIST_SHEET = "评选名单"
ROUNDS_LIST_COLUMNS = ("警号", "姓名", "单位", "荣誉", "状态")

# Exclusion flags (organizers only).
ROUNDS_ALL_TITLES = "全部荣誉"
ROUNDS_EXCLUSIONS_HEAD = "🚫 评先评优排除名单（仅工会干部可见）："
ROUNDS_EXCLUSIONS_NONE = "暂无。"
ROUNDS_EXCLUSION_LINE = "· {name}（警号{police_id}）：{title}。理由：{reason}"
ROUNDS_LIFT_BUTTON = "解除：{name}·{title}"
ROUNDS_EXCLUDE_ADD = "➕ 添加"
ROUNDS_ASK_EXCLUDE_WHO = "请输入要排除的会员警号："
ROUNDS_ASK_EXCLUDE_TITLE = "{name}（警号{police_id}，{unit}）：排除出哪项荣誉的评选？"
ROUNDS_ASK_EXCLUDE_WHY = "请输入把{name}排除出「{title}」的理由（仅工会干部可见）："
ROUNDS_EXCLUDED = "已把{name}排除出「{title}」的评选。"
ROUNDS_EXCLUSION_LIFTED = "已解除{name}的「{title}」排除。"

# Opening a round.
ROUNDS_ASK_PROGRAMME = "➕ 新一轮评选\n请选择项目："
ROUNDS_RETREAT_BUTTON = "🏖 疗休养"
ROUNDS_ASK_NAME = "请输入这一轮的名称（100字以内），或直接使用建议的名称："
ROUNDS_SUGGESTED_NAME = "{year}年{what}"
ROUNDS_USE_NAME = "使用「{name}」"
ROUNDS_ASK_PLACES = "总名额多少个？点选或输入数字："
ROUNDS_PLACES_CHOICES = (5, 10, 20, 30, 50)
ROUNDS_PLACES_OVER = "总名额超过了全体在职会员人数（{officers}人），请减少。"
ROUNDS_ASK_QUOTAS = "各单位名额（已按在职人数比例分配，点单位可修改）：\n{table}"
ROUNDS_QUOTA_LINE = "· {unit}（{officers}人）：{places}"
ROUNDS_QUOTA_TOTAL = "合计 {total} 个，总名额 {places} 个"
ROUNDS_QUOTA_BUTTON = "{unit} {places}"
ROUNDS_QUOTAS_RESET = "↺ 按比例重新分配"
ROUNDS_QUOTAS_OK = "✅ 名额确定"
ROUNDS_ASK_QUOTA = "{unit}（在职{officers}人，现为{places}个）的名额：点选或输入数字"
ROUNDS_ASK_OPENS = "推荐从什么时候开始？点「立即开始」，或输入日期（如 6月1日）："
ROUNDS_OPENS_NOW = "立即开始"
ROUNDS_OPENS_PAST = "开始日期已经过去，请重新输入。"
ROUNDS_ASK_CLOSES = (
    "推荐什么时候截止？点选，或输入日期（如 6月30日、2027-06-30 18:00）；只写日期截止到当天 18:00。"
)
ROUNDS_CLOSES_BUTTONS = ((7, "一周后"), (14, "两周后"), (30, "一个月后"))
ROUNDS_BAD_DATE = "没看懂这个日期，请写成 6月30日、2027-06-30 或 明天 这样的形式。"
ROUNDS_ASK_BATCH_DATES = "第{number}批的日期，如 5月10日-5月14日（每批最多{days}天，含路途）："
ROUNDS_BAD_SPAN = "没看懂这段日期，请写成 5月10日-5月14日 或 2027-05-10 至 2027-05-14。"
ROUNDS_SPAN_BACKWARDS = "结束日期早于开始日期，请重新输入。"
ROUNDS_SPAN_PAST = "批次须在明天或以后出发，请重新输入。"
ROUNDS_ASK_BATCH_PLACE = "这一批去哪里？请输入地点（如 张家界）："
ROUNDS_BAD_PLACE = "请输入地点（{limit}字以内）。"
ROUNDS_ASK_BATCH_MEET = (
    "集合地点和时间（如 市局大院 07:30），提醒时会告诉大家；也可以跳过，之后另行通知："
)
ROUNDS_SKIP_MEET = "跳过"
ROUNDS_BAD_MEET = "集合地点请写在{limit}字以内。"
ROUNDS_MEET_LATER = "另行通知"
ROUNDS_ASK_BATCH_PLACES = "这一批可去多少人？点选或输入数字（还需安排 {left} 人）："
ROUNDS_BATCH_PLACES_CHOICES = (10, 20, 30)
ROUNDS_ASK_BATCHES = "已添加的批次：\n{batches}\n批次人数合计 {total}，总名额 {places}。"
ROUNDS_BATCH_MORE = "➕ 再加一批"
ROUNDS_BATCH_DROP = "🗑 删除最后一批"
ROUNDS_BATCH_DONE = "✅ 批次完成"
ROUNDS_ASK_ALLOWANCE = "每人每天补助多少元？（政策上限 {cap} 元）点选或输入数字："
ROUNDS_PREVIEW_HEAD = (
    "请确认新一轮评选：\n{icon} {what}：{name}\n总名额：{places} 个\n各单位名额：{quotas}\n"
    "推荐时间：{opens} 至 {closes}"
)
ROUNDS_PREVIEW_QUOTA = "{unit}{places}个"
ROUNDS_PREVIEW_BATCHES = "批次："
ROUNDS_PREVIEW_BATCH = "第{number}批：{batch}，{places}人，集合：{meet}"
ROUNDS_PREVIEW_ALLOWANCE = "每人每天补助：{allowance} 元"
ROUNDS_RULES_RETREAT = "推荐条件（按政策）：在职会员；入会满{roster}年；{years}年内未参加过疗休养。"
ROUNDS_RULES_HONOUR = (
    "推荐条件（按政策）：在职会员；{years}年内未获得过该荣誉；未列入工会的排除名单。"
)
ROUNDS_PREVIEW_TOLD = "开启后将通知 {count} 位单位联络员。"
ROUNDS_OPEN_BUTTON = "✅ 开启"
ROUNDS_OPENED = "✅ 已开启「{name}」（#{id}），已通知 {told} 位单位联络员。"
ROUNDS_OPENED_GENERIC = "新一轮推荐已开启：{name}"
ROUNDS_OPENED_CONTACT = (
    "📣 新一轮{icon}{what}推荐已开启：{name}\n贵单位名额：{places}\n推荐时间：{opens} 至 {closes}\n"
    "请发送 {command} 进行推荐，谢谢！"
)

# bot/jobs/nominations.py: three days before a retreat batch.
ROUNDS_BATCH_REMINDER = (
    "🏖 疗休养出行提醒：您参加的「{round}」将于 {start} 出发（{batch}）。\n集合：{meet}\n"
    "请提前安排好工作和行李，祝您休养愉快！"
)

# --- nominations: unit contacts and officers (issue 12) ---

MENU_RETREATS = "🏖 疗休养"
MENU_HONOURS = "🏅 评先评优"
# handlers/nominations/member.py: /retreats and /honours for every bound officer.
NOMINATION_HEADS = {"retreat": "🏖 疗休养", "honour": "🏅 评先评优"}
NOMINATION_DAY = "{month}月{day}日"
NOMINATION_MOMENT = "{month}月{day}日 {clock}"
NOMINATION_NO_ROUNDS = "目前没有正在进行的推荐。"
NOMINATION_ROUNDS_HEAD = "正在进行："
NOMINATION_ROUND_LINE = "• {name}（{status}）"
NOMINATION_ROUND_TITLE = "  荣誉：{title}"
NOMINATION_ROUND_WINDOW = "  推荐时间：{opens} 至 {closes}"
NOMINATION_ROUND_PUBLICITY = "  公示至 {ends}，欢迎监督"
NOMINATION_ROUND_PLACES = "  {unit}名额：{places} 个"
NOMINATION_ROUND_NO_PLACES = "  {unit}本轮没有名额"
NOMINATION_BATCH_LINE = "  · {first}—{last} {place}（{days}天，余{left}个名额）"
NOMINATION_MINE_HEAD = "我的推荐与报名："
NOMINATION_MINE_LINE = "• {round}：{status}{batch}"
NOMINATION_MINE_BATCH = "（{first}—{last} {place}）"
NOMINATION_APPLY_BUTTON = "✋ 报名：{name}"
NOMINATION_OPEN_MINE_BUTTON = "📝 我的：{name}"
NOMINATION_PUBLICITY_BUTTON = "📋 公示名单：{name}"
NOMINATION_UNIT_BUTTON = "👥 {unit}推荐：{name}"
NOMINATION_WALL_BUTTON = "🏆 荣誉榜"
NOMINATION_BACK_BUTTON = "« 返回"

# A nomination as its nominee sees it, with what they may do.
NOMINATION_CARD = "{head}「{round}」\n当前状态：{status}"
NOMINATION_CARD_BATCH = "\n批次：{first}—{last} {place}"
NOMINATION_CARD_MEETING = "\n集合：{meeting}"
NOMINATION_YOU_WERE_NOMINATED = "🎉 {unit}推荐您参加「{round}」（{programme}）。请确认是否参加："
NOMINATION_CHOOSE_BATCH = "请选择您方便的批次："
NOMINATION_BATCH_BUTTON = "{first}—{last} {place}（余{left}）"
NOMINATION_ACCEPT_BUTTON = "✅ 接受推荐"
NOMINATION_DECLINE_BUTTON = "放弃名额"
NOMINATION_WITHDRAW_BUTTON = "撤回报名"
NOMINATION_DECLINE_ASK = "确定放弃「{round}」吗？放弃后名额退回单位，本轮不能再被推荐。"
NOMINATION_DECLINE_YES = "确定放弃"
NOMINATION_DECLINE_NO = "再想想"
NOMINATION_CONFIRMED = "✅ 已确认参加「{round}」{batch}。工会审核后会通知您，谢谢！"
NOMINATION_DECLINED = "已放弃「{round}」，名额已退回单位。谢谢您告诉我们！"
NOMINATION_APPLIED = "✋ 已报名「{round}」。报名截止后由本单位联络员确定人选，结果会私信告诉您。"
NOMINATION_WITHDRAWN = "已撤回「{round}」的报名。"
NOMINATION_CONTACT_TOLD_DECLINE = (
    "{name}（{police_id}）已放弃「{round}」，名额已退回{unit}，可以另行推荐。"
)

# A unit contact's view of their unit in a round.
NOMINATION_UNIT_HEAD = (
    "👥 {unit} ·「{round}」\n名额 {places} 个，已用 {held} 个，还可推荐 {free} 个。\n"
    "推荐时间：{opens} 至 {closes}"
)
NOMINATION_UNIT_EMPTY = "还没有推荐或报名。"
NOMINATION_UNIT_ENTRY = "• {name}（{police_id}）{applied}：{status}"
NOMINATION_UNIT_APPLIED_MARK = "［本人报名］"
NOMINATION_UNIT_PICK_BUTTON = "➕ 推荐人选"
NOMINATION_UNIT_SELECT_BUTTON = "选定 {name}"
NOMINATION_UNIT_DRAW_BUTTON = "🎲 抽签（{applicants}人报名，{free}个名额）"
NOMINATION_UNIT_BACK_BUTTON = "« 本单位名单"
NOMINATION_PAGE_PREV = "‹ 上一页"
NOMINATION_PAGE_NEXT = "下一页 ›"
NOMINATION_CANDIDATES_HEAD = "请点选要推荐的同志（{unit}，第{page}/{pages}页）："
NOMINATION_CANDIDATES_NONE = "本单位名册中没有在职会员。"
NOMINATION_CANDIDATE_OK = "✅ {name}（{police_id}）"
NOMINATION_CANDIDATE_IN = "☑️ {name}（{police_id}）：{status}"
NOMINATION_CANDIDATE_NOT = "🚫 {name}（{police_id}）：{reason}"
# Why a candidate is greyed out (bot.rules.nominations.Ineligible), short, with the policy's years.
NOMINATION_CANDIDATE_REASONS = {
    "inactive": "已不在会员名册中",
    "new_to_roster": "入会未满{roster_years}年，{since}起可推荐",
    "recent_retreat": "{retreat_years}年内已参加疗休养，{since}起可推荐",
    "recent_honour": "{title_years}年内已获此荣誉，{since}起可推荐",
    "excluded": "暂不参评此项荣誉",
}
NOMINATION_ASK_REASON = "请写推荐{name}（{police_id}）参评「{round}」的理由（{limit}字以内）："
NOMINATION_REASON_EMPTY = "请写下推荐理由。"
NOMINATION_CONFIRM_ASK = "确认推荐{name}（{police_id}）参加「{round}」？"
NOMINATION_CONFIRM_REASON = "\n推荐理由：{reason}"
NOMINATION_CONFIRM_BUTTON = "✅ 确认推荐"
NOMINATION_CANCEL_BUTTON = "取消"
NOMINATION_TAP_BELOW = "请点上面消息下方的按钮继续，或点「取消」。"
NOMINATION_DONE = "✅ 已推荐{name}（{police_id}）参加「{round}」。{told}"
NOMINATION_TOLD = "已私信请本人确认。"
NOMINATION_NOT_TOLD = "本人尚未绑定或暂时联系不上，请当面请本人确认。"
NOMINATION_SELECTED = "✅ 已选定{name}（{police_id}）。{told}"
NOMINATION_DRAW_ASK = (
    "「{round}」{unit}：{applicants}人报名，{free}个名额。\n抽签结果不可更改，确定现在抽签吗？"
)
NOMINATION_DRAW_YES = "🎲 确定抽签"
NOMINATION_DRAW_RESULT = (
    "🎲 {unit}「{round}」抽签结果\n种子：{seed}\n{order}\n\n"
    '复核方法：按 SHA-256("种子:警号") 从小到大排序，前{places}位入选。'
)
NOMINATION_DRAW_LINE = "{rank}. {name}（{police_id}）{mark}"
NOMINATION_DRAW_WON = "✅ 入选"
NOMINATION_DRAW_LOST = "未入选"
NOMINATION_DRAW_YOU_WON = "🎉 您在抽签中入选了「{round}」！请确认是否参加。\n\n"
NOMINATION_DRAW_YOU_LOST = (
    "这次抽签您未入选「{round}」，排在第{rank}位；如有名额退回，联络员可能会再联系您。\n\n"
)

# Publicity (公示) and objections: open to every bound officer; objections go to organizers only.
NOMINATION_PUBLICITY_HEAD = "📋「{round}」公示名单（{title}）"
NOMINATION_PUBLICITY_UNTIL = (
    "公示至 {ends}。如有意见，可点「提出异议」私下反映，只有工会干部能看到。"
)
NOMINATION_PUBLICITY_FINAL = "公示已结束，名单已确定。"
NOMINATION_PUBLICITY_LINE = "{n}. {name}　{unit}"
NOMINATION_PUBLICITY_EMPTY = "名单为空。"
NOMINATION_PUBLICITY_NOT_YET = "这一轮还没有公示名单。"
NOMINATION_OBJECT_BUTTON = "提出异议"
NOMINATION_OBJECT_PICK = "您对哪位同志有意见？请点选："
NOMINATION_OBJECT_NOBODY = "名单上没有您可以提出异议的同志。"
NOMINATION_OBJECT_ASK = (
    "请写下您对{name}（{unit}）的意见（{limit}字以内）。\n"
    "只有工会干部能看到，不会告诉被推荐人是谁提出的。"
)
NOMINATION_OBJECT_PREVIEW = "您对{name}（{unit}）的意见：\n\n{text}\n\n确认提交吗？"
NOMINATION_OBJECT_SEND = "提交"
NOMINATION_OBJECT_SENT = "已收到您的意见，谢谢您的监督！工会将认真核实，您的身份只有工会干部知道。"
NOMINATION_OBJECT_FOR_ORGANIZERS = "📮「{round}」公示收到一条新的异议，请在 /rounds 查看处理。"

# The honours wall (荣誉榜), by year.
NOMINATION_WALL_HEAD = "🏆 {year}年荣誉榜"
NOMINATION_WALL_TITLE = "【{title}】"
NOMINATION_WALL_LINE = "  {name}（{unit}）"
NOMINATION_WALL_EMPTY = "荣誉榜上还没有记录。"
NOMINATION_WALL_YEAR_BUTTON = "{year}年"

# /me: the officer's own retreats and honours.
PROFILE_RETREATS = "\n🏖 我的疗休养：{items}"
PROFILE_RETREAT_ITEM = "{year}年{place}（{first}—{last}）"
PROFILE_HONOURS = "\n🏅 我的荣誉：{items}"
PROFILE_HONOUR_ITEM = "{year}年{title}"

# --- member services: medical mutual aid (issue 13, item 1) ---

MENU_MUTUAL_AID = "🩺 医疗互助"
COMMAND_MUTUAL_AID = "医疗互助：参保、理赔与统计"
MUTUAL_AID_NOT_ORGANIZER = "只有工会干部可以管理医疗互助。"
MUTUAL_AID_COVERS = {"all": "全体会员", "women": "女会员"}
MUTUAL_AID_STATUS = {"submitted": "待处理", "paid": "已赔付", "refused": "不予赔付"}

# /mutualaid: the year's figures.
MUTUAL_AID_YEAR_HEAD = "🩺 {year}年医疗互助"
MUTUAL_AID_YEAR_SCHEME = (
    "【{name}】参保 {enrolled} 人\n"
    "  理赔：待处理 {submitted} · 已赔付 {paid}（¥{paid_total}） · 不予赔付 {refused}"
)
MUTUAL_AID_YEAR_TOTAL = "合计赔付 ¥{total}"
MUTUAL_AID_NO_SCHEMES = "政策中没有{year}年的医疗互助项目。"
MUTUAL_AID_YEAR_BUTTON = "{year}年"
MUTUAL_AID_YEAR_CURRENT = "· {year}年 ·"
MUTUAL_AID_SCHEME_BUTTON = "👥 {name}"
MUTUAL_AID_CLAIM_BUTTON = "📝 登记理赔"
MUTUAL_AID_PENDING_BUTTON = "📋 待处理理赔（{count}）"
MUTUAL_AID_EXPORT_BUTTON = "📥 导出 XLSX"
MUTUAL_AID_BACK_BUTTON = "◀ 返回"

# One scheme's panel.
MUTUAL_AID_SCHEME = (
    "【{name}】{year}年\n覆盖：{covers}\n给付：{pays}\n理赔材料：{documents}\n参保 {enrolled} 人"
)
MUTUAL_AID_ADD_BUTTON = "➕ 加入"
MUTUAL_AID_REMOVE_BUTTON = "➖ 移出"
MUTUAL_AID_SCHEME_GONE = "政策中已没有这个项目。"

# Adding or removing a member by hand.
MUTUAL_AID_ASK_ADD = "要把谁加入{year}年「{scheme}」？请发送警号（全角数字也可以）。"
MUTUAL_AID_ASK_REMOVE = "要把谁移出{year}年「{scheme}」？请发送警号（全角数字也可以）。"
MUTUAL_AID_BAD_POLICE_ID = "「{typed}」不是警号（4至12位字母或数字），请重新发送。"
MUTUAL_AID_NO_OFFICER = "名册中没有警号 {police_id}，请核对后重新发送。"
MUTUAL_AID_LEFT = "{name}（{police_id}）已不在会员名册中，不能加入。"
MUTUAL_AID_NOT_COVERED = "{name}（{police_id}）不在「{scheme}」的覆盖范围（{covers}），不能加入。"
MUTUAL_AID_ADDED = "✅ 已将{name}（{police_id}）加入{year}年「{scheme}」。"
MUTUAL_AID_ALREADY_IN = "{name}（{police_id}）已在{year}年「{scheme}」中。"
MUTUAL_AID_ASK_REASON = "请简要说明移出{name}（{police_id}）的原因（仅工会干部可见，加密保存）："
MUTUAL_AID_REMOVED = (
    "✅ 已将{name}（{police_id}）移出{year}年「{scheme}」，以后的参保登记不会再加入。"
)
MUTUAL_AID_ALREADY_OUT = "{name}（{police_id}）已被移出{year}年「{scheme}」。"

# Recording a claim.
MUTUAL_AID_ASK_OFFICER = "登记{year}年理赔：请发送会员的警号或姓名（全角数字也可以）。"
MUTUAL_AID_NOT_FOUND = "没有找到「{typed}」，请发送警号或完整姓名。"
MUTUAL_AID_TOO_MANY = "叫「{typed}」的会员超过{limit}位，请发送警号或完整姓名。"
MUTUAL_AID_PICK = "有{count}位会员叫「{typed}」，请选择："
MUTUAL_AID_PICK_BUTTON = "{name}（{unit}，{police_id}）"
MUTUAL_AID_ASK_SCHEME = "会员：{who}\n请选择理赔项目："
MUTUAL_AID_NOT_ENROLLED = "{name}未参加{year}年「{scheme}」，不能登记这个项目的理赔。"
MUTUAL_AID_ASK_DATE = (
    "会员：{who}\n项目：{scheme}\n材料是哪天交的？点按钮，或发送日期（如 12月5日）。"
)
MUTUAL_AID_DATE_TODAY = "今天"
MUTUAL_AID_DATE_YESTERDAY = "昨天"
MUTUAL_AID_BAD_DATE = "没看懂「{typed}」这个日期，请发送如 2026-12-05 或 12月5日。"
MUTUAL_AID_ASK_NOTE = "可以补充一句备注（仅工会干部可见，加密保存），或点「跳过」。"
MUTUAL_AID_SKIP_BUTTON = "跳过"
MUTUAL_AID_PREVIEW = (
    "请核对理赔登记：\n会员：{who}\n项目：{year}年「{scheme}」\n申请日期：{date}\n备注：{note}"
)
MUTUAL_AID_NO_NOTE = "无"
MUTUAL_AID_RECORD_BUTTON = "✅ 登记"
MUTUAL_AID_CANCEL_BUTTON = "❌ 取消"
MUTUAL_AID_RECORDED = "✅ 已登记理赔 #{id}：{name}，{year}年「{scheme}」。{told}"
MUTUAL_AID_TOLD = "已通知本人。"
MUTUAL_AID_NOT_TOLD = "本人暂时无法收到消息，请另行告知。"
MUTUAL_AID_USE_BUTTONS = "请点选上面的按钮。"
MUTUAL_AID_TEXT_ONLY = "请发送文字。"

# Deciding a claim.
MUTUAL_AID_PENDING_HEAD = "📋 {year}年待处理理赔（{count}）："
MUTUAL_AID_PENDING_NONE = "{year}年没有待处理的理赔。"
MUTUAL_AID_PENDING_LINE = "#{id} {name} · {scheme} · {date}"
MUTUAL_AID_CLAIM_CARD = (
    "理赔 #{id}\n会员：{who}\n项目：{year}年「{scheme}」\n申请日期：{date}\n"
    "状态：{status}\n备注：{note}"
)
MUTUAL_AID_PAY_BUTTON = "💰 已赔付"
MUTUAL_AID_REFUSE_BUTTON = "🚫 不予赔付"
MUTUAL_AID_ASK_AMOUNT = (
    "理赔 #{id}（{name}，{scheme}）赔付了多少元？请发送整数金额（最高 {cap} 元）。"
)
MUTUAL_AID_AMOUNT_PROBLEMS = {
    "not_a_number": "请发送金额数字，如 3200。",
    "negative": "金额不能是负数。",
    "zero": "金额要大于 0 元。",
    "fraction": "请按整数元填写，不写角分。",
    "over_cap": "金额超过每笔理赔最高 {cap} 元，请核对。",
}
MUTUAL_AID_PAY_PREVIEW = "确认理赔 #{id}：赔付{name}「{scheme}」¥{amount}？"
MUTUAL_AID_PAY_CONFIRM = "✅ 确认赔付"
MUTUAL_AID_ASK_REFUSAL = "请说明理赔 #{id}（{name}）不予赔付的原因（会告知本人，加密保存）："
MUTUAL_AID_TEXT_PROBLEMS = {
    "empty": "内容不能为空，请重新发送。",
    "too_long": "请控制在 {limit} 字以内。",
    "future": "日期不能晚于今天。",
    "before_year": "这笔理赔属于{year}年，日期不能早于{year}年。",
}
MUTUAL_AID_PAID = "✅ 理赔 #{id} 已记为赔付 ¥{amount}。{told}"
MUTUAL_AID_REFUSED = "✅ 理赔 #{id} 已记为不予赔付。{told}"
MUTUAL_AID_ALREADY_DECIDED = "这笔理赔已经处理过了（{status}）。"
MUTUAL_AID_CLAIM_GONE = "这笔理赔已不存在。"

# What the member is told (privately, after the commit).
MUTUAL_AID_TOLD_SUBMITTED = (
    "🩺 工会已登记您的医疗互助理赔申请（#{id}，{year}年「{scheme}」），处理后会通知您。"
)
MUTUAL_AID_TOLD_PAID = (
    "🩺 您的医疗互助理赔 #{id}（「{scheme}」）已赔付 ¥{amount}，请留意银行卡到账。"
)
MUTUAL_AID_TOLD_REFUSED = (
    "🩺 您的医疗互助理赔 #{id}（「{scheme}」）未能赔付。原因：{reason}\n如有疑问请联系工会。"
)

# The claim reminder after a reported hospitalization (only to the member concerned).
MUTUAL_AID_REMINDER = (
    "🩺 祝您早日康复！您参加了工会的医疗互助，出院后可以申请理赔：\n{schemes}\n"
    "请把材料交给本单位工会或市局工会，工会登记后会通知您。"
)
MUTUAL_AID_REMINDER_SCHEME = "【{name}】{pays}\n  需要材料：{documents}"

# /me: the cover of this year, one line per scheme.
PROFILE_MUTUAL_AID = "\n🩺 {year}年医疗互助：{name}"

# The finance export: no notes, no reasons (health).
MUTUAL_AID_EXPORT_CAPTION = "{year}年医疗互助：理赔 {claims} 笔，参保 {members} 人次。"
MUTUAL_AID_EXPORT_CLAIMS_SHEET = "理赔"
MUTUAL_AID_EXPORT_CLAIMS = (
    "编号",
    "年度",
    "项目",
    "警号",
    "姓名",
    "单位",
    "申请日期",
    "状态",
    "赔付金额（元）",
    "处理时间",
)
MUTUAL_AID_EXPORT_MEMBERS_SHEET = "参保名单"
MUTUAL_AID_EXPORT_MEMBERS = ("年度", "项目", "警号", "姓名", "单位", "加入方式")
MUTUAL_AID_SOURCES = {"run": "统一登记", "hand": "手工加入"}

# --- member services: charity (issue 13, item 2) ---

MENU_CHARITY = "💝 慈善募捐"
CHARITY_NOT_ORGANIZER = "只有工会干部可以发起募捐、登记缴款和导出名单。"

# Opening a campaign (/charity 新建, ➕ 新建募捐): organizers only.
CHARITY_ASK_NAME = "💝 新建募捐\n请输入募捐名称（不超过 60 字），如「慈善天天一捐」："
CHARITY_ASK_YEAR = "募捐年度？请选择，或输入年份："
CHARITY_YEAR_BUTTON = "{year}年"
CHARITY_ASK_TARGET = "募捐目标是多少元？请输入金额，如 300000 或 30万："
CHARITY_ASK_SUGGESTED = (
    "认捐时给会员的建议金额：按「使用默认」，或输入 1–6 个金额（元），用空格隔开，如 20 50 100："
)
CHARITY_SUGGESTED_DEFAULT_BUTTON = "使用默认 {amounts}"
CHARITY_ASK_AUDIENCE = "这次募捐面向谁？"
CHARITY_AUDIENCE_BUTTONS = (("everyone", "全体会员"), ("unit", "某个单位"))
CHARITY_EVERYONE = "全体会员"
CHARITY_ASK_UNIT = "请选择单位："
CHARITY_NO_UNITS = "名册里还没有单位。"
CHARITY_ASK_END = "认捐截止日期？按「不设截止」，或输入日期（如 12月31日、2026-12-31）："
CHARITY_NO_END_BUTTON = "不设截止"
CHARITY_REPEAT_STEP = "请按下方按钮选择。"
CHARITY_TEXT_ONLY = "请输入文字。"
CHARITY_PREVIEW = (
    "💝 募捐预览（会员将收到如下通知）\n\n{card}\n\n将通知 {count} 位会员，确认发布吗？"
)
CHARITY_PUBLISH_BUTTON = "✅ 发布"
CHARITY_CANCEL_BUTTON = "取消"
CHARITY_PUBLISHED = "✅ 募捐 #{id} 已发布，正在通知 {count} 位会员。"
CHARITY_PUBLISHED_NOBODY = "✅ 募捐 #{id} 已发布，但对象中暂无已绑定的会员。"
CHARITY_END_PASSED = "认捐截止日期已经过去，请重新选择。"

# The announcement (the broadcast engine) and the campaign's card.
CHARITY_ANNOUNCEMENT = (
    "💝 慈善募捐：{name}（{year}年）\n"
    "目标 {target}，面向{audience}。\n"
    "建议金额：{suggested}，也可以按「每天 X 元 × N 天」认捐。\n"
    "{ends}\n"
    "捐款自愿。您的金额只有您本人和工会经办人看得到，各单位只公布合计。\n"
    "按「🙏 我要认捐」即可认捐，发送 /charity 查看进度。"
)
CHARITY_ENDS_ON = "认捐截止：{day}。"
CHARITY_NO_END = "认捐不设截止日期。"
CHARITY_PLEDGE_BUTTON = "🙏 我要认捐"
CHARITY_MINE_BUTTON = "📒 我的认捐"
CHARITY_CARD = (
    "💝 {name}（{year}年）{status}\n"
    "对象：{audience}｜{ends}\n"
    "目标：{target}\n"
    "已筹：{paid}（{share}），{givers} 人捐款\n"
    "已认捐：{pledged}（{pledgers} 人）"
)
CHARITY_CARD_UNITS = "\n\n各单位已筹："
CHARITY_CARD_UNIT = "\n· {unit}：{paid}（{givers} 人）"
CHARITY_CARD_OTHER_UNITS = "\n· 其他单位合计：{paid}（{givers} 人）"
CHARITY_CARD_UNITS_NOTE = "\n（捐款不足 3 人的单位合并列出，不公布个人金额）"
CHARITY_CARD_YOURS = "\n\n您的认捐：{pledged}｜已登记缴款：{paid}"
CHARITY_STATUS_CLOSED = "【已结束】"
CHARITY_STATUS_ENDED = "【认捐已截止】"
CHARITY_NOT_FOR_YOU = "这次募捐不面向您所在的单位。"
CHARITY_GONE = "这次募捐已不存在。"
CHARITY_CLOSED = "这次募捐已经结束，不再接受认捐和登记。"
CHARITY_ENDED = "这次募捐的认捐已经截止。"

# /charity: open campaigns with progress; organizers manage.
CHARITY_LIST_MINE = "💝 进行中的募捐："
CHARITY_NONE_OPEN = "目前没有进行中的募捐。"
CHARITY_LIST_ORGANIZER = "💝 募捐管理（点选募捐登记缴款、导入、导出或结束）："
CHARITY_LIST_EMPTY = "还没有募捐。"
CHARITY_LIST_LINE = (
    "{mark} #{id} {name}（{year}年）｜已筹 {paid} / {target}（{share}），{givers} 人"
)
CHARITY_OPEN_MARK = "🟢"
CHARITY_ENDED_MARK = "⚪"
CHARITY_CAMPAIGN_BUTTON = "💝 {name}"
CHARITY_NEW_BUTTON = "➕ 新建募捐"
CHARITY_RECORD_BUTTON = "✍️ 登记缴款"
CHARITY_IMPORT_BUTTON = "📤 导入缴款"
CHARITY_EXPORT_BUTTON = "📥 导出 XLSX"
CHARITY_CLOSE_BUTTON = "⏹ 结束募捐"
CHARITY_LIST_BUTTON = "◀ 募捐列表"
CHARITY_CLOSE_ASK = "确定结束「{name}」吗？结束后不再接受认捐和缴款登记。"
CHARITY_CLOSE_YES = "⏹ 确定结束"
CHARITY_CLOSE_NO = "返回"
CHARITY_CLOSED_DONE = "⏹ 募捐「{name}」已结束：共筹得 {paid}，{givers} 人捐款。"
CHARITY_ALREADY_CLOSED = "这次募捐已经结束。"

# Pledging (🙏 我要认捐).
CHARITY_ASK_AMOUNT = "🙏 为「{name}」认捐\n请选择金额，或直接输入金额（元）："
CHARITY_REPLACES_NOTE = "\n您已认捐 {amount}，再次认捐将替换原来的认捐。"
CHARITY_AMOUNT_BUTTON = "{amount}"
CHARITY_DAILY_BUTTON = "📅 每天 X 元 × N 天"
CHARITY_ASK_DAILY = "每天捐多少元？请选择，或输入金额："
CHARITY_DAILY_AMOUNT_BUTTON = "每天 {amount}"
CHARITY_ASK_DAYS = "每天 {daily}，捐多少天？请选择，或输入天数（1–366）："
CHARITY_DAYS_BUTTON = "{days} 天"
CHARITY_DAILY_SUM = "（每天 {daily} × {days} 天）"
CHARITY_CONFIRM = "请确认您的认捐：\n「{name}」{amount}{daily}{replaces}"
CHARITY_CONFIRM_REPLACES = "\n将替换您之前的认捐 {amount}。"
CHARITY_CONFIRM_BUTTON = "✅ 确认认捐"
CHARITY_PLEDGED = (
    "✅ 已认捐 {amount}，感谢您的爱心！\n缴款经工会登记后，可在 /charity →「我的认捐」查看。"
)
CHARITY_PLEDGE_REPLACED = "✅ 已将您的认捐改为 {amount}，感谢您的爱心！"
CHARITY_PLEDGE_CHANGED = "您的认捐刚刚有了变化，请重新按「我要认捐」。"
CHARITY_USE_BUTTONS = "请按下方按钮，或输入金额。"

# 我的认捐: the officer's own pledges and what was recorded as paid.
CHARITY_MINE_HEAD = "📒 我的认捐与缴款："
CHARITY_MINE_NONE = "您还没有认捐或缴款记录。"
CHARITY_MINE_ITEM = "\n\n「{name}」（{year}年）\n  认捐：{pledged}\n  已缴：{paid}{payments}"
CHARITY_MINE_PAYMENT = "\n    {day} {amount}"
CHARITY_MINE_NO_PLEDGE = "未认捐"

# Recording payments one by one (organizers).
CHARITY_ASK_WHO = "✍️ 登记「{name}」的缴款\n请输入缴款人的警号或姓名："
CHARITY_NOBODY_FOUND = "名册里没有找到「{text}」，请输入警号或姓名。"
CHARITY_PICK_OFFICER = "有 {count} 位同名会员，请选择："
CHARITY_OFFICER_LABEL = "{name}（{police_id}，{unit}）"
CHARITY_ASK_PAID = "{officer}\n缴款金额（元）？请输入金额："
CHARITY_ASK_PAID_PLEDGED = "{officer}\n已认捐 {pledged}。缴款金额（元）？请输入，或按认捐金额登记："
CHARITY_PAID_PLEDGED_BUTTON = "按认捐 {amount}"
CHARITY_ASK_DAY = "缴款日期？请选择，或输入日期（如 12月5日）："
CHARITY_DAY_BUTTONS = ((1, "今天"), (2, "昨天"))
CHARITY_RECORD_CONFIRM = "请确认登记：\n{officer}\n金额：{amount}\n日期：{day}"
CHARITY_RECORD_CONFIRM_BUTTON = "✅ 确认登记"
CHARITY_RECORDED = "✅ 已登记：{officer} {amount}（{day}）。"
CHARITY_RECORD_MORE_BUTTON = "✍️ 继续登记"
CHARITY_BACK_BUTTON = "◀ 返回募捐"
CHARITY_RECEIPT = "💝 工会已登记您为「{name}」的捐款 {amount}（{day}），感谢您的爱心！"

# Importing payments from a file (organizers).
CHARITY_ASK_FILE = (
    "📤 导入「{name}」的缴款\n"
    "请以文件形式发送 XLSX 或 CSV。第一行为表头：police_id（警号）、amount（金额，元）、"
    "date（日期），可另有 name（姓名）一列。\n"
    "有错误的行会逐行列出；全部正确才会导入。"
)
CHARITY_SEND_FILE = "请以文件形式发送 XLSX 或 CSV 缴款表。"
CHARITY_IMPORTED = "✅ 已导入 {count} 笔缴款，共 {amount}。"
CHARITY_IMPORT_ALREADY = "\n另有 {count} 行此前已登记，未重复计入。"
CHARITY_IMPORT_SKIPPED = "\n跳过了 {count} 行有错误的行。"
CHARITY_IMPORT_REFUSED = "❌ 没有导入：{rows} 行中有 {bad} 行有错误。\n{errors}"
CHARITY_IMPORT_FIX = "\n\n请修改后重新发送文件。"
CHARITY_IMPORT_OR_SKIP = "\n\n请修改后重新发送文件，或只导入正确的 {good} 行。"
CHARITY_IMPORT_SKIP_BUTTON = "只导入正确的 {good} 行"
CHARITY_LINE_ERROR = "第 {line} 行{who}：{reason}"
CHARITY_LINE_WHO = "（{police_id}）"
CHARITY_MORE_ERRORS = "\n…另有 {count} 处错误。"
CHARITY_FILE_GONE = "文件无法再次读取，请重新发送。"
CHARITY_FILE_PROBLEMS = {
    "not_a_table": "只能导入 .xlsx 或 .csv 文件。",
    "too_big": "文件太大（超过 5 MB），请拆分后分批导入。",
    "unreadable": "文件无法读取：请另存为 .xlsx，或 UTF-8 编码的 .csv。",
    "no_header": "文件是空的：第一行应为表头 police_id、amount、date。",
    "missing_columns": "表头缺少列：{detail}（需要 police_id、amount、date）。",
    "unknown_columns": "表头有无法识别的列：{detail}（只能有 police_id、amount、date、name）。",
    "repeated_column": "表头中「{detail}」出现了两次。",
    "blank_column": "表头第 {detail} 列没有名称。",
    "too_many_rows": "文件超过 20000 行，请拆分后分批导入。",
    "no_rows": "文件里只有表头，没有缴款记录。",
}

# Why a typed value or a file's line is refused.
CHARITY_PROBLEMS = {
    "empty": "内容不能为空，请重新输入。",
    "name_too_long": "名称不能超过 60 字，请精简后重新输入。",
    "not_a_number": "金额请输入数字（元），如 100。",
    "not_whole": "金额请以元为单位，输入整数。",
    "not_positive": "金额必须大于 0。",
    "over_cap": "单笔金额不能超过 {cap}，请核对后重新输入。",
    "target_over_cap": "募捐目标不能超过 ¥100,000,000。",
    "bad_year": "年度请输入去年、今年或明年的年份，如 2026。",
    "bad_date": "没看懂这个日期，请写成 12月31日 或 2026-12-31。",
    "end_past": "截止日期已经过去，请输入今天或以后的日期。",
    "end_too_far": "截止日期不能超过两年后。",
    "bad_days": "天数请输入 1–366 之间的整数。",
    "too_many_suggested": "建议金额最多 6 个。",
    "police_id_empty": "缺少警号",
    "bad_police_id": "警号应为 4–12 位字母或数字",
    "unknown_officer": "名册中没有这个警号",
    "amount_empty": "缺少金额",
    "date_empty": "缺少日期",
    "date_future": "缴款日期不能晚于今天",
    "date_too_old": "缴款日期早于募捐年度的上一年",
    "duplicate_line": "与第 {other} 行完全相同",
    "extra_cells": "单元格比表头多",
}
# In a file's line the amount problems read without "请重新输入".
CHARITY_LINE_AMOUNT_PROBLEMS = {
    "not_a_number": "金额不是数字",
    "not_whole": "金额应为整数（元）",
    "not_positive": "金额必须大于 0",
    "over_cap": "金额超过单笔上限 {cap}",
    "bad_date": "日期无法识别",
}

# The organizers' XLSX: one row per officer who pledged or paid.
CHARITY_EXPORT_SHEET = "慈善募捐"
CHARITY_EXPORT_COLUMNS = (
    "警号",
    "姓名",
    "单位",
    "认捐（元）",
    "每天（元）",
    "天数",
    "已缴（元）",
    "缴款笔数",
    "最近缴款日期",
)
CHARITY_EXPORT_CAPTION = "📥 「{name}」（#{id}）认捐与缴款名单，共 {count} 人。仅供工会经办使用。"

# --- member services: distributions (issue 13, item 4) ---

MENU_DISTRIBUTIONS = "📦 物资发放"
DIST_NOT_ORGANIZER = "只有工会干部可以发起和管理物资发放。"
DIST_NOT_CONTACT = "只有基层工会联络员或工会干部可以确认单位收货。"
DIST_NOT_YOUR_UNIT = "您不是{unit}的联络员，不能替该单位确认。"
DIST_UNIT_HAS_CONTACT = "{unit}有联络员，请由联络员确认收货。"
DIST_TEXT_ONLY = "请输入文字。"
DIST_REPEAT_STEP = "请按下方按钮选择。"

# Creating a distribution (/distribution, /distributions 新建): organizers only.
DIST_ASK_ITEM = "📦 新建物资发放\n请输入物品名称（如 口罩、中秋消费券），不超过 30 字。"
DIST_ASK_MODE = (
    "「{item}」怎么发放？\n按单位：整批发到各单位，由联络员确认收货。\n"
    "按人：每人一份，由本人确认领取。"
)
DIST_MODE_UNIT_BUTTON = "📦 按单位发放"
DIST_MODE_OFFICER_BUTTON = "🎫 按人发放（每人一份）"
DIST_MODE_UNIT_LINE = "按单位发放"
DIST_MODE_OFFICER_LINE = "按人发放，每人 {each} 份"
DIST_ASK_QUANTITY = "请输入总数量（份），如 10000。"
DIST_ASK_EACH = "每人发几份？请输入数字，或按下方按钮。"
DIST_EACH_ONE_BUTTON = "每人 1 份"
DIST_ASK_AUDIENCE = "发给哪些会员？"
DIST_AUDIENCE_BUTTONS = (
    ("everyone", "全体会员"),
    ("unit", "某个单位"),
    ("women", "仅女警"),
    ("men", "仅男警"),
)
DIST_AUDIENCE_NAMES = {"everyone": "全体会员", "women": "女警", "men": "男警"}
DIST_ASK_UNIT = "请选择单位："
DIST_NO_UNITS = "名册里还没有单位。"
DIST_ALLOCATION = (
    "「{item}」共 {quantity} 份，按在册人数分配到各单位：\n{lines}\n{status}\n"
    "点单位可修改份数；确认无误请按「✅ 分配无误」。"
)
DIST_ALLOCATION_LINE = "· {unit}：{share} 份（{officers} 人）"
DIST_ALLOCATION_BALANCED = "合计与总数一致。"
DIST_ALLOCATION_OFF = "⚠️ 目前合计 {total} 份，与总数 {quantity} 份不符。"
DIST_EDIT_UNIT_BUTTON = "✏️ {unit} {share}"
DIST_ALLOCATION_OK_BUTTON = "✅ 分配无误"
DIST_ASK_UNIT_SHARE = (
    "{unit}现为 {share} 份（按人数比例为 {proposed} 份；"
    "要使合计为 {quantity} 份，应为 {left} 份）。\n请输入新的份数，或按下方按钮。"
)
DIST_SET_PROPOSED_BUTTON = "按比例 {share}"
DIST_SET_LEFT_BUTTON = "补足合计 {share}"
DIST_SET_ZERO_BUTTON = "0（不发）"
DIST_SUM_MISMATCH = "各单位合计 {total} 份，与总数 {quantity} 份不符，请调整后再确认。"
DIST_ASK_NOTE = "请输入领取说明（如 领取地点、时间），不超过 200 字；没有可按「跳过」。"
DIST_SKIP_NOTE_BUTTON = "跳过"
DIST_NOTE_LINE = "领取说明：{note}\n"
DIST_PREVIEW = (
    "发放预览\n\n📦 {item}\n方式：{mode}\n对象：{audience}\n合计：{total} 份\n{lines}\n{note}\n"
    "{reach}\n确认发布吗？"
)
DIST_PREVIEW_LINE = "· {unit}：{share} 份"
DIST_REACH_OFFICERS = "将通知 {count} 位会员（在册 {officers} 人，未绑定的不会收到消息）。"
DIST_REACH_CONTACTS = "将通知 {units} 个单位的 {people} 位联络员。"
DIST_REACH_NO_CONTACT = "暂无联络员的单位：{units}（由工会干部在 /distributions 代为确认）。"
DIST_PUBLISH_BUTTON = "✅ 发布"
DIST_DISCARD_BUTTON = "取消"
DIST_PUBLISHED = "发放 #{id} 已发布，正在通知 {count} 人。可发送 /distributions 查看进度。"
DIST_PROBLEMS = {
    "empty": "内容不能为空。",
    "item_too_long": "物品名称不能超过 30 字。",
    "note_too_long": "领取说明不能超过 200 字。",
    "not_a_number": "请输入一个整数，如 100。",
    "zero": "数量至少为 1。",
    "too_many": "数量不能超过 {max} 份，请核对。",
    "nobody": "这个范围内没有在册会员，请重新选择。",
    "sum_mismatch": "各单位合计 {total} 份，与总数 {quantity} 份不符。",
    "over_allocated": "不能超过 {quantity} 份。",
}

# The notices (the broadcast engine) and confirming.
DIST_UNIT_NOTICE = (
    "📦 工会物资发放：{item}\n您联络的单位分到：\n{lines}\n{note}收到后请按下方按钮确认。"
)
DIST_UNIT_NOTICE_SHORT = "📦 工会物资发放：{item}。收到后请按下方按钮确认。"
DIST_OFFICER_NOTICE = "🎁 工会发放：{item}，每人 {each} 份。\n{note}领取后请按「✅ 已领取」确认。"
DIST_COLLECT_BUTTON = "✅ 已领取"
DIST_UNITS_BUTTON = "📦 确认收到"
DIST_COLLECTED = "✅ 已确认领取「{item}」，谢谢！"
DIST_ALREADY_COLLECTED = "您已经确认领取过了。"
DIST_CLOSED = "这次发放已结束。"
DIST_NOT_FOR_YOU = "这次发放不面向您。"
DIST_GONE = "这次发放已不存在。"
DIST_NO_UNITS_OF_YOURS = "这次发放没有您联络的单位。"
DIST_CONTACT_HEAD = "📦 {item}\n{note}"
DIST_UNIT_WAITING = "· {unit}：分配 {share} 份，待确认"
DIST_UNIT_CONFIRMED = "· {unit}：分配 {share} 份，已收到 {received} 份（{when}）"
DIST_UNIT_COLLECTED = "· {unit}：已领取 {done} / {total} 人"
DIST_NOT_COLLECTED_HEAD = "尚未领取："
DIST_WAITING_UNIT = "【{unit}】"
DIST_WAITING_OFFICER = "  {name}（{police_id}）"
DIST_ALL_COLLECTED = "全部已领取。"
DIST_ALL_CONFIRMED = "各单位均已确认收到。"
DIST_FULL_BUTTON = "✅ {unit} 已收到 {share} 份"
DIST_PARTIAL_BUTTON = "部分收到：{unit}"
DIST_ALREADY_CONFIRMED = "{unit}已经确认过收货了。"
DIST_RECEIVED_FULL = "✅ 已确认：{unit}收到「{item}」{received} 份，谢谢！"
DIST_RECEIVED_PARTIAL = (
    "已记录：{unit}收到「{item}」{received} 份（分配 {share} 份），工会干部会跟进。"
)
DIST_ASK_RECEIVED = "{unit}实际收到「{item}」多少份？（分配 {share} 份）请输入数字。"

# /distributions: officers, contacts, organizers.
DIST_MINE_HEAD = "待领取的物资："
DIST_MINE_LINE = "· {item}（每人 {each} 份）\n{note}"
DIST_COLLECT_ITEM_BUTTON = "✅ 已领取：{item}"
DIST_CONTACT_LIST = "您联络的单位有物资待确认或待领取："
DIST_CONTACT_ITEM_BUTTON = "📦 {item}"
DIST_NOTHING = "目前没有需要您领取或确认的物资。"
DIST_LIST_HEAD = "物资发放"
DIST_LIST_EMPTY = "还没有物资发放。"
DIST_LIST_LINE = "{mark} #{id} {item}：{progress}"
DIST_OPEN_MARK = "🟢"
DIST_CLOSED_MARK = "⚪"
DIST_NEW_BUTTON = "➕ 新建发放"
DIST_PROGRESS_UNITS = "单位已确认 {done} / {total}，已收到 {received} / {allocated} 份"
DIST_PROGRESS_OFFICERS = "已领取 {done} / {total} 人"
DIST_CARD = (
    "📦 #{id} {item}\n方式：{mode}\n对象：{audience}\n合计：{quantity} 份\n{note}发布：{published}"
)
DIST_PANEL = "{card}\n状态：{status}\n进度：{progress}\n{reminded}"
DIST_STATUS_OPEN = "发放中"
DIST_STATUS_CLOSED = "已结束"
DIST_REMINDED_AT = "已于 {when} 提醒过一次。"
DIST_OUTSTANDING_BUTTON = "📋 未完成名单"
DIST_EXPORT_BUTTON = "📥 导出 XLSX"
DIST_REMIND_BUTTON = "🔔 提醒未领取"
DIST_CLOSE_BUTTON = "⏹ 结束发放"
DIST_LIST_BUTTON = "« 返回列表"
DIST_OUTSTANDING_HEAD = "#{id} {item} 未完成："
DIST_NO_CONTACT_MARK = "（无联络员）"
DIST_ALREADY_REMINDED = "已经提醒过一次了。"
DIST_NOBODY_TO_REMIND = "没有需要提醒的人：都已确认，或未确认的单位暂无联络员。"
DIST_REMINDED = "已提醒 {count} 人确认「{item}」。"
DIST_REMINDER_OFFICER = (
    "⏰ 提醒：工会发放的「{item}」您还没有确认领取。\n{note}领取后请按「✅ 已领取」。"
)
DIST_REMINDER_UNIT = (
    "⏰ 提醒：工会发放的「{item}」，您联络的单位还没有确认收到。\n{note}请按下方按钮确认。"
)
DIST_EXPORT_UNITS_SHEET = "各单位"
DIST_EXPORT_UNITS = ("单位", "分配（份）", "已收到（份）", "确认人警号", "确认时间")
DIST_EXPORT_UNITS_OFFICER = ("单位", "分配（份）", "已领取（人）", "应领取（人）")
DIST_EXPORT_SHARES_SHEET = "个人"
DIST_EXPORT_SHARES = ("警号", "姓名", "单位", "已领取", "领取时间")
DIST_EXPORT_YES = "是"
DIST_EXPORT_NO = "否"
DIST_EXPORT_CAPTION = "发放 #{id} {item}"
DIST_CLOSE_ASK = "确定结束「{item}」的发放吗？结束后不再接受确认。"
DIST_CLOSE_YES = "⏹ 确定结束"
DIST_CLOSE_NO = "返回"
DIST_ALREADY_CLOSED = "这次发放已经结束了。"
DIST_CLOSED_DONE = "「{item}」的发放已结束。"


# --- the year in figures: the monthly digest and my year (issue 16, items 5 and 6) ---
DIGEST_TEXT = (
    "📊 {year}年{month}月 月度简报\n"
    "关怀：{cases} 件，已发放 {paid_cases} 件\n"
    "献血：{donors} 人献血 {donations} 次，{ml} 毫升，血小板 {units} 个治疗量\n"
    "活动：{events} 场，报名 {signed} 人次，到场 {attended} 人次\n"
    "问候：送出 {sent} 条，送达 {reached} 条\n"
    "更多数据请发 /stats。不想收简报，可在 /me 关闭。"
)
DIGEST_CHART_TITLE = "{year}年{month}月 各项工作"
DIGEST_CHART_CARE = "关怀案件"
DIGEST_CHART_DONATIONS = "献血人次"
DIGEST_CHART_SIGNED = "活动报名"
DIGEST_CHART_ATTENDED = "活动到场"
DIGEST_CHART_CLUBS = "俱乐部活动"
DIGEST_CHART_GREETINGS = "问候送达"
DIGEST_CHART_BOOKED = "服务预约"
YEAR_CARD_CAPTION = (
    "🧧 {name}，这是您的 {year} 年暖警账单：\n"
    "收到问候 {greetings} 条\n"
    "{blood}\n"
    "参加活动 {events_signed} 次（到场 {events_attended} 次）\n"
    "俱乐部活动 {club_signed} 次（到场 {club_attended} 次）\n"
    "{care}"
    "{warm}"
)
YEAR_CARD_BLOOD = "献血 {donations} 次，{ml} 毫升，血小板 {units} 个治疗量"
YEAR_CARD_NO_BLOOD = "献血：今年还没有记录"
YEAR_CARD_CARE = "工会关怀：{kinds}\n"
YEAR_CARD_CARE_KIND = "{kind} {count} 次"
YEAR_CARD_WARM = "一年辛苦了！新的一年，工会一直在您身边。"
YEAR_CARD_WARM_DONOR = "您的热血温暖了别人，谢谢您！新的一年，工会一直在您身边。"
YEAR_CARD_TITLE = "{year} 年 · 我的暖警账单"
YEAR_CARD_GREETINGS = "收到问候"
YEAR_CARD_DONATIONS = "献血"
YEAR_CARD_ML = "毫升"
YEAR_CARD_EVENTS = "参加活动"
YEAR_CARD_CLUBS = "俱乐部活动"
YEAR_CARD_TIMES = "{count} 次"
YEAR_CARD_PIECES = "{count} 条"
YEAR_CARD_NONE = "—"
DIGEST_ON = "接收"
DIGEST_OFF = "不接收"
YEAR_CARD_ON = "接收"
YEAR_CARD_OFF = "不接收"
PROFILE_DIGEST_LINE = "\n月度简报：{state}"
PROFILE_YEAR_CARD_LINE = "\n年度暖警账单：{state}"
PROFILE_DIGEST_OFF_BUTTON = "🔕 不收月度简报"
PROFILE_DIGEST_ON_BUTTON = "📊 接收月度简报"
PROFILE_YEAR_CARD_OFF_BUTTON = "🔕 不收年度账单"
PROFILE_YEAR_CARD_ON_BUTTON = "🧧 接收年度账单"
CHART_ATTENDED_OF = "（到场 {count} 次）"
YEAR_CARD_SHORT = "🧧 您的 {year} 年暖警账单"
YEAR_CARD_BLOOD_ROW = "{donations} 次 · {ml} 毫升"
YEAR_CARD_PLATELETS_ROW = " · 血小板 {units} 个治疗量"

# --- review fixes: nominations ---
ROUNDS_ALLOWANCE_BUTTON = "{amount}元"

# --- review fixes: surveys and deaths ---
CASE_DEATH_WITHDRAWN = "🕊 已撤销{name}同志的离世登记，其已恢复为在册民警，可发送 /start 重新绑定。"

# --- review fixes: statistics, charity, report ---
SUMMARY_TOP_PEOPLE = "{name}（{count} 人）"
SUMMARY_TOP_CASES = "{name}（{count} 件）"
SUMMARY_TOP_PIECES = "{name}（{count} 条）"
SUMMARY_TOP_TIMES = "{name}（{count} 人次）"
CHARITY_CARD_OTHER_GIVERS = "\n· 其他单位另有 {givers} 位会员已捐款"

# --- review fixes 2: drives ---
DRIVE_TYPES_CHOSEN = "{types} 型"
DRIVE_CAPACITY_VALUE = "{capacity} 人"
DRIVE_RECORD_CANCELLED = "这场献血活动已经取消，不能再登记了。"
