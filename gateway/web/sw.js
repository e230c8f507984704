// The service worker (scope /ui/): keeps the station desk's app shell on the phone so the page opens
// with no signal. Only the files named below are cached, network first (a new release shows at once
// when there is a signal); nothing else is touched, and API responses (voters' data) never are.

const CACHE = "platform-shell-v4"; // v4: the chip and field-error rules moved to app.css
const SHELL = [
  "/ui/village.html",
  "/ui/assets/village.js",
  "/ui/assets/village.css",
  "/ui/assets/village-strings.js",
  "/ui/assets/village-history.js",
  "/ui/assets/outbox.js",
  "/ui/assets/common.js",
  "/ui/assets/i18n.js",
  "/ui/assets/app.css",
];
const ALIASES = { "/ui/village": "/ui/village.html" };
const NETWORK_WAIT_MS = 4000; // a weak signal: after this, open from the phone and refresh behind

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // one by one: a file that fails now is fetched again on its next use, and does not block the rest
      .then((cache) => Promise.all(SHELL.map((path) => cache.add(new Request(path, { cache: "no-cache" })).catch(() => null))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith("platform-shell-") && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

function shellPath(request) {
  if (request.method !== "GET") return null;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return null;
  const path = ALIASES[url.pathname] || url.pathname;
  return SHELL.includes(path) ? path : null;
}

async function networkFirst(request, path) {
  const cache = await caches.open(CACHE);
  const fresh = fetch(request).then(async (response) => {
    if (response.ok && response.type === "basic") await cache.put(path, response.clone());
    return response;
  });
  fresh.catch(() => null); // when the phone's copy answers first, a later network failure is no error
  const timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_WAIT_MS, null));
  try {
    const answer = await Promise.race([fresh, timeout]);
    if (answer) return answer;
  } catch {
    // no signal: fall through to the copy on the phone
  }
  const kept = await cache.match(path);
  if (kept) return kept;
  return fresh; // nothing kept yet: wait for the network, or fail as the browser would
}

self.addEventListener("fetch", (event) => {
  const path = shellPath(event.request);
  if (path) event.respondWith(networkFirst(event.request, path));
  // anything else (the API above all) goes to the network untouched and is never cached
});
