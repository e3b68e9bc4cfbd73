// The page's start handed to `window.onload`: its listeners are added once
// per page, even though other objects have a `start` of their own that a
// login runs again.
class Router {}

Router.start = function () {
  window.addEventListener('popstate', function () { Router.go(); });
  window.addEventListener('click', function (e) { closeMenus(e); });
};

function relogin() {
  LoginDialog.start();
}

window.onload = Router.start;
