/* consentgate relay: loaded right after the guard, synchronously, only on sites whose gate
 * relays Google Analytics ([relay.google_analytics]). It gives the guard its URL rewrite
 * (window.__cg.r), which the guard applies to every URL a script hands to fetch, XHR,
 * sendBeacon, Worker and WebSocket and to every src it sets: once the rule's category is
 * granted, a GA4 hit (/g/collect on a Google Analytics host) goes to the gate's relay instead
 * of Google, and gtag.js / gtm.js of a GA4 or GTM id load from the gate. Requests Google would
 * get without any use to the site (Google signals copies of hits, Tag Manager's pings) go to
 * the gate's /drop/, which answers and forwards nothing. Whether an id is one the gate relays
 * is the gate's to say: an id it does not relay is refused there, never sent to Google. The
 * rewrite keeps the path and query; the gate rewrites what they say. The gate fills the
 * config slot (JSON): rules [host, path prefix, category, id prefix, target prefix]. */
(function (G, R) {
  if (!G || !R) return;
  G.r = function (v) {
    try {
      var u = new URL(v && v.url || v, document.baseURI),
        h = ('.' + u.hostname).replace(/\.$/, ''), p = u.pathname,
        // Host on a label boundary, path prefix on a segment boundary, as the guard matches.
        r = R.find(r => h.endsWith('.' + r[0]) && (p + '/').startsWith(r[1] + '/') && G.ok(r[2]) &&
          (u.searchParams.get('id') + '').toUpperCase().startsWith(r[3])),
        t = r && r[4] + p + u.search;
      // A Request keeps its method, body and options, with the new URL.
      return !r ? v : v && v.url ? new Request(t, v) : t;
    } catch (e) { return v }
  };
})(window.__cg, __CG_RELAY__);
