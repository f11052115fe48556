/* consentgate embeds: wires the click-to-load placeholders the gate puts around embedded
 * players, maps and social plugins (div.cg-embed: the controls in div.cg-embed-ui, then the
 * inert iframe, hidden in div.cg-embed-frame, its URL in data-cg-src). Injected only into
 * pages that have one.
 * "Load this …" loads this one frame and stores nothing. "Always load …" asks banner.js to
 * record a decision that adds the vendor's category (a receipt like any other); banner.js then
 * releases every frame of that category, as it releases any neutralised element, and this
 * script shows each frame in its placeholder's place. */
(function (doc, win) {
  var asked = null;
  /* The frame takes the placeholder's place; focus moves into it when the visitor asked. Its
   * wrapper kept it hidden whatever the site's CSS says about iframes. */
  function show(box, focus) {
    var ui = box && box.querySelector('.cg-embed-ui'), frame = box && box.querySelector('iframe');
    if (!ui || !frame) return;
    var wrap = box.querySelector('.cg-embed-frame');
    box.removeChild(ui);
    box.removeAttribute('style');
    if (wrap) { wrap.hidden = false; wrap.removeAttribute('style'); }
    frame.hidden = false;
    if (focus) frame.focus();
  }
  doc.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('.cg-embed button');
    var box = button && button.closest('.cg-embed'), frame = box && box.querySelector('iframe');
    if (!frame) return;
    var category = button.getAttribute('data-cg-always');
    if (category) {
      asked = box;
      if (win.consentgate && win.consentgate.grant) win.consentgate.grant(category);
      return;
    }
    /* This frame only: navigated directly, not through its src attribute (which the guard
     * keeps from a tracker before consent: the guard stops the page's scripts; this is the
     * visitor's own click). banner.js leaves it alone from now on. */
    var url = frame.getAttribute('data-cg-src');
    ['data-cg-src', 'data-cg-category', 'data-cg-vendor'].forEach(function (name) { frame.removeAttribute(name); });
    show(box, true);
    try { frame.contentWindow.location.replace(url); } catch (e) { /* a detached frame */ }
  });
  /* banner.js released a frame (its category is granted): show it. */
  function released(frame) {
    var box = frame.closest('.cg-embed');
    show(box, box === asked);
  }
  new MutationObserver(function (records) {
    records.forEach(function (record) {
      var frame = record.target;
      if (frame.localName === 'iframe' && !frame.hasAttribute('data-cg-src')) released(frame);
    });
  }).observe(doc.documentElement, { attributes: true, attributeFilter: ['src'], subtree: true });
  /* Released before this script ran (a frame still waiting keeps its data-cg-src). */
  [].forEach.call(doc.querySelectorAll('.cg-embed iframe:not([data-cg-src])'), released);
})(document, window);
