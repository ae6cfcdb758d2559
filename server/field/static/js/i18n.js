// The app's words, Chinese first (zh-CN), English on request (the switch in the top
// bar; the choice is kept in localStorage).

const zh = {
  app: "网格走访", all_synced: "✓ 全部已同步", online: "在线", offline: "离线", pending: "待同步 {n} 条",
  nav_home: "首页", nav_households: "住户", nav_hours: "时长", nav_verify: "审核",
  enrol_title: "登记这部手机", enrol_help: "请输入社区发给您的登记码（ENR- 开头），或扫描登记二维码。",
  enrol_code: "登记码", enrol_name: "手机名称", enrol_name_default: "网格员的手机",
  enrol_button: "登记", enrol_scan: "扫描二维码", enrol_scan_stop: "停止扫描",
  enrol_working: "正在登记…", enrol_done: "登记成功", enrol_who: "{name}（{role}）", enrol_id: "{role} · 编号 {id}",
  enrol_grids: "负责网格：{grids}", enrol_start: "开始使用（先同步一次）",
  enrol_offline: "登记需要网络：请连上网络后再试。",
  enrol_bad_code: "登记码无效、已用过或已过期：请找社区管理员要一个新的。",
  role_worker: "网格员", role_volunteer: "志愿者",
  last_sync: "上次同步：{at}", never_synced: "还没有同步过", sync_now: "立即同步",
  syncing: "正在同步…", sync_done: "同步完成：上传 {sent} 条，下载 {pulled} 条",
  sync_pulled: "已下载 {n} 条记录", sync_failed: "同步没有完成：{why}。没有丢失任何记录，稍后再试。",
  sync_offline: "现在没有网络。记录已保存在手机里，有网络时再同步。",
  sync_revoked: "这部手机的登记已被停用：请联系社区管理员。",
  sync_busy: "另一个页面正在同步", records_here: "手机里有 {households} 户、{visits} 次走访",
  refused_n: "⚠ 有 {n} 条没有被接受", refused_title: "没有被接受的记录", refused_copy: "复制内容", refused_delete: "删除这条",
  refused_help: "您填写的内容都还在下面，没有丢。可以复制下来发给社区，不需要了再删除。",
  refused_confirm: "确定删除？删了就找不回了", refused_copied: "已复制，可以粘贴发给社区",
  refused_detail: "技术信息（给社区管理员看）", sync_refused: "同步完成，但有 {n} 条没有被接受：请看首页。",
  status: "状态",
  conflicts_title: "冲突提醒", conflicts_notice: "有 {n} 处修改和别人的修改冲突了",
  conflicts_none: "没有冲突。", conflict_you: "您填的：{v}", conflict_now: "现在是：{v}",
  conflict_kept: "您的修改已生效（别人也改过，社区会核对）",
  conflict_lost: "别人后来改成了别的值，以对方为准（社区会核对）",
  search: "搜索地址或户主姓名", add_household: "新增住户",
  households_count: "共 {n} 户", households_shown: "共 {n} 户，显示前 {m} 户，请输入更多字缩小范围",
  no_households: "没有找到住户", household: "住户", address: "地址", head_name: "户主姓名",
  members: "人数", members_n: "{n} 人", phone: "电话", tags: "标签", notes: "备注", grid: "网格",
  edit: "修改", save: "保存", saved: "已保存，等待同步", cancel: "取消", back: "返回",
  visits: "走访记录", no_visits: "还没有走访记录", record_visit: "记录走访",
  visit_title: "入户走访", outcome: "结果", outcome_met: "见到了", outcome_not_home: "不在家",
  outcome_refused: "拒绝", needs: "需求", hazards: "隐患", add_item: "其他（输入后点添加）",
  add: "添加", location: "记录位置", location_none: "无法取得位置", choose_outcome: "请先选择结果",
  tags_help: "用逗号分开",
  hours_title: "服务时长登记", volunteer: "志愿者", activity: "服务项目", date: "日期", time: "开始时间",
  minutes: "时长（分钟）", choose: "请选择", no_rules: "还没有服务项目：请先同步一次。",
  no_volunteers: "网格里还没有志愿者：请先同步一次。", recent_logs: "最近登记",
  status_recorded: "待审核", status_verified: "已通过", status_rejected: "已退回",
  verify_title: "待审核（四眼审核）", verify_help: "其他网格员登记的服务时长，需要第二个人核实。",
  verify_none: "没有需要您审核的记录。", verify_ok: "通过", verify_reject: "退回",
  recorded_by: "登记人：{who}", points: "{n} 积分", wait_sync: "待同步",
  error_required: "请填写：{what}", error_minutes: "时长请填 1 到 720 分钟",
  err_validation: "内容不符合要求", err_forbidden: "您没有权限做这项修改（不在您的网格，或需要另一位网格员审核）",
  err_unknown_record: "服务器上没有这条记录（可能已被删除）", err_immutable: "这条记录登记后不能再修改",
  err_locked: "这条服务记录已经审核过，不能再改", err_stale: "这条记录已被别人改过：同步后再试",
  err_bad_signature: "签名不对：请重新登记这部手机", err_clock_skew: "手机时间不准：请把时间设为自动后再同步",
  err_id_reused: "编号重复：请重新录入", err_other: "服务器没有接受",
  unit_min: "分钟", verify_step: "审核服务时长（{status}）",
  todo_validation: "请核对后重新录入。", todo_forbidden: "这项不归您办：如有疑问请联系社区。",
  todo_unknown_record: "不用再做什么。", todo_immutable: "不用再做什么；要补充请新记一次走访。",
  todo_locked: "别人已经审核过了，不用再做什么。", todo_stale: "先同步，再看一次这条记录。",
  todo_bad_signature: "请联系社区管理员重新登记这部手机。", todo_clock_skew: "把手机时间设为自动，然后再同步。",
  todo_id_reused: "请重新录入一次。",
  nav_cases: "案件", cases_mine: "指派给我的", cases_to_confirm: "等我确认办结", cases_wishes: "可认领的微心愿",
  cases_open: "网格里待派单的", cases_none: "没有。", cases_waiting: "有 {n} 件案件等您办理",
  case_open: "待派单", case_assigned: "已派单", case_accepted: "办理中", case_done: "已办结",
  case_closed: "已关闭", case_cancelled: "已取消", kind_report: "群众上报", kind_patrol: "巡查发现",
  kind_wish: "微心愿", due: "期限 {at}", case_accept: "接单", case_return: "退回",
  case_done_button: "办结", case_resolution: "办理结果", case_claim: "认领这个微心愿",
  case_confirm_help: "确认已办结，并评价（点星星）：", case_kind: "类型", case_category: "类别",
  case_detail: "详情", case_reporter: "反映人", case_assignee: "承办人", case_due: "期限",
  case_received: "收到时间", case_rating: "评价", case_title: "标题", case_new: "上报问题",
  case_report: "上报问题", no_categories: "还没有案件类别：请先同步一次。",
  sync_first: "先同步一次，才能办理这件案件。",
  ledger_checked: "积分账本已核对到第 {n} 条",
  ledger_problem_title: "服务器的积分账本不对",
  ledger_problem: "服务器现在的账本和这部手机以前核对过的不一致（可能被回退或改写）。记录照常保存，但请马上告诉社区管理员，积分以核对为准。",
  language: "English", loading: "加载中…", not_found: "找不到这条记录",
};

const en = {
  app: "Grid visits", all_synced: "✓ Everything synced", online: "Online", offline: "Offline", pending: "{n} to sync",
  nav_home: "Home", nav_households: "Homes", nav_hours: "Hours", nav_verify: "Verify",
  enrol_title: "Enrol this phone", enrol_help: "Type the enrolment code from your office (it starts with ENR-), or scan the enrolment QR.",
  enrol_code: "Enrolment code", enrol_name: "Phone name", enrol_name_default: "Grid worker's phone",
  enrol_button: "Enrol", enrol_scan: "Scan QR code", enrol_scan_stop: "Stop scanning",
  enrol_working: "Enrolling…", enrol_done: "Enrolled", enrol_who: "{name} ({role})", enrol_id: "{role} · id {id}",
  enrol_grids: "Grids: {grids}", enrol_start: "Start (syncs once first)",
  enrol_offline: "Enrolling needs the network: connect and try again.",
  enrol_bad_code: "This code is unknown, used or expired: ask your office for a new one.",
  role_worker: "grid worker", role_volunteer: "volunteer",
  last_sync: "Last sync: {at}", never_synced: "Not synced yet", sync_now: "Sync now",
  syncing: "Syncing…", sync_done: "Synced: sent {sent}, received {pulled}",
  sync_pulled: "{n} records received", sync_failed: "Sync did not finish: {why}. Nothing was lost; try again later.",
  sync_offline: "No network now. Your records are kept on this phone; sync when you have signal.",
  sync_revoked: "This phone's enrolment was revoked: ask your office.",
  sync_busy: "Another tab is syncing", records_here: "On this phone: households {households}, visits {visits}",
  refused_n: "⚠ {n} not accepted", refused_title: "Not accepted", refused_copy: "Copy", refused_delete: "Delete",
  refused_help: "What you typed is still here, nothing is lost. Copy it to send to your office; delete it when no longer needed.",
  refused_confirm: "Delete for good?", refused_copied: "Copied: paste it to your office",
  refused_detail: "Technical detail (for your office)", sync_refused: "Synced, but {n} not accepted: see Home.",
  status: "Status",
  conflicts_title: "Conflicts", conflicts_notice: "{n} of your edits raced someone else's",
  conflicts_none: "No conflicts.", conflict_you: "You set: {v}", conflict_now: "Now: {v}",
  conflict_kept: "Your edit stands (someone else changed it too; the office will check)",
  conflict_lost: "Someone else's later value stands (the office will check)",
  search: "Search address or head's name", add_household: "Add household",
  households_count: "{n} households", households_shown: "{n} households, first {m} shown: type more to narrow",
  no_households: "No households found", household: "Household", address: "Address", head_name: "Head of household",
  members: "Members", members_n: "{n} people", phone: "Phone", tags: "Tags", notes: "Notes", grid: "Grid",
  edit: "Edit", save: "Save", saved: "Saved, waiting to sync", cancel: "Cancel", back: "Back",
  visits: "Visits", no_visits: "No visits yet", record_visit: "Record a visit",
  visit_title: "Door visit", outcome: "Outcome", outcome_met: "Met", outcome_not_home: "Not home",
  outcome_refused: "Refused", needs: "Needs", hazards: "Hazards", add_item: "Other (type, then Add)",
  add: "Add", location: "Record location", location_none: "Location not available", choose_outcome: "Choose an outcome first",
  tags_help: "separate with commas",
  hours_title: "Service hours", volunteer: "Volunteer", activity: "Activity", date: "Date", time: "Start time",
  minutes: "Minutes", choose: "Choose", no_rules: "No activities yet: sync once first.",
  no_volunteers: "No volunteers in your grids yet: sync once first.", recent_logs: "Recent logs",
  status_recorded: "waiting for a 2nd worker", status_verified: "verified", status_rejected: "rejected",
  verify_title: "To verify (four eyes)", verify_help: "Hours recorded by other workers need a second person.",
  verify_none: "Nothing for you to verify.", verify_ok: "Verify", verify_reject: "Reject",
  recorded_by: "Recorded by {who}", points: "{n} points", wait_sync: "waiting to sync",
  error_required: "Please fill in: {what}", error_minutes: "Minutes: 1 to 720",
  err_validation: "The record is not valid", err_forbidden: "Not allowed (outside your grids, or it needs another worker)",
  err_unknown_record: "The server does not have this record (deleted?)", err_immutable: "This record cannot change once saved",
  err_locked: "This log was already verified or rejected", err_stale: "Someone changed this meanwhile: sync and try again",
  err_bad_signature: "Bad signature: enrol this phone again", err_clock_skew: "The phone's clock is wrong: set it to automatic and sync",
  err_id_reused: "Id used twice: enter it again", err_other: "The server did not accept it",
  unit_min: "min", verify_step: "Check of service hours ({status})",
  todo_validation: "Check it and enter it again.", todo_forbidden: "Not yours to do: ask the office if unsure.",
  todo_unknown_record: "Nothing to do.", todo_immutable: "Nothing to do; record a new visit to add more.",
  todo_locked: "Someone else already checked it: nothing to do.", todo_stale: "Sync, then look at the record again.",
  todo_bad_signature: "Ask the office to enrol this phone again.", todo_clock_skew: "Set the phone's clock to automatic, then sync.",
  todo_id_reused: "Enter it once more.",
  nav_cases: "Cases", cases_mine: "Assigned to me", cases_to_confirm: "Done, waiting for my check",
  cases_wishes: "Wishes to claim", cases_open: "Open in my grids", cases_none: "None.",
  cases_waiting: "{n} case(s) waiting for you",
  case_open: "open", case_assigned: "assigned", case_accepted: "in hand", case_done: "done",
  case_closed: "closed", case_cancelled: "cancelled", kind_report: "resident's report",
  kind_patrol: "found on patrol", kind_wish: "micro-wish", due: "due {at}", case_accept: "Accept",
  case_return: "Hand back", case_done_button: "Mark done", case_resolution: "What was done",
  case_claim: "Claim this wish", case_confirm_help: "Confirm it is done, and rate it (tap the stars):",
  case_kind: "Kind", case_category: "Category", case_detail: "Detail", case_reporter: "Reported by",
  case_assignee: "Assignee", case_due: "Due", case_received: "Received", case_rating: "Rating",
  case_title: "Title", case_new: "Report a problem", case_report: "Report a problem",
  no_categories: "No case categories yet: sync once first.",
  sync_first: "Sync once before acting on this case.",
  ledger_checked: "Points ledger checked up to entry {n}",
  ledger_problem_title: "The server's points ledger is wrong",
  ledger_problem: "The server's ledger does not extend the one this phone checked before (rolled back or rewritten). Your records are still saved, but tell your office now: do not rely on points until it is checked.",
  language: "中文", loading: "Loading…", not_found: "Not found",
};

const tables = { zh, en };
export let lang = localStorage.getItem("field-lang") || "zh";
if (!(lang in tables)) lang = "zh";

export function setLang(value) {
  lang = value in tables ? value : "zh";
  localStorage.setItem("field-lang", lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

export function has(name) {
  return name in zh;
}

export function t(name, vars = {}) {
  const text = tables[lang][name] ?? zh[name] ?? name;
  return text.replace(/\{(\w+)\}/g, (_, v) => String(vars[v] ?? ""));
}

/** A UTC time as the phone's local date and time ("2026-12-06 14:05"). */
export function localTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
