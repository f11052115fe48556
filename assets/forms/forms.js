/* consentgate forms: adds the fill-time token and the honeypot field to the forms the gate
   captures. No dependencies, no cookies, nothing sent anywhere but the gate itself.
   CG_CONFIG is filled in by the gate: {tokenUrl, tokenField,
   forms: {canonical path: {id, plugin, honeypot, token, caseSensitive}},
   plugins: {"<plugin>:<its form id>": spec}}. A plugin's form is found by its markup (the
   hidden field holding its id: CF7 _wpcf7, Gravity Forms gform_submit, WPForms wpforms[id],
   Elementor form_id in a form.elementor-form), since its script posts to its own endpoint,
   not to the action; the fields added here are inside the form, so the plugin's own
   FormData carries them. A token opens one form once:
   each form gets its own, and a fresh one after every submission. */
(function () {
  'use strict';
  var CFG = /*CG_CONFIG*/null;
  if (!CFG || !window.document) { return; }

  function pathOf(form) {
    try {
      var url = new URL(form.getAttribute('action') || window.location.href, window.location.href);
      // As the gate compares paths: slashes merged, no trailing slash.
      return url.pathname.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
    } catch (e) {
      return null;
    }
  }

  // [plugin, the field holding the plugin's number of the form]
  var NUMBERED = [['cf7', '_wpcf7'], ['gravityforms', 'gform_submit'], ['wpforms', 'wpforms[id]']];

  function pluginSpecOf(form) {
    if (!CFG.plugins) { return null; }
    for (var i = 0; i < NUMBERED.length; i++) {
      var f = field(form, NUMBERED[i][1]);
      if (f) {
        var id = parseInt(f.value, 10);
        if (id > 0) { return CFG.plugins[NUMBERED[i][0] + ':' + id] || null; }
      }
    }
    var element = field(form, 'form_id');
    if (element && (' ' + form.className + ' ').indexOf(' elementor-form ') >= 0) {
      return CFG.plugins['elementor:' + element.value.toLowerCase()] || null;
    }
    return null;
  }

  function specOf(form) {
    var plugin = pluginSpecOf(form);
    if (plugin) { return plugin; }
    var path = pathOf(form);
    if (path === null) { return null; }
    var spec = CFG.forms[path];
    if (spec) { return spec; }
    spec = CFG.forms[path.toLowerCase()];
    return spec && !spec.caseSensitive ? spec : null;
  }

  function field(form, name) {
    var els = form.elements;
    for (var i = 0; i < els.length; i++) {
      if (els[i].name === name) { return els[i]; }
    }
    return null;
  }

  // Fetch a token for `spec`'s form into `input`.
  function fillToken(spec, input) {
    window.fetch(CFG.tokenUrl + '?form=' + encodeURIComponent(spec.id),
      { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j && j.token) { input.value = j.token; } })
      .catch(function () { /* the gate then asks the visitor to send once more */ });
  }

  function prepare(form) {
    if (form.getAttribute('data-cg-form') === '1') { return; }
    var spec = specOf(form);
    if (!spec || (form.getAttribute('method') || '').toLowerCase() !== 'post') { return; }
    form.setAttribute('data-cg-form', '1');
    if (spec.honeypot && !field(form, spec.honeypot)) {
      var box = document.createElement('div');
      box.setAttribute('aria-hidden', 'true');
      box.style.cssText = 'position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden';
      var trap = document.createElement('input');
      trap.type = 'text';
      trap.name = spec.honeypot;
      trap.tabIndex = -1;
      trap.autocomplete = 'off';
      box.appendChild(trap);
      form.appendChild(box);
    }
    if (spec.token) {
      var input = field(form, CFG.tokenField);
      if (!input) {
        input = document.createElement('input');
        input.type = 'hidden';
        input.name = CFG.tokenField;
        form.appendChild(input);
      }
      fillToken(spec, input);
      // A token is used up by a stored submission; a form sent by script stays on the page
      // and needs a new one for the next message (taken after this submission read its own).
      // A plugin says when it stored (CF7: wpcf7mailsent on the form or, before 5.2, its
      // wrapper; Elementor: jQuery's submit_success); renewing only then keeps a person who
      // corrects a marked field from having to wait out the minimum fill time again. Gravity
      // Forms and WPForms replace the form by their confirmation: nothing to renew.
      var renew = function () { fillToken(spec, input); };
      if (spec.plugin === 'cf7' || field(form, '_wpcf7')) {
        document.addEventListener('wpcf7mailsent', function (ev) {
          var t = ev.target;
          if (t === form || (t && t.contains && t.contains(form))) { renew(); }
        });
      } else if (spec.plugin === 'elementor') {
        if (window.jQuery) { window.jQuery(form).on('submit_success', renew); }
      } else if (spec.plugin === 'html') {
        form.addEventListener('submit', function () { window.setTimeout(renew, 0); });
      }
    }
  }

  function scan() {
    var forms = document.forms;
    for (var i = 0; i < forms.length; i++) { prepare(forms[i]); }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', scan);
  } else {
    scan();
  }
  // Some CMS widgets render their form after load (pop-ups, tabs): look again, at most every 500 ms.
  if (window.MutationObserver) {
    var pending = false;
    new MutationObserver(function () {
      if (pending) { return; }
      pending = true;
      window.setTimeout(function () { pending = false; scan(); }, 500);
    }).observe(document.documentElement, { childList: true, subtree: true });
  }
})();
