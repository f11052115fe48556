/* consentgate forms: adds the fill-time token and the honeypot field to the forms the gate
   captures. No dependencies, no cookies, nothing sent anywhere but the gate itself.
   CG_CONFIG is filled in by the gate: {tokenUrl, tokenField, forms: {path: {honeypot, token}}}. */
(function () {
  'use strict';
  var CFG = /*CG_CONFIG*/null;
  if (!CFG || !window.document) { return; }
  var token = null;
  var waiting = [];

  function pathOf(form) {
    try {
      return new URL(form.getAttribute('action') || window.location.href, window.location.href).pathname;
    } catch (e) {
      return null;
    }
  }

  function field(form, name) {
    var els = form.elements;
    for (var i = 0; i < els.length; i++) {
      if (els[i].name === name) { return els[i]; }
    }
    return null;
  }

  function requestToken() {
    if (token !== null || waiting.requested) { return; }
    waiting.requested = true;
    window.fetch(CFG.tokenUrl, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || !j.token) { return; }
        token = j.token;
        for (var i = 0; i < waiting.length; i++) { waiting[i].value = token; }
        waiting.length = 0;
      })
      .catch(function () { /* the gate then asks the visitor to send once more */ });
  }

  function prepare(form) {
    if (form.getAttribute('data-cg-form') === '1') { return; }
    var spec = CFG.forms[pathOf(form)];
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
      if (token !== null) { input.value = token; } else { waiting.push(input); requestToken(); }
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
