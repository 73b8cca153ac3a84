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
HELP_ORGANIZER = "\n\n工会干部：\n/requests 审核绑定申请"
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
