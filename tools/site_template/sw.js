// Cross-origin isolation on any static host: this service worker adds, to the Try-it page and to onnxruntime-web's
// files (whose threads start as module workers from vendor/ort/, so the scope is the whole site), the two headers a
// plain file server does not send (Cross-Origin-Opener-Policy: same-origin,
// Cross-Origin-Embedder-Policy: require-corp) to the responses it passes on. The page is then crossOriginIsolated, so
// onnxruntime-web may share memory between WebAssembly threads and use every core. try.html registers it and reloads
// once. Everything the page loads comes from this site, so require-corp blocks nothing.
"use strict";
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (e) => {
  const r = e.request;
  if (r.cache === "only-if-cached" && r.mode !== "same-origin") return;   // a request the browser would refuse to pass on
  const url = new URL(r.url);
  if (url.origin !== self.location.origin) return;                        // only the site's own files,
  if (!/\/try\.html$|\/vendor\/ort\//.test(url.pathname)) return;     // and only the Try-it page's: the lessons pass untouched
  e.respondWith(fetch(r).then((res) => {
    if (res.status === 0 || res.type === "opaque") return res;
    const h = new Headers(res.headers);
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set("Cross-Origin-Embedder-Policy", "require-corp");
    h.set("Cross-Origin-Resource-Policy", "same-origin");
    return new Response(res.body, {status: res.status, statusText: res.statusText, headers: h});
  }));
});
