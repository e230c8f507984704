// The sign-in page, and the signed-in user's choice of workspaces.
import { api, ApiError, el, me, mountHeader, PAGES_BY_ROLE, t } from "./common.js";

function safeNext() {
  const next = new URLSearchParams(location.search).get("next") || "";
  return next.startsWith("/ui/") && !next.startsWith("//") ? next : null;
}

function showHome(account) {
  mountHeader("home.title", account);
  document.getElementById("home").hidden = false;
  const list = document.getElementById("pages");
  for (const page of PAGES_BY_ROLE[account.role] || []) {
    list.append(el("li", {}, el("a", { href: `/ui/${page}.html`, "data-testid": `page-${page}` }, t(`page.${page}`))));
  }
}

async function start() {
  const account = await me();
  if (account) {
    const next = safeNext();
    if (next) return location.replace(next);
    return showHome(account);
  }
  mountHeader("signIn.title", null);
  document.getElementById("sign-in-panel").hidden = false;
  const form = document.getElementById("sign-in-form");
  const error = document.getElementById("sign-in-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await api("auth/sign-in", { method: "POST", body: { login: form.login.value.trim(), password: form.password.value } });
      const account = await api("auth/me");
      const first = (PAGES_BY_ROLE[account.role] || [])[0];
      location.replace(safeNext() || (first ? `/ui/${first}.html` : "/ui/"));
    } catch (failure) {
      const locked = failure instanceof ApiError && failure.status === 423;
      const seconds = locked ? /(\d+)/.exec(failure.detail)?.[1] : "";
      error.textContent = locked ? t("signIn.locked", { s: seconds }) : failure.status === 401 || failure.status === 400 ? t("signIn.wrong") : failure.message;
      error.hidden = false;
      button.disabled = false;
    }
  });
}

start();
