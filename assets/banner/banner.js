/* consentgate banner: asks for consent, records it at /_gate/consent, turns neutralised tracker
 * tags of granted categories back on. No dependencies. It runs deferred, after guard.js (the
 * synchronous first script of the page, window.__cg), which holds the decision the gate
 * verified and keeps trackers out meanwhile; without the guard the banner does nothing. The gate
 * fills the config slot below with the site's settings (JSON):
 *   lang     default language
 *   privacy  URL of the privacy statement
 *   gpc      whether Global Privacy Control counts as a refusal of marketing
 *   t, h     texts, and the first 16 hex digits of their hash, per language (the gate records
 *            the whole hash in the receipt)
 *   c        optional categories: {id, n: name per language, d: description per language}
 *   v        vendors: [id, name, category]
 *   vd       URL of the vendor details per language ({lang: [{id, desc, cookies, ip: what the
 *            vendor learns of the visitor's address, r: how long its cookies stay}]}), fetched
 *            when the settings open
 * The banner's own tag carries the vendors the gate has found on the site's pages (data-v,
 * space-separated ids): the first layer names them, and this page's.
 *   s        the guard's queue stubs and their category: {ga: "analytics", fbq: "marketing", …}
 * Parts, in order: language; the verified decision; Google Consent Mode; activation of
 * neutralised tags; the banner itself; sending a decision; start-up and the page API
 * (window.consentgate). */
(function () {
  'use strict';
  var config = __CG_CONFIG__;
  var doc = document, win = window, nav = navigator, guard = win.__cg;
  // Without the guard no decision is verified and nothing guards the page: stay off.
  if (!config || !guard || win.__cgBanner) return;
  win.__cgBanner = 1;

  /* ---- language: <html lang>, then the browser, then the configured default ---- */
  var lang = config.lang;
  var candidates = [doc.documentElement.lang].concat(nav.languages || [nav.language]);
  for (var i = 0; i < candidates.length; i++) {
    var code = String(candidates[i] || '').slice(0, 2).toLowerCase();
    if (config.t[code]) { lang = code; break; }
  }
  var text = config.t[lang];
  var gpcRefusal = config.gpc && nav.globalPrivacyControl === true;

  /* ---- the decision the gate verified, as the guard holds it (guard.g: null until then) ---- */
  function granted(category) {
    return category === 'necessary' || !!guard.ok(category);
  }
  var vendorCategory = {}, used = {}, own = doc.currentScript;
  config.v.forEach(function (vendor) { vendorCategory[vendor[0]] = vendor[2]; });
  String(own && own.getAttribute('data-v') || '').split(' ').forEach(function (id) { used[id] = 1; });
  /* The gate's verified answer ({value, granted, id}): cached for the guard of later pages under
   * its exact cookie value; the calls the stubs queued for refused categories are dropped. */
  function remember(answer) {
    guard.g = answer.granted;
    guard.id = answer.id;
    guard.v = answer.value;
    try { localStorage.cg_consent = JSON.stringify([answer.value, answer.granted, answer.id]); } catch (e) { /* private mode */ }
    Object.keys(config.s).forEach(function (name) {
      var queue = name === '_gaq' ? win._gaq : guard.q[name];
      if (!granted(config.s[name]) && Array.isArray(queue)) queue.length = 0;
    });
  }

  /* ---- Google Consent Mode v2: everything denied until a decision says otherwise ---- */
  win.dataLayer = win.dataLayer || [];
  function gtag() { win.dataLayer.push(arguments); }
  function consentMode(command, decided) {
    var state = function (category) { return decided && granted(category) ? 'granted' : 'denied'; };
    var signals = {
      analytics_storage: state('analytics'), ad_storage: state('marketing'),
      ad_user_data: state('marketing'), ad_personalization: state('marketing')
    };
    if (command === 'default') signals.wait_for_update = 500;
    gtag('consent', command, signals);
  }
  consentMode('default', false);

  /* ---- activation: neutralised tags of granted categories, in document order ---- */
  function categoryOf(el) {
    return vendorCategory[el.getAttribute('data-cg-vendor')] || el.getAttribute('data-cg-category');
  }
  /* Every data-cg-X but category, vendor, type and run holds the original value of attribute X
   * (xlink-href: xlink:href; css: the text of a <style>). Copies them onto `to` (the element
   * itself, or the new script that replaces it) and, in place, removes every data-cg-*. */
  function restore(from, to) {
    [].slice.call(from.attributes).forEach(function (attr) {
      var name = attr.name, value = attr.value;
      if (name.indexOf('data-cg-') !== 0) {
        if (from !== to) to.setAttribute(name, value);
        return;
      }
      if (from === to) from.removeAttribute(name);
      name = name.slice(8);
      if (/^(category|vendor|type|run)$/.test(name)) return;
      if (name === 'css') to.textContent = value;
      else if (name === 'xlink-href') to.setAttributeNS('http://www.w3.org/1999/xlink', 'xlink:href', value);
      else to.setAttribute(name, value);
    });
  }
  /* Stubs that a vendor's own snippet would take for its loaded library (`if(f.fbq)return`) go
   * before its tags run; the calls they queued are handed to the real library afterwards. */
  function beforeActivation() {
    if (win.fbq && win.fbq.q === guard.q.fbq && granted(config.s.fbq)) delete win.fbq;
    if (win._gat === guard.t && granted(config.s._gat)) delete win._gat;
  }
  function afterActivation() {
    var fbq = win.fbq;
    if (typeof fbq === 'function' && fbq.q !== guard.q.fbq) {
      guard.q.fbq.splice(0).forEach(function (args) { fbq.apply(win, args); });
    }
  }
  /* `only`: these elements (not yet run), whatever their category (embed.js: "Load this
   * post"). */
  function activate(only) {
    /* Claim before running, so a second decision while a loader is pending runs nothing twice. */
    var waiting = [].filter.call(only || doc.querySelectorAll('[data-cg-category]:not([data-cg-run])'), function (el) {
      return (only || granted(categoryOf(el))) && !el.setAttribute('data-cg-run', '1');
    });
    var next = 0;
    beforeActivation();
    (function runFromNext() {
      while (next < waiting.length) {
        var el = waiting[next++];
        if (!el.parentNode) continue;
        if (el.localName !== 'script') { restore(el, el); continue; }
        /* A script only runs as a new element: copy it, with its original type and URL. */
        var script = doc.createElementNS(el.namespaceURI, 'script');
        restore(el, script);
        if (script.getAttribute('type') === 'text/plain') script.removeAttribute('type');
        var type = el.getAttribute('data-cg-type');
        if (type) script.setAttribute('type', type);
        if (!script.hasAttribute('src')) { script.textContent = el.textContent; el.parentNode.replaceChild(script, el); continue; }
        /* An external script finishes (or fails) before the next neutralised script runs, as it
         * would have in the page: a loader before the calls that use it (bounded wait). */
        var resume = (function () {
          var resumed = false;
          return function () { if (!resumed) { resumed = true; runFromNext(); } };
        })();
        script.onload = script.onerror = resume;
        setTimeout(resume, 3000);
        script.async = false;
        el.parentNode.replaceChild(script, el);
        return;
      }
      afterActivation();
    })();
  }

  /* ---- the banner: layer 1 (the question), layer 2 (settings), the reopen control ---- */
  function escapeHtml(value) {
    return String(value == null ? '' : value).replace(/[&<>"']/g, function (c) {
      return '&#' + c.charCodeAt(0) + ';';
    });
  }
  function button(action, label) {
    return '<button type="button" class="cg-b" data-a="' + action + '">' + escapeHtml(label) + '</button>';
  }
  var banner = doc.createElement('div'), reopen = doc.createElement('button'), layer = 0;
  banner.id = 'cg-banner';
  banner.className = 'cg';
  banner.setAttribute('role', 'dialog');
  banner.setAttribute('aria-modal', 'false');
  banner.setAttribute('tabindex', '-1');
  reopen.type = 'button';
  reopen.id = 'cg-reopen';
  reopen.className = 'cg-reopen';
  reopen.textContent = text.reopen;
  reopen.setAttribute('aria-haspopup', 'dialog');

  /* The second layer's vendor details, fetched once, when the settings first open. */
  var details;
  function withDetails(then) {
    if (details) return then();
    win.fetch(config.vd).then(function (r) { return r.json(); }).then(function (all) {
      details = {};
      (all[lang] || []).forEach(function (v) { details[v.id] = v; });
    }).catch(function () { details = {}; }).then(then);
  }
  /* One switch per optional category, with its vendors, their cookies and retention. */
  function categorySwitches() {
    return config.c.map(function (category) {
      var vendors = config.v.filter(function (v) { return v[2] === category.id; }).map(function (v) {
        var more = details[v[0]] || { cookies: [] };
        return '<li><strong>' + escapeHtml(v[1]) + '</strong> — ' + escapeHtml(more.desc) + ' ' + escapeHtml(more.ip) + '<br>' +
          escapeHtml(text.cookies) + ': ' + escapeHtml(more.cookies.join(', ') || text.none) + '. ' +
          escapeHtml(text.retention) + ': ' + escapeHtml(more.r) + '.</li>';
      }).join('');
      var checked = guard.g && granted(category.id) ? ' checked' : '';
      var vendorList = vendors
        ? '<details><summary>' + escapeHtml(text.vendors) + '</summary><ul>' + vendors + '</ul></details>'
        : '';
      return '<div class="cg-c"><label><input type="checkbox" name="cg-cat" value="' + escapeHtml(category.id) + '"' +
        checked + '> ' + escapeHtml(category.n[lang]) + '</label><p>' + escapeHtml(category.d[lang]) + '</p>' +
        vendorList + '</div>';
    }).join('');
  }
  /* Who and why, in one sentence: the vendors the site uses (data-v) and those whose tags the
   * gate neutralised in this page, per category ("Google Analytics, Hotjar (Analytics);
   * YouTube (Google)"). */
  function whoSentence() {
    [].forEach.call(doc.querySelectorAll('[data-cg-vendor]'), function (el) { used[el.getAttribute('data-cg-vendor')] = 1; });
    var parts = config.c.map(function (category) {
      var names = config.v.filter(function (v) { return used[v[0]] && v[2] === category.id; }).map(function (v) { return v[1]; });
      /* A vendor's own category (YouTube) is not named twice. */
      return names.length ? names.join(', ') + (vendorCategory[category.id] ? '' : ' (' + category.n[lang] + ')') : '';
    }).filter(String);
    return parts.length ? ' <span id="cg-who">' + escapeHtml(text.who + ' ' + parts.join('; ') + '.') + '</span>' : '';
  }
  /* Layer 1: the question, with three equal buttons. */
  function questionLayer(gpcNote, privacyLink) {
    return '<h2 id="cg-title">' + escapeHtml(text.title) + '</h2>' +
      '<p id="cg-desc">' + escapeHtml(text.intro) + whoSentence() + '</p>' + gpcNote + privacyLink +
      '<div class="cg-bs">' + button('accept', text.accept_all) + button('reject', text.reject_all) +
      button('settings', text.settings) + '</div>';
  }
  /* Layer 2: every category with its vendors, the consent id, withdrawal. */
  function settingsLayer(gpcNote, privacyLink) {
    var necessary = '<div class="cg-c"><label><input type="checkbox" checked disabled> ' +
      escapeHtml(text.necessary_name) + ' (' + escapeHtml(text.always_on) + ')</label>' +
      '<p>' + escapeHtml(text.necessary_desc) + '</p></div>';
    var idLine = guard.id
      ? '<p>' + escapeHtml(text.consent_id) + ': <code id="cg-id">' + escapeHtml(guard.id) + '</code></p>'
      : '';
    var withdraw = guard.g && guard.g.length ? button('withdraw', text.withdraw) : '';
    return '<h2 id="cg-title">' + escapeHtml(text.settings_title) + '</h2>' +
      '<p id="cg-desc">' + escapeHtml(text.settings_intro) + '</p>' + gpcNote + necessary + categorySwitches() +
      privacyLink + idLine + '<div class="cg-bs">' + button('save', text.save) + button('accept', text.accept_all) +
      button('reject', text.reject_all) + withdraw + button(guard.g ? 'close' : 'back', text.back) + '</div>';
  }
  function render(layerNumber) {
    layer = layerNumber;
    var privacyLink = '<p><a href="' + escapeHtml(config.privacy) + '">' + escapeHtml(text.privacy_link) + '</a></p>';
    var gpcNote = gpcRefusal && !guard.g ? '<p class="cg-n">' + escapeHtml(text.gpc_notice) + '</p>' : '';
    var status = '<p class="cg-s" id="cg-status" role="status" aria-live="polite"></p>';
    banner.setAttribute('aria-labelledby', 'cg-title');
    banner.setAttribute('aria-describedby', 'cg-desc');
    banner.setAttribute('data-layer', String(layerNumber));
    banner.innerHTML = (layerNumber === 1 ? questionLayer : settingsLayer)(gpcNote, privacyLink) + status;
    if (!banner.parentNode) doc.body.appendChild(banner);
    banner.hidden = false;
    reopen.hidden = true;
  }
  function hide() { banner.hidden = true; reopen.hidden = false; }
  function showStatus(message) {
    var status = doc.getElementById('cg-status');
    if (status) status.textContent = message;
  }

  /* ---- a decision: recorded by the gate first, applied only once it is stored ---- */
  function send(method, body) {
    body.language = lang;
    body.texts_hash = config.h[lang];
    return win.fetch('/_gate/consent', {
      method: method, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
    })
      .then(function (response) {
        if (response.status === 503) throw text.store_down;
        if (!response.ok) throw text.error;
        return response.json();
      })
      .then(function (answer) {
        var before = guard.g || [];
        remember(answer);
        hide();
        reopen.focus();
        /* Running trackers cannot be stopped in place: reload so only the granted ones start. */
        if (before.some(function (category) { return !granted(category); })) return location.reload();
        consentMode('update', true);
        activate();
      }, function (failure) { showStatus(typeof failure === 'string' ? failure : text.error); });
  }
  function checkedCategories() {
    var boxes = banner.querySelectorAll('input[name=cg-cat]:checked');
    return [].slice.call(boxes).map(function (box) { return box.value; });
  }

  banner.addEventListener('click', function (event) {
    var clicked = event.target.closest && event.target.closest('button[data-a]');
    var action = clicked && clicked.getAttribute('data-a');
    if (action === 'accept') send('POST', { action: 'accept_all' });
    else if (action === 'reject') send('POST', { action: 'reject_all' });
    else if (action === 'withdraw') send('DELETE', {});
    else if (action === 'save') send('POST', { action: 'custom', granted: checkedCategories() });
    else if (action === 'settings') withDetails(function () { render(2); banner.querySelector('input[name=cg-cat]').focus(); });
    else if (action === 'back') { render(1); banner.querySelector('button').focus(); }
    else if (action === 'close') { hide(); reopen.focus(); }
  });
  banner.addEventListener('keydown', function (event) {
    // Before a decision Escape does not make the question go away unanswered.
    if (event.key === 'Escape' && guard.g) { hide(); reopen.focus(); }
    else if (event.key === 'Escape' && layer === 2) { render(1); banner.querySelector('button').focus(); }
  });
  reopen.addEventListener('click', function () { withDetails(function () { render(2); banner.focus(); }); });

  /* ---- start-up ---- */
  function ask() { render(1); banner.focus(); }
  function apply() { consentMode('update', true); activate(); hide(); }
  function start() {
    doc.body.appendChild(reopen);
    if (guard.g) return apply();
    if (!guard.v) return ask();
    /* A cookie this browser has no verified answer for (a decision made in another tab, a
     * cleared cache, or a forged cookie): nothing is granted until the gate has checked it. */
    win.fetch('/_gate/consent/state', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (!answer.granted || answer.value !== guard.v) return ask();
        remember(answer);
        apply();
      })
      .catch(ask);
  }
  if (doc.body) start(); else doc.addEventListener('DOMContentLoaded', start);
  win.consentgate = {
    granted: function () { return guard.g ? guard.g.slice() : null; },
    /* "Always load <vendor>" (embed.js): the granted categories and this one, recorded. */
    grant: function (category) { send('POST', { action: 'custom', granted: (guard.g || []).concat(category) }); },
    /* "Load this post" (embed.js): these neutralised elements, not yet run, run now; nothing
     * is recorded. */
    release: activate,
    open: function () { withDetails(function () { render(2); }); }
  };
})();
