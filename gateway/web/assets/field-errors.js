// Field errors as the intake forms show them (hotline, reception day, the voter's own form): a message at the
// field the page or the platform named, at the form's foot for anything else, the field marked invalid and
// focused; and one Idempotency-Key per body, so pressing the button again after a failure sends the same key.
import { ApiError, newIdempotencyKey, t } from "./common.js";

/**
 * The errors of one form. `root()` holds its `.field-error[data-for=…]` slots (asked each time: a page may
 * build its form after this is made); `inputOf(field)` is the input a field name is about, if any; messages
 * are `${prefix}.err.${field}` where the page has one.
 */
export function fieldErrors({ root = () => document, prefix, inputOf, scroll = false }) {
  const slotFor = (field) =>
    root().querySelector(`.field-error[data-for="${CSS.escape(field || "form")}"]`) ||
    root().querySelector('.field-error[data-for="form"]');
  return {
    /** Every message hidden and every mark removed, within `within` (the whole form by default). */
    clear(within = root()) {
      for (const slot of within.querySelectorAll(".field-error")) {
        slot.hidden = true;
        slot.textContent = "";
      }
      for (const node of within.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    },
    /** One field's message hidden, as soon as it is changed. */
    clearField(field) {
      if (!field) return;
      const slot = root().querySelector(`.field-error[data-for="${CSS.escape(field)}"]`);
      if (slot) slot.hidden = true;
      inputOf(field)?.removeAttribute("aria-invalid");
    },
    show(field, message) {
      const slot = slotFor(field);
      slot.textContent = message;
      slot.hidden = false;
      const input = inputOf(field);
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
      }
      if (scroll) slot.scrollIntoView({ block: "center" });
    },
    /** Ours where the page has one (in the reader's language), else the platform's detail. */
    message(field, detail) {
      const key = `${prefix}.err.${field}`;
      return t(key) === key ? detail || t(`${prefix}.err.generic`) : t(key);
    },
    /** What the page found wrong, each at its field (the cursor at the first); true if anything was. */
    showProblems(problems) {
      for (const field of [...problems].reverse()) this.show(field, this.message(field));
      return problems.length > 0;
    },
    /** Why a signed-in page's request failed: at the field the platform named, else at the form's foot. */
    showRefusal(error) {
      if (!(error instanceof ApiError)) this.show("form", t(`${prefix}.err.network`));
      else if (error.status === 401) this.show("form", t(`${prefix}.err.signedOut`));
      else if (error.status === 400 || error.status === 422) this.show(error.field, this.message(error.field, error.detail));
      else this.show("form", t(`${prefix}.err.server`, { status: error.status }));
    },
  };
}

/** The same key for the same body, a new one once the body changes: kept in `holder.attempt` until cleared. */
export function keyFor(holder, body) {
  const fingerprint = JSON.stringify(body);
  if (holder.attempt?.fingerprint !== fingerprint) holder.attempt = { fingerprint, key: newIdempotencyKey() };
  return holder.attempt.key;
}
