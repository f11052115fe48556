/* consentgate banner: asks for consent, records it at /_gate/consent, turns neutralised tracker
 * tags of granted categories back on, and keeps trackers of other categories out. No
 * dependencies. The gate fills the config slot below with the site's settings (JSON):
 *   rev      policy revision; a cookie of another revision asks again
 *   lang     default language
 *   privacy  URL of the privacy statement
 *   gpc      whether Global Privacy Control counts as a refusal of marketing
 *   t, h     texts and texts hash per language (the hash goes into the receipt)
 *   c        optional categories: {id, n: name per language, d: description per language}
 *   v        vendors: {id, name, desc, cat, cookies, hosts: "host" or "host/path-prefix"}
 * Parts, in order: language; the decision from the cookie; which category a URL belongs to;
 * Google Consent Mode; the runtime guard; activation of neutralised tags; the banner itself;
 * sending a decision; start-up and the page API (window.consentgate). */
(function () {
  'use strict';
  var config = __CG_CONFIG__;
  var doc = document, win = window, nav = navigator;
  if (!config || win.__cgBanner) return;
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

  /* ---- state: the signed cookie (the gate deletes invalid ones before we run) ---- */
  var grantedList = null; // null: no decision yet
  var consentId = null;
  var cookie = doc.cookie.match(/(?:^|;\s*)cg_consent=([^;]*)/);
  if (cookie) {
    // v1.<id>.<categories joined by ->.<revision>.<issued>.<mac>
    var parts = cookie[1].split('.');
    if (parts.length === 6 && parts[0] === 'v1' && +parts[3] === config.rev) {
      consentId = parts[1];
      grantedList = parts[2] ? parts[2].split('-') : [];
    }
  }
  function granted(category) {
    return category === 'necessary' || (!!grantedList && grantedList.indexOf(category) >= 0);
  }

  /* ---- which category a vendor or a URL belongs to ---- */
  var vendorCategory = {};
  var hostRules = []; // [host, path prefix or '', category]
  config.v.forEach(function (vendor) {
    vendorCategory[vendor.id] = vendor.cat;
    vendor.hosts.forEach(function (rule) {
      var slash = rule.indexOf('/');
      hostRules.push(slash < 0 ? [rule, '', vendor.cat] : [rule.slice(0, slash), rule.slice(slash), vendor.cat]);
    });
  });
  /* A host matches itself and its subdomains on a label boundary; a path prefix, if any, too. */
  function categoryOfUrl(url) {
    var parsed;
    try { parsed = new URL(url, location.href); } catch (e) { return null; }
    var host = parsed.hostname.toLowerCase(), path = parsed.pathname;
    for (var i = 0; i < hostRules.length; i++) {
      var ruleHost = hostRules[i][0], rulePath = hostRules[i][1];
      if ((host === ruleHost || host.slice(-ruleHost.length - 1) === '.' + ruleHost) &&
        (!rulePath || path === rulePath || path.indexOf(rulePath + '/') === 0)) return hostRules[i][2];
    }
    return null;
  }
  /* The category that keeps `url` from loading, or null if it may load. */
  function blockedCategory(url) {
    var category = categoryOfUrl(url);
    return category && !granted(category) ? category : null;
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

  /* ---- runtime guard: trackers that scripts insert later are parked, not fetched ---- */
  var setAttribute = Element.prototype.setAttribute;
  var GUARDED_TAGS = { SCRIPT: 1, IMG: 1, IFRAME: 1, LINK: 1, SOURCE: 1 };
  /* Park an element the way the gate's rewriter neutralises one, so activation can wake it. */
  function park(el, attr, url, category) {
    setAttribute.call(el, attr === 'href' ? 'data-cg-href' : 'data-cg-src', url);
    setAttribute.call(el, 'data-cg-category', category);
    if (el.tagName === 'SCRIPT') {
      var type = el.getAttribute('type');
      if (type && type !== 'text/plain') setAttribute.call(el, 'data-cg-type', type);
      setAttribute.call(el, 'type', 'text/plain');
    }
  }
  [[win.HTMLScriptElement, 'src'], [win.HTMLImageElement, 'src'], [win.HTMLIFrameElement, 'src'],
   [win.HTMLSourceElement, 'src'], [win.HTMLLinkElement, 'href']].forEach(function (target) {
    var proto = target[0] && target[0].prototype, attr = target[1];
    var property = proto && Object.getOwnPropertyDescriptor(proto, attr);
    if (!property || !property.set) return;
    Object.defineProperty(proto, attr, {
      configurable: true, enumerable: property.enumerable, get: property.get,
      set: function (value) {
        var category = blockedCategory(String(value));
        if (category) park(this, attr, String(value), category);
        else property.set.call(this, value);
      }
    });
  });
  Element.prototype.setAttribute = function (name, value) {
    var attr = String(name).toLowerCase();
    if ((attr === 'src' || attr === 'href') && GUARDED_TAGS[this.tagName]) {
      var category = blockedCategory(String(value));
      if (category) return park(this, attr, String(value), category);
    }
    return setAttribute.apply(this, arguments);
  };
  var pageFetch = win.fetch;
  if (pageFetch) win.fetch = function (resource) {
    var url = resource && resource.url || String(resource);
    if (blockedCategory(url)) return Promise.reject(new TypeError('blocked until consent'));
    return pageFetch.apply(this, arguments);
  };
  var sendBeacon = nav.sendBeacon;
  if (sendBeacon) nav.sendBeacon = function (url) {
    return blockedCategory(String(url)) ? false : sendBeacon.apply(nav, arguments);
  };
  /* Elements added as markup (innerHTML and the like) never pass the setters above. */
  function parkAdded(node) {
    if (node.nodeType !== 1) return;
    var inside = node.querySelectorAll('script[src],img[src],iframe[src],source[src],link[href]');
    var found = [node].concat([].slice.call(inside));
    found.forEach(function (el) {
      if (!GUARDED_TAGS[el.tagName] || el.hasAttribute('data-cg-category')) return;
      var attr = el.tagName === 'LINK' ? 'href' : 'src', url = el.getAttribute(attr);
      var category = url && blockedCategory(url);
      if (category) { el.removeAttribute(attr); park(el, attr, url, category); }
    });
  }
  if (win.MutationObserver) new MutationObserver(function (records) {
    records.forEach(function (record) { [].forEach.call(record.addedNodes, parkAdded); });
  }).observe(doc.documentElement, { childList: true, subtree: true });

  /* ---- activation: neutralised tags of granted categories, in document order ---- */
  function categoryOf(el) {
    return vendorCategory[el.getAttribute('data-cg-vendor')] || el.getAttribute('data-cg-category');
  }
  var PARKING_ATTRIBUTES = ['data-cg-category', 'data-cg-vendor', 'data-cg-src', 'data-cg-href', 'data-cg-srcset',
    'data-cg-run'];
  function activate() {
    /* Claim before running, so a second decision while a loader is pending runs nothing twice. */
    var waiting = [].filter.call(doc.querySelectorAll('[data-cg-category]:not([data-cg-run])'), function (el) {
      return granted(categoryOf(el)) && !setAttribute.call(el, 'data-cg-run', '1');
    });
    var next = 0;
    (function runFromNext() {
      while (next < waiting.length) {
        var el = waiting[next++];
        if (!el.parentNode) continue;
        var src = el.getAttribute('data-cg-src'), href = el.getAttribute('data-cg-href');
        if (el.tagName !== 'SCRIPT') {
          PARKING_ATTRIBUTES.forEach(function (attr) {
            var value = el.getAttribute(attr);
            el.removeAttribute(attr);
            if (value && attr === 'data-cg-srcset') el.setAttribute('srcset', value);
          });
          if (src) el.setAttribute('src', src);
          if (href) el.setAttribute('href', href);
          continue;
        }
        /* A script only runs as a new element: copy it without the parking attributes. */
        var script = doc.createElement('script');
        [].forEach.call(el.attributes, function (a) {
          if (a.name !== 'type' && a.name.indexOf('data-cg-') !== 0) script.setAttribute(a.name, a.value);
        });
        var type = el.getAttribute('data-cg-type');
        if (type) script.setAttribute('type', type);
        if (!src) { script.text = el.text; el.parentNode.replaceChild(script, el); continue; }
        /* An external loader runs before the inline code after it: wait for it (bounded). */
        var resume = (function () {
          var resumed = false;
          return function () { if (!resumed) { resumed = true; runFromNext(); } };
        })();
        script.onload = script.onerror = resume;
        setTimeout(resume, 3000);
        script.async = false;
        script.src = src;
        el.parentNode.replaceChild(script, el);
        return;
      }
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
  setAttribute.call(banner, 'role', 'dialog');
  setAttribute.call(banner, 'aria-modal', 'false');
  setAttribute.call(banner, 'tabindex', '-1');
  reopen.type = 'button';
  reopen.id = 'cg-reopen';
  reopen.className = 'cg-reopen';
  reopen.textContent = text.reopen;
  setAttribute.call(reopen, 'aria-haspopup', 'dialog');

  /* One switch per optional category, with its vendors, their cookies and retention. */
  function categorySwitches() {
    return config.c.map(function (category) {
      var vendors = config.v.filter(function (v) { return v.cat === category.id; }).map(function (v) {
        var retention = text['retention.' + v.id] || text.retention_unknown;
        return '<li><strong>' + escapeHtml(v.name) + '</strong> — ' + escapeHtml(v.desc) + '<br>' +
          escapeHtml(text.cookies) + ': ' + escapeHtml(v.cookies.join(', ') || text.none) + '. ' +
          escapeHtml(text.retention) + ': ' + escapeHtml(retention) + '.</li>';
      }).join('');
      var checked = grantedList && granted(category.id) ? ' checked' : '';
      var vendorList = vendors
        ? '<details><summary>' + escapeHtml(text.vendors) + '</summary><ul>' + vendors + '</ul></details>'
        : '';
      return '<div class="cg-c"><label><input type="checkbox" name="cg-cat" value="' + escapeHtml(category.id) + '"' +
        checked + '> ' + escapeHtml(category.n[lang]) + '</label><p>' + escapeHtml(category.d[lang]) + '</p>' +
        vendorList + '</div>';
    }).join('');
  }
  /* Layer 1: the question, with three equal buttons. */
  function questionLayer(gpcNote, privacyLink) {
    return '<h2 id="cg-title">' + escapeHtml(text.title) + '</h2>' +
      '<p id="cg-desc">' + escapeHtml(text.intro) + '</p>' + gpcNote + privacyLink +
      '<div class="cg-bs">' + button('accept', text.accept_all) + button('reject', text.reject_all) +
      button('settings', text.settings) + '</div>';
  }
  /* Layer 2: every category with its vendors, the consent id, withdrawal. */
  function settingsLayer(gpcNote, privacyLink) {
    var necessary = '<div class="cg-c"><label><input type="checkbox" checked disabled> ' +
      escapeHtml(text.necessary_name) + ' (' + escapeHtml(text.always_on) + ')</label>' +
      '<p>' + escapeHtml(text.necessary_desc) + '</p></div>';
    var idLine = consentId
      ? '<p>' + escapeHtml(text.consent_id) + ': <code id="cg-id">' + escapeHtml(consentId) + '</code></p>'
      : '';
    var withdraw = grantedList && grantedList.length ? button('withdraw', text.withdraw) : '';
    return '<h2 id="cg-title">' + escapeHtml(text.settings_title) + '</h2>' +
      '<p id="cg-desc">' + escapeHtml(text.settings_intro) + '</p>' + gpcNote + necessary + categorySwitches() +
      privacyLink + idLine + '<div class="cg-bs">' + button('save', text.save) + button('accept', text.accept_all) +
      button('reject', text.reject_all) + withdraw + button(grantedList ? 'close' : 'back', text.back) + '</div>';
  }
  function render(layerNumber) {
    layer = layerNumber;
    var privacyLink = '<p><a href="' + escapeHtml(config.privacy) + '">' + escapeHtml(text.privacy_link) + '</a></p>';
    var gpcNote = gpcRefusal && !grantedList ? '<p class="cg-n">' + escapeHtml(text.gpc_notice) + '</p>' : '';
    var status = '<p class="cg-s" id="cg-status" role="status" aria-live="polite"></p>';
    setAttribute.call(banner, 'aria-labelledby', 'cg-title');
    setAttribute.call(banner, 'aria-describedby', 'cg-desc');
    setAttribute.call(banner, 'data-layer', String(layerNumber));
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
    // The page's own fetch: the guard has nothing to say about the gate.
    return (pageFetch || win.fetch).call(win, '/_gate/consent', {
      method: method, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
    })
      .then(function (response) {
        if (response.status === 503) throw text.store_down;
        if (!response.ok) throw text.error;
        return response.json();
      })
      .then(function (answer) {
        var before = grantedList || [];
        grantedList = answer.granted;
        consentId = answer.id;
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
    else if (action === 'settings') { render(2); banner.querySelector('input[name=cg-cat]').focus(); }
    else if (action === 'back') { render(1); banner.querySelector('button').focus(); }
    else if (action === 'close') { hide(); reopen.focus(); }
  });
  banner.addEventListener('keydown', function (event) {
    // Before a decision Escape does not make the question go away unanswered.
    if (event.key === 'Escape' && grantedList) { hide(); reopen.focus(); }
    else if (event.key === 'Escape' && layer === 2) { render(1); banner.querySelector('button').focus(); }
  });
  reopen.addEventListener('click', function () { render(2); banner.focus(); });

  /* ---- start-up ---- */
  function start() {
    doc.body.appendChild(reopen);
    if (grantedList) { consentMode('update', true); activate(); hide(); }
    else { render(1); banner.focus(); }
  }
  if (doc.body) start(); else doc.addEventListener('DOMContentLoaded', start);
  win.consentgate = {
    granted: function () { return grantedList ? grantedList.slice() : null; },
    open: function () { render(2); }
  };
})();
