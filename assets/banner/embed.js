/* consentgate embeds: wires the click-to-load placeholders the gate puts around embedded
 * players, maps and social plugins (div.cg-embed: the controls in div.cg-embed-ui, then the
 * inert iframe, hidden in div.cg-embed-frame, its URL in data-cg-src) and around posts a
 * vendor's script renders (div.cg-embed[data-cg-script]: the controls, then the post's markup;
 * the script neutralised where the page has it). Injected only into pages that have one.
 * "Load this …" loads this one frame, or the post's script for this page view, and stores
 * nothing. "Always load …" asks banner.js to record a decision that adds the vendor's category
 * (a receipt like any other); banner.js then releases every frame and script of that category,
 * as it releases any neutralised element, and this script shows each in its placeholder. */
(function (doc, win) {
  var asked = null;
  /* The controls go and the content takes their place; focus moves into it when the visitor
   * asked. The frame's wrapper kept it hidden whatever the site's CSS says about iframes. */
  function show(box, focus) {
    var ui = box && box.querySelector('.cg-embed-ui');
    if (!ui) return;
    var frame = box.querySelector('iframe'), wrap = box.querySelector('.cg-embed-frame');
    box.removeChild(ui);
    box.removeAttribute('style');
    if (wrap) { wrap.hidden = false; wrap.removeAttribute('style'); }
    if (frame) frame.hidden = false;
    if (!focus) return;
    if (!frame) box.tabIndex = -1;
    (frame || box).focus();
  }
  /* A post: its script (and any other copy of it on the page, unless already run) runs now,
   * through banner.js's own release, with the guard's rules for it lifted for this page view;
   * the script renders every post of its vendor on the page, so all their controls go. */
  function loadPost(box) {
    var spec = box.getAttribute('data-cg-script'), at = spec.indexOf('/');
    var host = '.' + spec.slice(0, at), path = spec.slice(at), guard = win.__cg;
    if (guard && guard.o) [].push.apply(guard.o, (box.getAttribute('data-cg-hosts') || '').split(' '));
    var scripts = [].filter.call(doc.querySelectorAll('script[data-cg-category]:not([data-cg-run])'), function (s) {
      var src = s.getAttribute('data-cg-src'), url;
      /* An inline loader (the SDK's own snippet) names the script's URL in its text. */
      if (!src) return s.textContent.indexOf(host.slice(1)) >= 0 && s.textContent.indexOf(path) >= 0;
      try { url = new URL(src, doc.baseURI); } catch (e) { return false; }
      return ('.' + url.hostname).slice(-host.length) === host && url.pathname.slice(-path.length) === path;
    });
    [].forEach.call(doc.querySelectorAll('.cg-embed[data-cg-script="' + spec + '"]'), function (other) {
      show(other, other === box);
    });
    if (win.consentgate && win.consentgate.release) win.consentgate.release(scripts);
  }
  doc.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('.cg-embed button');
    var box = button && button.closest('.cg-embed');
    if (!box) return;
    var category = button.getAttribute('data-cg-always');
    if (category) {
      asked = box;
      if (win.consentgate && win.consentgate.grant) win.consentgate.grant(category);
      return;
    }
    if (box.hasAttribute('data-cg-script')) return loadPost(box);
    var frame = box.querySelector('iframe[data-cg-src]');
    if (!frame) return;
    /* This frame only: navigated directly, not through its src attribute (which the guard
     * keeps from a tracker before consent: the guard stops the page's scripts; this is the
     * visitor's own click). banner.js leaves it alone from now on. */
    var url = frame.getAttribute('data-cg-src');
    ['data-cg-src', 'data-cg-category', 'data-cg-vendor'].forEach(function (name) { frame.removeAttribute(name); });
    show(box, true);
    try { frame.contentWindow.location.replace(url); } catch (e) { /* a detached frame */ }
  });
  /* A frame went live in a placeholder: banner.js released it (its category is granted), or
   * a post's script rendered its post as a frame. Show it. */
  function released(frame) {
    var box = frame.closest('.cg-embed');
    show(box, box === asked);
  }
  function live(frame) { return frame.localName === 'iframe' && !frame.hasAttribute('data-cg-src'); }
  new MutationObserver(function (records) {
    records.forEach(function (record) {
      if (live(record.target)) released(record.target);
      [].forEach.call(record.addedNodes || [], function (node) {
        if (node.querySelectorAll) [node].concat([].slice.call(node.querySelectorAll('iframe'))).filter(live).forEach(released);
      });
    });
  }).observe(doc.documentElement, { attributes: true, attributeFilter: ['src'], childList: true, subtree: true });
  /* Released before this script ran (a frame still waiting keeps its data-cg-src). */
  [].forEach.call(doc.querySelectorAll('.cg-embed iframe:not([data-cg-src])'), released);
})(document, window);
