// The docs site's own script (every page): the sidebar's button at phone widths, the on-page contents list (open
// beside the text on wide screens, the current section marked), wide formulas scaled to fit, and the search box
// (MiniSearch over search.json, loaded on first use). No request leaves the site.
"use strict";
(function () {
  const $ = (s, el = document) => el.querySelector(s);
  const wide = window.matchMedia("(min-width: 1300px)");

  // ---- sidebar: a drawer behind the "Lessons" button at phone widths
  const menu = $(".sclle-menu"), side = $("#sclle-sidebar");
  function drawer(open) {
    document.body.classList.toggle("sclle-drawer-open", open);
    if (menu) menu.setAttribute("aria-expanded", String(open));
    if (open && side) { const a = $("a.active", side) || $("a", side); if (a) a.focus({preventScroll: true}); a && a.scrollIntoView({block: "nearest"}); }
  }
  if (menu) menu.addEventListener("click", () => drawer(!document.body.classList.contains("sclle-drawer-open")));
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") { drawer(false); hideResults(); } });
  document.addEventListener("click", (e) => {
    if (document.body.classList.contains("sclle-drawer-open") && !e.target.closest("#sclle-sidebar, .sclle-menu")) drawer(false);
    if (!e.target.closest(".sclle-search")) hideResults();
  });

  // ---- on-page contents: open beside the text on wide screens; the section being read is marked
  const toc = $(".sclle-toc details");
  if (toc) {
    const place = () => { toc.open = wide.matches; };
    place(); wide.addEventListener("change", place);
    const links = [...toc.querySelectorAll("a")];
    const byId = new Map(links.map((a) => [decodeURIComponent(a.hash.slice(1)), a]));
    const heads = [...byId.keys()].map((id) => document.getElementById(id)).filter(Boolean);
    let ticking = false;
    const mark = () => {
      ticking = false;
      let cur = heads[0];
      for (const h of heads) { if (h.getBoundingClientRect().top < 90) cur = h; else break; }
      links.forEach((a) => a.classList.toggle("current", cur && byId.get(cur.id) === a));
    };
    window.addEventListener("scroll", () => { if (!ticking) { ticking = true; requestAnimationFrame(mark); } }, {passive: true});
    mark();
    toc.addEventListener("click", (e) => { if (e.target.closest("a") && !wide.matches) toc.open = false; });
  }

  // ---- wide display formulas: scaled down to the text's width (MathJax 3 does not break lines), scrolling as a last resort
  function fitMath() {
    document.querySelectorAll('mjx-container[display="true"]').forEach((c) => {
      c.style.fontSize = "";
      const need = c.scrollWidth, have = c.clientWidth;
      if (have > 0 && need > have + 1) c.style.fontSize = Math.max(0.7, (have - 2) / need) * 100 + "%";
    });
  }
  function whenMath() {
    const mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) mj.startup.promise.then(fitMath);
    else setTimeout(whenMath, 200);
  }
  if (document.querySelector(".jp-Notebook")) { window.addEventListener("load", whenMath); let t; window.addEventListener("resize", () => { clearTimeout(t); t = setTimeout(fitMath, 150); }); }
  window.sclleFitMath = fitMath;

  // ---- search: MiniSearch over every page's sections (search.json, written by tools/build_site.py)
  const q = $("#sclle-q"), box = $("#sclle-results");
  if (!q || !box) return;
  const root = new URL(".", document.currentScript ? document.currentScript.src : location.href).href;
  let index = null;
  function load() {
    if (!index) index = Promise.all([import(root + "vendor/minisearch/index.js"), fetch(root + "search.json").then((r) => r.json())])
      .then(([mod, docs]) => {
        const ms = new mod.default({fields: ["title", "page", "text"], storeFields: ["href", "title", "page", "text"],
          searchOptions: {boost: {title: 3, page: 2}, prefix: true, fuzzy: 0.15, combineWith: "AND"}});
        ms.addAll(docs);
        return ms;
      });
    return index;
  }
  function hideResults() { box.hidden = true; }
  const esc = (t) => t.replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  function snippet(text, terms) {
    const low = text.toLowerCase();
    let at = -1;
    for (const t of terms) { at = low.indexOf(t.toLowerCase()); if (at >= 0) break; }
    const s = Math.max(0, at - 50), piece = text.slice(s, s + 150);
    let out = esc(piece);
    for (const t of terms) if (t.length > 1) out = out.replace(new RegExp("(" + t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + ")", "ig"), "<mark>$1</mark>");
    return (s > 0 ? "…" : "") + out + (s + 150 < text.length ? "…" : "");
  }
  let last = 0;
  async function run() {
    const text = q.value.trim(), me = ++last;
    if (text.length < 2) { hideResults(); return; }
    const ms = await load();
    if (me !== last) return;
    const hits = ms.search(text).slice(0, 12);
    box.innerHTML = hits.length ? hits.map((h) => {
      const same = h.title === h.page;
      return `<a role="option" href="${root}${esc(h.href)}"><span class="sclle-hit-page">${esc(h.page)}</span>` +
        (same ? "" : `<span class="sclle-hit-title">${esc(h.title)}</span>`) +
        `<span class="sclle-hit-text">${snippet(h.text, h.terms || [text])}</span></a>`;
    }).join("") : `<p class="sclle-no-hits">Nothing found for “${esc(text)}”.</p>`;
    box.hidden = false;
  }
  q.addEventListener("focus", load, {once: true});
  q.addEventListener("input", run);
  q.addEventListener("keydown", (e) => {
    const items = [...box.querySelectorAll("a")];
    if (e.key === "Enter" && items[0]) { location.href = items[0].href; }
    else if (e.key === "ArrowDown" && items[0]) { e.preventDefault(); items[0].focus(); }
  });
  box.addEventListener("keydown", (e) => {
    const items = [...box.querySelectorAll("a")], i = items.indexOf(document.activeElement);
    if (e.key === "ArrowDown" && i + 1 < items.length) { e.preventDefault(); items[i + 1].focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? items[i - 1] : q).focus(); }
  });
  window.sclleSearch = async (text) => (await load()).search(text);   // for the site's tests
})();
