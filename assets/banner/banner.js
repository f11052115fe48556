/* consentgate banner: asks for consent, records it at /_gate/consent, turns neutralised
   tracker tags of granted categories back on, and keeps trackers of other categories out.
   No dependencies. The gate replaces the config slot below with the site's settings. */
(function () {
  'use strict';
  var C = __CG_CONFIG__, d = document, w = window, nav = navigator;
  if (!C || w.__cgBanner) return;
  w.__cgBanner = 1;

  /* ---- language: <html lang>, then the browser, then the configured default ---- */
  var L = C.lang, cands = [d.documentElement.lang].concat(nav.languages || [nav.language]);
  for (var i = 0; i < cands.length; i++) {
    var l = String(cands[i] || '').slice(0, 2).toLowerCase();
    if (C.t[l]) { L = l; break; }
  }
  var T = C.t[L];
  var gpc = C.gpc && nav.globalPrivacyControl === true;

  /* ---- state: the signed cookie (the gate deletes invalid ones before we run) ---- */
  var G = null, ID = null;
  var m = d.cookie.match(/(?:^|;\s*)cg_consent=([^;]*)/);
  if (m) {
    var p = m[1].split('.');
    if (p.length === 6 && p[0] === 'v1' && +p[3] === C.rev) { ID = p[1]; G = p[2] ? p[2].split('-') : []; }
  }
  function granted(c) { return c === 'necessary' || (!!G && G.indexOf(c) >= 0); }

  /* vendor → category, host → category */
  var VC = {}, HOSTS = [];
  C.v.forEach(function (v) {
    VC[v.id] = v.cat;
    v.hosts.forEach(function (h) { var k = h.indexOf('/'); HOSTS.push(k < 0 ? [h, '', v.cat] : [h.slice(0, k), h.slice(k), v.cat]); });
  });
  /* host matches itself and subdomains on a label boundary; an optional path prefix too */
  function hostCat(url) {
    var u;
    try { u = new URL(url, location.href); } catch (e) { return null; }
    var h = u.hostname.toLowerCase(), pa = u.pathname;
    for (var i = 0; i < HOSTS.length; i++) {
      var x = HOSTS[i][0], pp = HOSTS[i][1];
      if ((h === x || h.slice(-x.length - 1) === '.' + x) &&
        (!pp || pa === pp || pa.indexOf(pp + '/') === 0)) return HOSTS[i][2];
    }
    return null;
  }
  function blocked(url) { var c = hostCat(url); return c && !granted(c) ? c : null; }

  /* ---- Google Consent Mode v2: everything denied until a decision says otherwise ---- */
  w.dataLayer = w.dataLayer || [];
  function gtag() { w.dataLayer.push(arguments); }
  function cm(a, m) {
    var s = function (c) { return m && granted(c) ? 'granted' : 'denied'; };
    var o = { analytics_storage: s('analytics'), ad_storage: s('marketing'),
      ad_user_data: s('marketing'), ad_personalization: s('marketing') };
    if (a === 'default') o.wait_for_update = 500;
    gtag('consent', a, o);
  }
  cm('default', 0);

  /* ---- runtime guard: trackers that scripts insert later ---- */
  var sa = Element.prototype.setAttribute, TAGS = { SCRIPT: 1, IMG: 1, IFRAME: 1, LINK: 1, SOURCE: 1 };
  function park(el, attr, url, c) {
    sa.call(el, attr === 'href' ? 'data-cg-href' : 'data-cg-src', url);
    sa.call(el, 'data-cg-category', c);
    if (el.tagName === 'SCRIPT') {
      var t = el.getAttribute('type');
      if (t && t !== 'text/plain') sa.call(el, 'data-cg-type', t);
      sa.call(el, 'type', 'text/plain');
    }
  }
  [[w.HTMLScriptElement, 'src'], [w.HTMLImageElement, 'src'], [w.HTMLIFrameElement, 'src'],
   [w.HTMLSourceElement, 'src'], [w.HTMLLinkElement, 'href']].forEach(function (x) {
    var P = x[0] && x[0].prototype, k = x[1], ds = P && Object.getOwnPropertyDescriptor(P, k);
    if (!ds || !ds.set) return;
    Object.defineProperty(P, k, { configurable: true, enumerable: ds.enumerable, get: ds.get,
      set: function (v) { var c = blocked(String(v)); if (c) park(this, k, String(v), c); else ds.set.call(this, v); } });
  });
  Element.prototype.setAttribute = function (n, v) {
    var k = String(n).toLowerCase();
    if ((k === 'src' || k === 'href') && TAGS[this.tagName]) {
      var c = blocked(String(v));
      if (c) return park(this, k, String(v), c);
    }
    return sa.apply(this, arguments);
  };
  var F = w.fetch;
  if (F) w.fetch = function (r) {
    var u = r && r.url || String(r);
    return blocked(u) ? Promise.reject(new TypeError('blocked until consent')) : F.apply(this, arguments);
  };
  var B = nav.sendBeacon;
  if (B) nav.sendBeacon = function (u) { return blocked(String(u)) ? false : B.apply(nav, arguments); };
  function scan(n) {
    if (n.nodeType !== 1) return;
    var els = [n].concat([].slice.call(n.querySelectorAll('script[src],img[src],iframe[src],source[src],link[href]')));
    els.forEach(function (el) {
      if (!TAGS[el.tagName] || el.hasAttribute('data-cg-category')) return;
      var k = el.tagName === 'LINK' ? 'href' : 'src', u = el.getAttribute(k), c = u && blocked(u);
      if (c) { el.removeAttribute(k); park(el, k, u, c); }
    });
  }
  if (w.MutationObserver) new MutationObserver(function (ms) {
    ms.forEach(function (r) { [].forEach.call(r.addedNodes, scan); });
  }).observe(d.documentElement, { childList: true, subtree: true });

  /* ---- activation: neutralised tags of granted categories, in document order ---- */
  function catOf(el) { return VC[el.getAttribute('data-cg-vendor')] || el.getAttribute('data-cg-category'); }
  function activate() {
    /* Claim before running, so a second decision while a loader is pending runs nothing twice. */
    var list = [].filter.call(d.querySelectorAll('[data-cg-category]:not([data-cg-run])'), function (el) {
      return granted(catOf(el)) && !sa.call(el, 'data-cg-run', '1');
    }), i = 0;
    (function next() {
      while (i < list.length) {
        var el = list[i++];
        if (!el.parentNode) continue;
        var src = el.getAttribute('data-cg-src'), href = el.getAttribute('data-cg-href');
        if (el.tagName !== 'SCRIPT') {
          ['data-cg-category', 'data-cg-vendor', 'data-cg-src', 'data-cg-href', 'data-cg-srcset', 'data-cg-run'].forEach(function (a) {
            var v = el.getAttribute(a);
            el.removeAttribute(a);
            if (v && a === 'data-cg-srcset') el.setAttribute('srcset', v);
          });
          if (src) el.setAttribute('src', src);
          if (href) el.setAttribute('href', href);
          continue;
        }
        var s = d.createElement('script');
        [].forEach.call(el.attributes, function (a) {
          if (a.name !== 'type' && a.name.indexOf('data-cg-') !== 0) s.setAttribute(a.name, a.value);
        });
        var ty = el.getAttribute('data-cg-type');
        if (ty) s.setAttribute('type', ty);
        if (!src) { s.text = el.text; el.parentNode.replaceChild(s, el); continue; }
        /* An external loader runs before the inline code after it: wait for it (bounded). */
        var go = (function () { var once = 0; return function () { if (!once++) next(); }; })();
        s.onload = s.onerror = go;
        setTimeout(go, 3000);
        s.async = false;
        s.src = src;
        el.parentNode.replaceChild(s, el);
        return;
      }
    })();
  }

  /* ---- the banner ---- */
  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; });
  }
  function btn(a, t) { return '<button type="button" class="cg-b" data-a="' + a + '">' + esc(t) + '</button>'; }
  var root = d.createElement('div'), reopen = d.createElement('button'), layer = 0;
  root.id = 'cg-banner';
  root.className = 'cg';
  sa.call(root, 'role', 'dialog');
  sa.call(root, 'aria-modal', 'false');
  sa.call(root, 'tabindex', '-1');
  reopen.type = 'button';
  reopen.id = 'cg-reopen';
  reopen.className = 'cg-reopen';
  reopen.textContent = T.reopen;
  sa.call(reopen, 'aria-haspopup', 'dialog');

  function cats() {
    return C.c.map(function (c) {
      var vs = C.v.filter(function (v) { return v.cat === c.id; }).map(function (v) {
        return '<li><strong>' + esc(v.name) + '</strong> — ' + esc(v.desc) + '<br>' + esc(T.cookies) + ': ' +
          esc(v.cookies.join(', ') || T.none) + '. ' + esc(T.retention) + ': ' +
          esc(T['retention.' + v.id] || T.retention_unknown) + '.</li>';
      }).join('');
      return '<div class="cg-c"><label><input type="checkbox" name="cg-cat" value="' + esc(c.id) + '"' +
        (G && granted(c.id) ? ' checked' : '') + '> ' + esc(c.n[L]) + '</label><p>' + esc(c.d[L]) + '</p>' +
        (vs ? '<details><summary>' + esc(T.vendors) + '</summary><ul>' + vs + '</ul></details>' : '') + '</div>';
    }).join('');
  }
  function render(n) {
    layer = n;
    var priv = '<p><a href="' + esc(C.privacy) + '">' + esc(T.privacy_link) + '</a></p>';
    var note = gpc && !G ? '<p class="cg-n">' + esc(T.gpc_notice) + '</p>' : '';
    var status = '<p class="cg-s" id="cg-status" role="status" aria-live="polite"></p>';
    sa.call(root, 'aria-labelledby', 'cg-title');
    sa.call(root, 'aria-describedby', 'cg-desc');
    sa.call(root, 'data-layer', String(n));
    root.innerHTML = n === 1
      ? '<h2 id="cg-title">' + esc(T.title) + '</h2><p id="cg-desc">' + esc(T.intro) + '</p>' + note + priv +
        '<div class="cg-bs">' + btn('accept', T.accept_all) + btn('reject', T.reject_all) + btn('settings', T.settings) + '</div>' + status
      : '<h2 id="cg-title">' + esc(T.settings_title) + '</h2><p id="cg-desc">' + esc(T.settings_intro) + '</p>' + note +
        '<div class="cg-c"><label><input type="checkbox" checked disabled> ' + esc(T.necessary_name) + ' (' + esc(T.always_on) +
        ')</label><p>' + esc(T.necessary_desc) + '</p></div>' + cats() + priv +
        (ID ? '<p>' + esc(T.consent_id) + ': <code id="cg-id">' + esc(ID) + '</code></p>' : '') +
        '<div class="cg-bs">' + btn('save', T.save) + btn('accept', T.accept_all) + btn('reject', T.reject_all) +
        (G && G.length ? btn('withdraw', T.withdraw) : '') + btn(G ? 'close' : 'back', T.back) + '</div>' + status;
    if (!root.parentNode) d.body.appendChild(root);
    root.hidden = false;
    reopen.hidden = true;
  }
  function hide() { root.hidden = true; reopen.hidden = false; }
  function say(t) { var s = d.getElementById('cg-status'); if (s) s.textContent = t; }

  function send(method, body) {
    body.language = L;
    body.texts_hash = C.h[L];
    return (F || w.fetch).call(w, '/_gate/consent', { method: method, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (r) {
        if (r.status === 503) throw T.store_down;
        if (!r.ok) throw T.error;
        return r.json();
      })
      .then(function (j) {
        var before = G || [];
        G = j.granted; ID = j.id;
        hide();
        reopen.focus();
        /* Running trackers cannot be stopped in place: reload so only the granted ones start. */
        if (before.some(function (c) { return !granted(c); })) return location.reload();
        cm('update', 1);
        activate();
      }, function (e) { say(typeof e === 'string' ? e : T.error); });
  }

  root.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('button[data-a]');
    a = a && a.getAttribute('data-a');
    if (a === 'accept') send('POST', { action: 'accept_all' });
    else if (a === 'reject') send('POST', { action: 'reject_all' });
    else if (a === 'withdraw') send('DELETE', {});
    else if (a === 'save') send('POST', { action: 'custom', granted: [].slice.call(root.querySelectorAll('input[name=cg-cat]:checked')).map(function (x) { return x.value; }) });
    else if (a === 'settings') { render(2); root.querySelector('input[name=cg-cat]').focus(); }
    else if (a === 'back') { render(1); root.querySelector('button').focus(); }
    else if (a === 'close') { hide(); reopen.focus(); }
  });
  root.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && G) { hide(); reopen.focus(); }
    else if (e.key === 'Escape' && layer === 2) { render(1); root.querySelector('button').focus(); }
  });
  reopen.addEventListener('click', function () { render(2); root.focus(); });

  function start() {
    d.body.appendChild(reopen);
    if (G) { cm('update', 1); activate(); hide(); }
    else { render(1); root.focus(); }
  }
  if (d.body) start(); else d.addEventListener('DOMContentLoaded', start);
  w.consentgate = { granted: function () { return G ? G.slice() : null; }, open: function () { render(2); } };
})();
