// A CommonJS module: its top-level `var` is the module's own, no global.
var g_map = null;
module.exports = { ready: function () { return g_map !== null; } };
