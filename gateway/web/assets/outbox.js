// The device-side queue of submissions (IndexedDB): a submission is kept on the phone from the moment it
// is recorded until the platform answers 202, sent with one idempotency key for its whole life, so a
// lost signal neither loses it nor stores it twice. After the 202 it is followed until it has a number.
//
// Item states: queued → (sending) → accepted → numbered; or refused (a 4xx the platform will always give:
// kept, with the reason, until someone fixes or discards it). A 5xx, 408, 429 or network failure retries
// with backoff. A 401 holds the queue until the user signs in again: the item stays queued.
// Once accepted, the body (with the voter's contact) is dropped from the device; only a summary stays.
//
// Photos (intakes only) are kept with their item as Blobs and sent one by one once the item has its 202
// (to `<path>/<submission id>/photos`, field `data`), each with its own key kept until it is stored; a
// photo is dropped from the device once stored, or once refused for good (a 4xx other than 408/429).

import { api, ApiError, newIdempotencyKey } from "./common.js";

const STORE = "items";
const KEEP_DONE_MS = 3 * 24 * 3600 * 1000; // numbered items stay listed this long, then go
const KEEP_DONE_MAX = 30;
const RETRY_BASE_MS = 2000;
const RETRY_MAX_MS = 5 * 60 * 1000;

function openDb(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      const store = request.result.createObjectStore(STORE, { keyPath: "id" });
      store.createIndex("owner", "owner");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Wait for a number of milliseconds, with ±20 % jitter so many phones do not retry in step. */
export function backoff(attempts) {
  const base = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Is this failure worth trying again (network, 5xx, 408, 429) rather than a refusal? */
export function retryable(error) {
  if (!(error instanceof ApiError)) return true; // fetch threw: no signal, DNS, reset
  return error.status >= 500 || error.status === 408 || error.status === 429;
}

export class Outbox {
  /**
   * @param {object} options
   * @param {string} options.name      IndexedDB database name (one per kind of submission)
   * @param {string} options.path      API path the body is POSTed to, e.g. "intakes"
   * @param {string} options.owner     the signed-in login: a device shared by two people keeps their queues apart
   * @param {(items) => void} [options.onChange]  called after every change, with this owner's items
   * @param {(item) => void} [options.onNumbered] called once when an accepted item gets its number
   * @param {(reached: boolean) => void} [options.onNetwork] told whether each request reached the platform
   */
  constructor({ name, path, owner, onChange = () => {}, onNumbered = () => {}, onNetwork = () => {} }) {
    Object.assign(this, { name, path, owner, onChange, onNumbered, onNetwork });
    this.db = openDb(name);
    this.paused = null; // a reason ("signed-out") while the queue cannot send
    this.timer = null;
    this.stop = null;
    this.flushing = null;
    this.again = false;
    this.wantNow = false;
  }

  async tx(mode, work) {
    const db = await this.db;
    const store = db.transaction(STORE, mode).objectStore(STORE);
    return work(store);
  }

  async get(id) {
    return this.tx("readonly", (store) => done(store.get(id)));
  }

  async put(item) {
    await this.tx("readwrite", (store) => done(store.put(item)));
  }

  /** This owner's items, newest first. */
  async list() {
    const items = await this.tx("readonly", (store) => done(store.index("owner").getAll(this.owner)));
    return items.sort((a, b) => b.created_at - a.created_at);
  }

  async changed() {
    this.onChange(await this.list());
  }

  /** Queue a body for sending; `summary` is what may stay on the device after it is accepted; `photos`
   * ([{blob, name}]) are sent after it. */
  async add(body, summary = {}, photos = []) {
    const now = Date.now();
    const item = {
      id: newIdempotencyKey(),
      key: newIdempotencyKey(), // the Idempotency-Key: made once, kept until the 202
      owner: this.owner,
      body,
      summary,
      photos: queuedPhotos(photos),
      state: "queued",
      attempts: 0,
      next_at: now,
      created_at: now,
      error: null,
    };
    await this.put(item);
    await this.changed();
    this.flush();
    return item;
  }

  /** Replace a refused item's body after the user fixed it, and send it again. Only a refused one: a queued
   * item may already be stored by the platform (its answer lost), and its key must keep its body. */
  async amend(id, body, summary, photos) {
    const item = await this.get(id);
    if (!item || item.state !== "refused") return null;
    // The platform refused this body before storing it, so the same key is still free for the fixed one
    // (and none of its photos was sent: they go only after the 202).
    Object.assign(item, { body, summary: summary ?? item.summary, state: "queued", attempts: 0, next_at: Date.now(), error: null });
    if (photos) item.photos = queuedPhotos(photos);
    await this.put(item);
    await this.changed();
    this.flush();
    return item;
  }

  /** Remove an item the user chose to discard (a refused one) or has seen numbered. */
  async discard(id) {
    await this.tx("readwrite", (store) => done(store.delete(id)));
    await this.changed();
  }

  /** Send every item that is due, then follow accepted ones to their number. One run at a time: a call
   * during a run asks for one more run after it. */
  flush({ now = false } = {}) {
    this.wantNow ||= now;
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    const run = async () => {
      do {
        this.again = false;
        if (this.wantNow) {
          this.wantNow = false;
          await this.wake();
        }
        await this.runOnce();
      } while (this.again);
    };
    // Two tabs on one phone send one at a time; the key would make a double harmless anyway.
    const locked = navigator.locks ? () => navigator.locks.request(`outbox:${this.name}`, run) : run;
    this.flushing = locked().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  async runOnce() {
    this.paused = null;
    for (const { id } of (await this.list()).reverse()) {
      if (this.paused || navigator.onLine === false) return; // the "online" event starts the next run
      let item = await this.get(id); // fresh: it may have been amended or discarded meanwhile
      if (!item) continue;
      const due = item.next_at <= Date.now();
      if (due && (item.state === "queued" || item.state === "sending")) item = await this.send(item);
      if (!this.paused && waitingPhotos(item).length && item.submission_id && (item.photos_next_at || 0) <= Date.now()) {
        item = await this.sendPhotos(item);
      }
      if (!this.paused && item.state === "accepted" && item.next_at <= Date.now()) await this.follow(item);
    }
    await this.prune();
  }

  /** Make every waiting item due now (the signal came back, or the user asked). */
  async wake() {
    const items = await this.list();
    for (const item of items) {
      const waiting = ["queued", "sending", "accepted"].includes(item.state) && item.next_at > Date.now();
      const photos = waitingPhotos(item).length && (item.photos_next_at || 0) > Date.now();
      if (waiting || photos) {
        if (waiting) item.next_at = Date.now();
        if (photos) item.photos_next_at = Date.now();
        await this.put(item);
      }
    }
  }

  async send(item) {
    item.state = "sending";
    await this.put(item);
    await this.changed();
    try {
      const answer = await api(this.path, { method: "POST", body: item.body, headers: { "Idempotency-Key": item.key } });
      this.onNetwork(true);
      Object.assign(item, {
        state: "accepted",
        body: null, // the voter's contact leaves the device once the platform holds it
        submission_id: answer.submission_id,
        status_url: answer.status_url,
        tracking_code: answer.tracking_code, // for the voter: follow and rate it at /ui/voter.html
        accepted_at: Date.now(),
        attempts: 0,
        next_at: Date.now() + 500,
        error: null,
      });
    } catch (error) {
      this.failed(item, error);
    }
    await this.put(item);
    await this.changed();
    return item;
  }

  /** Send an accepted item's waiting photos, one at a time, until one fails for now (then later, with backoff). */
  async sendPhotos(item) {
    for (const photo of waitingPhotos(item)) {
      const form = new FormData();
      form.append("data", photo.blob, photo.name || "photo.jpg");
      const url = `${this.path}/${encodeURIComponent(item.submission_id)}/photos`;
      try {
        await api(url, { method: "POST", body: form, headers: { "Idempotency-Key": photo.key } });
        this.onNetwork(true);
        Object.assign(photo, { state: "stored", blob: null, error: null }); // the platform holds it now, sealed
        item.photo_attempts = 0;
      } catch (error) {
        const status = error instanceof ApiError ? error.status : 0;
        this.onNetwork(status !== 0);
        if (status === 401 || retryable(error)) {
          if (status === 401) this.paused = "signed-out";
          item.photo_attempts = (item.photo_attempts || 0) + 1;
          item.photos_next_at = Date.now() + backoff(item.photo_attempts);
          await this.put(item);
          await this.changed();
          return item;
        }
        // refused for good (not a photo, too large, too many): nothing to fix on the phone, so it goes
        Object.assign(photo, { state: "refused", blob: null, error: { status, detail: error.detail, field: error.field } });
      }
      await this.put(item);
      await this.changed();
    }
    return item;
  }

  failed(item, error) {
    const status = error instanceof ApiError ? error.status : 0;
    this.onNetwork(status !== 0);
    if (status === 401) {
      this.paused = "signed-out"; // for this run: the rest would be refused the same way
      item.attempts += 1;
      Object.assign(item, { state: "queued", next_at: Date.now() + backoff(item.attempts), error: { status, detail: error.detail } });
    } else if (retryable(error)) {
      item.attempts += 1;
      Object.assign(item, {
        state: "queued",
        next_at: Date.now() + backoff(item.attempts),
        error: { status, detail: error instanceof ApiError ? error.detail : String(error?.message || error) },
      });
    } else {
      Object.assign(item, { state: "refused", error: { status, detail: error.detail, field: error.field, body: error.body } });
    }
  }

  /** Ask what became of an accepted submission, until it has its issue number. */
  async follow(item) {
    try {
      const status = await api(item.status_url);
      this.onNetwork(true);
      if (status?.issue_number) {
        Object.assign(item, { state: "numbered", issue_number: status.issue_number, numbered_at: Date.now(), error: null });
        await this.put(item);
        await this.changed();
        this.onNumbered(item);
        return;
      }
      item.attempts = Math.min(item.attempts + 1, 4); // numbering takes a second or two: keep asking often
    } catch (error) {
      this.onNetwork(error instanceof ApiError);
      if (error instanceof ApiError && error.status === 401) this.paused = "signed-out";
      item.attempts += 1;
    }
    item.next_at = Date.now() + backoff(item.attempts);
    await this.put(item);
  }

  async prune() {
    const numbered = (await this.list()).filter((item) => item.state === "numbered" && !waitingPhotos(item).length);
    const old = numbered.filter((item, n) => n >= KEEP_DONE_MAX || Date.now() - item.numbered_at > KEEP_DONE_MS);
    if (!old.length) return;
    await this.tx("readwrite", (store) => Promise.all(old.map((item) => done(store.delete(item.id)))));
    await this.changed();
  }

  /** Send on load, whenever the signal returns, and on a timer; returns a function that stops it. */
  start({ everyMs = 5000 } = {}) {
    if (this.stop) return this.stop; // already running
    const online = () => this.flush({ now: true });
    window.addEventListener("online", online);
    this.timer = setInterval(() => {
      if (navigator.onLine !== false) this.flush();
    }, everyMs);
    this.changed();
    this.flush();
    this.stop = () => {
      window.removeEventListener("online", online);
      clearInterval(this.timer);
      this.stop = null;
    };
    return this.stop;
  }
}

/** Counts by state, for a "待发送 N 条" line; `photos` counts the photos still waiting to be sent. */
export function tally(items) {
  const counts = { waiting: 0, refused: 0, accepted: 0, numbered: 0, photos: 0 };
  for (const item of items) {
    if (item.state === "queued" || item.state === "sending") counts.waiting += 1;
    else if (item.state in counts) counts[item.state] += 1;
    counts.photos += waitingPhotos(item).length;
  }
  return counts;
}

/** The photos of an item not yet stored nor refused. */
export function waitingPhotos(item) {
  return (item?.photos || []).filter((photo) => photo.state === "queued");
}

function queuedPhotos(photos) {
  return photos.map(({ blob, name }) => ({
    key: newIdempotencyKey(), // this photo's Idempotency-Key: made once, kept until it is stored
    blob,
    name,
    type: blob.type,
    size: blob.size,
    state: "queued",
    error: null,
  }));
}
