/* consentgate guard: the first script of every page (synchronous, first in <head>), in place
 * before any site script runs. Best effort in the browser; the gate's rewrite of the page is the
 * guarantee. It keeps trackers that scripts add later from contacting anyone before their
 * category is granted, and gives first-party code harmless queue stubs for ga, gtag, fbq, _gaq,
 * _gat, hj and dataLayer. The gate fills the config slot at the end (JSON):
 *   h  host rules [host, path prefix or "", category], most specific first
 *   p  first-party loader paths [path suffix, query marker, category], lower case
 * A blocked element is parked in the rewriter's neutralised form (the original value of
 * attribute X in data-cg-X, and data-cg-category), which banner.js turns back on, in document
 * order, once its category is granted. A blocked request (fetch, XHR, beacon, worker, socket)
 * is refused as a network error would be, and not replayed.
 * window.__cg, for banner.js: g (granted categories; none: no verified decision), id, v (the
 * cookie value), ok(category), q (the queues of the ga, hj and fbq stubs), t (the _gat stub);
 * o, the host rules ("host/path prefix") embed.js lifts for this page view only;
 * r(url), the URL a request or a src goes to instead (relay.js, when the gate relays
 * analytics, replaces this identity).
 * Every byte here is fetched before the page can go on, hence the terse names: the budget is
 * 2.25 KB gzipped, the site's URL rules included. */
(function (w, C) {
  if (!C || w.__cg) return;
  var d = document, U = 'data-cg-', Q = {}, K = 0, O = Object, D = O.getOwnPropertyDescriptor,
    sa = Element.prototype.setAttribute, ih = D(Element.prototype, 'innerHTML'),
    c = d.cookie.split(/; */).filter(x => !x.indexOf('cg_consent=')),
    // No cookie, or several (one may be forged at a sub-path): no decision.
    G = { q: Q, o: [], v: !c[1] && c[0] && c[0].slice(11), r: v => v };

  /* The decision: only the gate's verified answer, cached by banner.js for this exact cookie
   * value as [value, granted, id], counts. The cookie's Max-Age ends it, and the gate deletes
   * a cookie of an older policy revision before the page that would read it. */
  try {
    c = JSON.parse(localStorage.cg_consent);
    c[0] == G.v && (G.g = c[1], G.id = c[2]);
  } catch (e) {}
  var ok = G.ok = c => G.g && G.g.includes(c),
    // A URL's category, for the URL exactly as the browser resolves it.
    cat = u => {
      try { u = new URL(u, d.baseURI) } catch (e) { return }
      // Host on a label boundary (trailing dot ignored), path prefix on a segment boundary.
      var h = ('.' + u.hostname).replace(/\.$/, ''), p = u.pathname,
        r = C.h.find(r => h.endsWith('.' + r[0]) && (p + '/').startsWith(r[1] + '/')) ||
          C.p.find(r => p.toLowerCase().endsWith(r[0]) && u.search.toLowerCase().includes(r[1]));
      // A rule lifted for this page view ("Load this post", G.o: host + path prefix) allows.
      return r && !G.o.includes(r[0] + r[1]) && r[2];
    },
    // The category that keeps `v` from loading: of a URL (or Request), or of any URL in it
    // (srcset, ping, CSS, markup).
    bl = v => (v = (v && v.url || v) + '').split(/[\s,"'<>()]+/).concat(v).map(cat).find(c => c && !ok(c)),
    // Markup naming no catalogued host or loader path is left alone, unparsed.
    RE = RegExp(C.h.concat(C.p).map(r => r[0].replace(/^\//, '').replace(/\W/g, '\\$&')).join('|') || '^$', 'i'),
    // Before attribute `a` of `e` becomes `v`: park it if it would fetch a tracker (1: the
    // caller must not set v). A script without its src runs nothing; it keeps its type. Styles
    // change often (animations): only those naming a tracker host are looked at closely.
    g = (e, a, v) => {
      a = (a + '').toLowerCase();
      if (!/^(src(set|doc)?|poster|data|ping|imagesrcset|background|style|(xlink:)?href)$/.test(a) ||
        a == 'href' && /^a(rea)?$/.test(e.localName) || a == 'style' && !RE.test(v)) return;
      // A relayed URL (r) is set in its stead (counted, so markup is serialised again).
      if (a == 'src' && (c = G.r(v)) != v) return K++, sa.call(e, a, c), 1;
      if (!(c = bl(v))) return;
      e.removeAttribute(a);
      sa.call(e, U + a.replace(':', '-'), v);
      return K++, sa.call(e, U + 'category', c), 1;
    },
    // Park every tracker in a subtree (element, fragment or document) before it goes live.
    S = n => n && n.querySelectorAll && [n, ...n.querySelectorAll('*')].forEach(e =>
      [...e.attributes || []].forEach(a => g(e, a.name, a.value))),
    // Markup about to be parsed: if it names a tracker host, parsed first in a <template>
    // (nothing loads there) and, if a tracker was parked there, serialised again. Anything
    // else (the text of a script or style, a link to a social profile) passes as it came.
    h = (s, x, k = K) => RE.test(s) && (ih.set.call(x = d.createElement('template'), s), S(x.content), k < K) ? ih.get.call(x) : s,

    /* The hooks, for this window and each same-origin frame's window once it is reached. */
    // Method or constructor m of p through f(arguments, original, new.target).
    W = (p, m, f) => {
      var o = p && p[m];
      o && (O.setPrototypeOf(p[m] = function (...a) { return f.call(this, a, o, new.target) }, o).prototype = o.prototype);
    },
    // A call whose argument i names a tracker gives f() instead; a relayed URL is used in its stead.
    X = (p, m, i, f) => W(p, m, function (a, o, n) {
      i in a && (a[i] = G.r(a[i]));
      return bl(a[i]) ? f() : n ? new o(...a) : o.apply(this, a);
    }),
    // Accessor `a` through f(value, original setter) (or getter, k = 'get').
    P = (p, a, f, k = 'set') => {
      var o = p && D(p, a);
      o && o[k] && O.defineProperty(p, a, { ...o, [k](v) { return f.call(this, v, o[k]) } });
    },
    no = () => { throw new TypeError('consentgate') },
    inst = w => {
      if (w.__cg) return;
      w.__cg = G;
      var E = w.Element.prototype, R = w.Range.prototype,
        post = function (a, o) { return S(a = o.apply(this, a)), a };
      // URL properties (img.src = …, el.style = …) behave like their attribute.
      O.getOwnPropertyNames(w).forEach(n => /^HTML.*Element$/.test(n) &&
        'src srcset poster data ping background style srcdoc href'.split(' ').forEach(a =>
          P(w[n].prototype, a, function (v, o) { g(this, a, v) || o.call(this, v) })));
      // A frame's window gets the hooks before any script can use it.
      ['contentWindow', 'contentDocument'].forEach(a => P(w.HTMLIFrameElement.prototype, a, function (v, o) {
        try { inst((v = o.call(this)).defaultView || v) } catch (e) {}
        return v;
      }, 'get'));
      // setAttribute(name, value), setAttributeNS(ns, name, value), setAttributeNode(attr).
      ['setAttribute', 'setAttributeNS', 'setAttributeNode'].forEach((m, i) =>
        W(E, m, function (a, o) { return (i > 1 ? g(this, a[0].name, a[0].value) : g(this, a[i], a[i + 1])) || o.apply(this, a) }));
      // The usual insertions: a detached subtree whose attributes were set some other way (say
      // imported from another document) is checked as it goes live (once, not at every level
      // of a tree built bottom-up).
      ['appendChild', 'insertBefore'].forEach(m => W(w.Node.prototype, m, function (a, o) {
        this.isConnected && !a[0].isConnected && S(a[0]);
        return o.apply(this, a);
      }));
      // Markup: cleaned before the live document parses it.
      ['innerHTML', 'outerHTML'].forEach(a => P(E, a, function (v, o) { o.call(this, h(v)) }));
      [[E, 'insertAdjacentHTML', 1], [w.Document.prototype, 'write', 0]]
        .forEach(x => W(x[0], x[1], function (a, o) { a[x[2]] = h(a[x[2]]); return o.apply(this, a) }));
      W(R, 'createContextualFragment', post);
      W(w.DOMParser.prototype, 'parseFromString', post);
      // Inline styles changed through the CSSOM (el.style.x = …, setProperty, cssText; Chromium
      // keeps those properties on each declaration, out of reach): the style attribute changes
      // at once, and is parked here before the next style recalculation would fetch a url().
      new w.MutationObserver(r => r.forEach(m => g(m.target, 'style', m.target.getAttribute('style'))))
        .observe(w.document, { attributeFilter: ['style'], subtree: true });
      // Requests made from script: refused as a network error would be.
      X(w.XMLHttpRequest.prototype, 'open', 1, no);
      ['Worker', 'SharedWorker', 'WebSocket'].forEach(n => X(w, n, 0, no));
      X(w, 'fetch', 0, async () => no());
      X(w.Navigator.prototype, 'sendBeacon', 0, () => !1);
    };
  inst(w);

  /* Queue stubs: first-party calls neither throw nor send before consent; banner.js hands the
   * queued calls to the real library on consent and drops them on refusal. */
  w.dataLayer = [];
  w.gtag = function () { w.dataLayer.push(arguments) };
  // Shaped like their official stubs, so the libraries read the queue (f.q) as usual.
  ['ga', 'hj', 'fbq'].forEach(n => (w[n] = function () { Q[n].push(arguments) }).q = Q[n] = []);
  w._gaq = [];
  // ga.js's synchronous API, recorded as commands in _gaq, which ga.js replays.
  w._gat = G.t = {
    _getTracker: id => (w._gaq.push(['_setAccount', id]), new Proxy({}, { get: (o, m) => (...a) => w._gaq.push([m, ...a]) }))
  };
})(window, __CG_GUARD__);
