function monitor(request) {
  const timer = setInterval(() => { // expect: closure-capture
    report(request.url);
  }, 1000);
  request.on('end', () => clearInterval(timer));
}

var theThing = null;

function replaceThing() {
  var originalThing = theThing;
  var unused = function () {
    if (originalThing) console.log('hi');
  };
  theThing = { // expect: closure-capture
    longStr: new Array(1000000).join('*'),
    someMethod: function () {
      console.log('someMessage');
    },
  };
}

function scheduleExpiry(session) {
  return setTimeout(() => purge(session.id), 3600000); // expect: closure-capture
}

module.exports = { monitor, replaceThing, scheduleExpiry };
