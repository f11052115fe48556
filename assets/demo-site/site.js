// First-party script of the demo site: must keep working behind the gate.
(function () {
  var marker = document.getElementById('site-js-ran');
  if (marker) { marker.textContent = 'ja'; }
})();
