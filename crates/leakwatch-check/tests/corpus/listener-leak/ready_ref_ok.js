/* DokuWiki's table editor: the loader is handed by name to jQuery's ready,
   so its body listener is added once per page. */
window.edittable = window.edittable || {};

(function (edittable) {
    'use strict';

    edittable.loadEditor = function () {
        var container = document.getElementById('edittable__editor');
        if (!container) return;
        document.body.addEventListener('mousedown', function (e) {
            if (!container.contains(e.target)) container.classList.remove('active');
        });
    };

    jQuery(edittable.loadEditor);
}(window.edittable));
