// The same start also run again by every login: one more window listener
// per login.
class Session {}

Session.start = function () {
  window.addEventListener('popstate', function () { Session.go(); }); // expect: listener-leak
};

function onLogin() {
  Session.start();
}

window.onload = Session.start;
