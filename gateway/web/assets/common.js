// What every page shares: the API client, the signed-in user, the page header, small DOM helpers.
// User data is only ever put into the page as text (el(), textContent), never as HTML.

import { applyI18n, locale, setLocale, t } from "./i18n.js";

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, detail, field, body) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.field = field; // the request field the server named, if any
    this.body = body;
  }
}

/** Call the JSON API with the session cookie and the CSRF proof; returns the parsed body (or null for 204). */
export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { "X-Requested-With": "fetch", Accept: "application/json", ...headers },
  };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path.startsWith("/") ? path : `${API}/${path}`, init);
  if (raw) return response;
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { detail: text };
  }
  if (!response.ok) {
    const extra = Array.isArray(parsed?.extra) ? parsed.extra[0] : null;
    throw new ApiError(response.status, parsed?.detail || response.statusText, extra?.key, parsed);
  }
  return parsed;
}

let who;

/** The signed-in account ({login, name, role, unit_code, handler_code, deputy_code}) or null. */
export async function me() {
  if (who !== undefined) return who;
  try {
    who = await api("auth/me");
  } catch (error) {
    if (error.status !== 401 && error.status !== 403) throw error;
    who = null;
  }
  return who;
}

/** The signed-in account, or a trip to the sign-in page that comes back here afterwards. */
export async function requireSignIn() {
  const account = await me();
  if (!account) {
    location.replace(`/ui/?next=${encodeURIComponent(location.pathname + location.search)}`);
    return new Promise(() => {}); // never settles: the page is going away
  }
  return account;
}

export async function signOut() {
  try {
    await api("auth/sign-out", { method: "POST" });
  } finally {
    who = undefined;
    location.replace("/ui/");
  }
}

/** The pages each role works in, first one first. */
export const PAGES_BY_ROLE = {
  station_liaison: ["village"],
  station_head: ["village", "review"],
  town_staff: ["review", "reception", "village"],
  district_staff: ["review", "hotline"],
  handler: ["department"],
  deputy: ["deputy"],
  leader: ["leader", "review"],
  oversight: ["oversight", "leader"],
  admin: ["admin", "oversight", "review", "hotline", "leader"],
};

/** Create an element: el("td", {class: "num"}, "3"); attributes starting with "on" become listeners. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** A date-time in the reader's locale, in China time (the platform's calendar). */
export function when(value) {
  if (!value) return "";
  return new Date(value).toLocaleString(locale(), { timeZone: "Asia/Shanghai", dateStyle: "short", timeStyle: "short" });
}

export function day(value) {
  if (!value) return "";
  return new Date(value).toLocaleDateString(locale(), { timeZone: "Asia/Shanghai" });
}

/** Show a message in the page's status line (role="status", read out by screen readers). */
let hideLater;

/** Show a message in the page's status line (role="status", read out by screen readers); it goes after
 *  `seconds` (errors stay until the next message). */
export function notify(message, kind = "info", seconds = kind === "error" ? 0 : 5) {
  let bar = document.getElementById("status");
  if (!bar) {
    bar = el("div", { id: "status", role: "status", "aria-live": "polite" });
    document.body.append(bar);
  }
  bar.textContent = message;
  bar.className = `status ${kind}`;
  bar.hidden = !message;
  clearTimeout(hideLater);
  if (message && seconds > 0) hideLater = setTimeout(() => { bar.hidden = true; }, seconds * 1000);
}

export function showError(error) {
  const detail = error instanceof ApiError ? error.detail : String(error?.message || error);
  notify(t("common.error", { detail }), "error");
}

/** The top bar: the platform's name, the page's title, the user, the locale switch and sign-out. */
export function mountHeader(titleKey, account) {
  let header = document.querySelector("header.top");
  if (!header) {
    header = el("header", { class: "top" });
    document.body.prepend(header);
  }
  clear(header);
  const other = locale() === "zh-CN" ? "en" : "zh-CN";
  header.append(
    el("a", { class: "brand", href: "/ui/" }, t("app.name")),
    el("h1", {}, t(titleKey)),
    el(
      "nav",
      {},
      account ? el("span", { class: "who", "data-testid": "who" }, account.name) : null,
      el("button", { type: "button", class: "link", onclick: () => { setLocale(other); location.reload(); } }, t("nav.lang")),
      account ? el("button", { type: "button", class: "link", "data-testid": "sign-out", onclick: signOut }, t("nav.signOut")) : null,
    ),
  );
  document.title = `${t(titleKey)} · ${t("app.name")}`;
  applyI18n();
}

/** Save what an API path answers (a report, a roster) as a file named `filename`; raises ApiError. */
export async function download(path, filename) {
  const response = await api(path, { raw: true });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new ApiError(response.status, body.detail || response.statusText, null, body);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

/** A stable key for one submission: a retry sends the same key, so the platform stores it once. */
export function newIdempotencyKey() {
  return crypto.randomUUID();
}

export { applyI18n, t };
