// The interface's words: zh-CN first (the source's own terms), English second.
// Pages add their own strings with addStrings({ "zh-CN": {...}, en: {...} }).

const STRINGS = {
  "zh-CN": {
    "app.name": "人大代表履职服务平台",
    "nav.signOut": "退出",
    "nav.home": "工作台",
    "nav.lang": "English",
    "signIn.title": "登录",
    "signIn.login": "账号",
    "signIn.password": "密码",
    "signIn.submit": "登录",
    "signIn.wrong": "账号或密码错误",
    "signIn.locked": "失败次数过多，请 {s} 秒后再试",
    "signIn.voter": "我是选民：反映问题、查询进度",
    "home.title": "我的工作台",
    "home.pick": "请选择要进入的工作页面",
    "common.loading": "加载中…",
    "common.none": "暂无",
    "common.error": "出错了：{detail}",
    "common.offline": "网络已断开",
    "common.online": "网络已连接",
    "common.submit": "提交",
    "common.cancel": "取消",
    "common.save": "保存",
    "common.more": "更多",
    "common.total": "共 {n} 条",
    "common.prev": "上一页",
    "common.next": "下一页",
    "page.village": "联络站工作台",
    "page.review": "月度研判",
    "page.department": "部门办理",
    "page.leader": "包抓领导",
    "page.deputy": "代表履职",
    "page.hotline": "代表热线",
    "page.oversight": "督查考核",
    "page.admin": "基础信息管理",
    "page.voter": "选民服务",
    "page.reception": "公开接访日",
  },
  en: {
    "app.name": "Deputies' Service Platform",
    "nav.signOut": "Sign out",
    "nav.home": "Home",
    "nav.lang": "中文",
    "signIn.title": "Sign in",
    "signIn.login": "Login",
    "signIn.password": "Password",
    "signIn.submit": "Sign in",
    "signIn.wrong": "Login or password is wrong",
    "signIn.locked": "Too many failed attempts; try again in {s} s",
    "signIn.voter": "I am a voter: raise a problem or follow one",
    "home.title": "My workspace",
    "home.pick": "Choose where to work",
    "common.loading": "Loading…",
    "common.none": "None",
    "common.error": "Something went wrong: {detail}",
    "common.offline": "Offline",
    "common.online": "Back online",
    "common.submit": "Submit",
    "common.cancel": "Cancel",
    "common.save": "Save",
    "common.more": "More",
    "common.total": "{n} in all",
    "common.prev": "Previous",
    "common.next": "Next",
    "page.village": "Station desk",
    "page.review": "Monthly review",
    "page.department": "Department referrals",
    "page.leader": "Leader in charge",
    "page.deputy": "Deputy",
    "page.hotline": "Deputies' hotline",
    "page.oversight": "Oversight",
    "page.admin": "Registry administration",
    "page.voter": "For voters",
    "page.reception": "Reception day",
  },
};

// Value labels: the platform's codes in each locale.
const LABELS = {
  "zh-CN": {
    tier: { city: "市", district: "区", town: "镇(街道)", village: "村(社区)" },
    kind: { problem: "问题", opinion: "意见", suggestion: "建议" },
    channel: { reception: "接访", visit: "走访", hotline: "代表热线", online: "网络平台", window: "窗口", program: "节目" },
    state: {
      received: "已受理", pending_review: "待研判", resolved_on_spot: "立即解决", assigned: "已交办",
      in_progress: "办理中", completed: "已办结", fed_back: "已反馈", rated: "已评价", closed: "已销号", merged: "已合并",
    },
    satisfaction: { satisfied: "满意", basically_satisfied: "基本满意", dissatisfied: "不满意" },
    category: {
      serious_illness_aid: "大病救助", medical_insurance: "医疗保险", water_supply: "饮水安全",
      roads_and_landslides: "道路及滑坡", sanitation: "环境卫生", neighbour_disputes: "邻里纠纷",
      hardship: "生活困难", industry_loans: "产业贷款", schooling: "上学就读", employment: "务工就业", other: "其他",
    },
    decision: { resolve: "解决", assign: "交办", escalate: "上报", merge: "合并" },
    role: {
      station_liaison: "联络员", station_head: "站长", town_staff: "镇人大办", district_staff: "人代工委",
      handler: "承办单位", deputy: "人大代表", leader: "包抓领导", oversight: "督查室", admin: "管理员",
    },
    unable: {
      no_funds: "资金不足", no_project: "无项目支撑", outside_remit: "不属本单位职责", needs_higher_tier: "需上级解决",
      policy_limit: "政策限制", other: "其他",
    },
  },
  en: {
    tier: { city: "City", district: "District", town: "Town", village: "Village" },
    kind: { problem: "Problem", opinion: "Opinion", suggestion: "Suggestion" },
    channel: { reception: "Reception", visit: "Visit", hotline: "Hotline", online: "Online", window: "Window", program: "Programme" },
    state: {
      received: "Received", pending_review: "Awaiting review", resolved_on_spot: "Resolved on the spot",
      assigned: "Referred", in_progress: "In progress", completed: "Completed", fed_back: "Fed back",
      rated: "Rated", closed: "Closed", merged: "Merged",
    },
    satisfaction: { satisfied: "Satisfied", basically_satisfied: "Basically satisfied", dissatisfied: "Dissatisfied" },
    category: {
      serious_illness_aid: "Serious-illness aid", medical_insurance: "Medical insurance", water_supply: "Drinking water",
      roads_and_landslides: "Roads and landslides", sanitation: "Sanitation", neighbour_disputes: "Neighbour disputes",
      hardship: "Hardship", industry_loans: "Industry loans", schooling: "Schooling", employment: "Employment", other: "Other",
    },
    decision: { resolve: "Resolve", assign: "Refer", escalate: "Escalate", merge: "Merge" },
    role: {
      station_liaison: "Station liaison", station_head: "Station head", town_staff: "Town staff",
      district_staff: "District staff", handler: "Handler", deputy: "Deputy", leader: "Leader in charge",
      oversight: "Oversight", admin: "Administrator",
    },
    unable: {
      no_funds: "No funds", no_project: "No project", outside_remit: "Outside our remit",
      needs_higher_tier: "Needs a higher tier", policy_limit: "Policy limit", other: "Other",
    },
  },
};

const LOCALES = ["zh-CN", "en"];
const STORE = "platform.locale";

export function locale() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (LOCALES.includes(asked)) return asked;
  const kept = localStorage.getItem(STORE);
  return LOCALES.includes(kept) ? kept : "zh-CN";
}

export function setLocale(next) {
  localStorage.setItem(STORE, next);
  document.documentElement.lang = next;
}

export function addStrings(more) {
  for (const loc of LOCALES) Object.assign(STRINGS[loc], more[loc] || {});
}

/** The string for `key` in the current locale, `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = STRINGS[locale()][key] ?? STRINGS["zh-CN"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** The label of a code in a value set (state, category, channel, …), or the code itself. */
export function label(set, code) {
  if (code == null) return "";
  return LABELS[locale()][set]?.[code] ?? LABELS["zh-CN"][set]?.[code] ?? code;
}

export function labels(set) {
  return LABELS[locale()][set] ?? {};
}

/** Fill every [data-i18n] element's text and every [data-i18n-placeholder] / [data-i18n-title] attribute. */
export function applyI18n(root = document) {
  document.documentElement.lang = locale();
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
}
