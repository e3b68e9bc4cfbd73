/* The same loader, also run again each time a table is reopened: every
   reopening adds one more body listener. */
window.grideditor = window.grideditor || {};

(function (grideditor) {
    'use strict';

    grideditor.loadEditor = function () {
        var container = document.getElementById('grideditor');
        if (!container) return;
        document.body.addEventListener('mousedown', function (e) { // expect: listener-leak
            if (!container.contains(e.target)) container.classList.remove('active');
        });
    };

    jQuery(grideditor.loadEditor);
    jQuery('.reopen').on('click', function () { grideditor.loadEditor(); });
}(window.grideditor));
