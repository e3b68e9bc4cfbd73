function monitor(request) {
  const url = request.url;
  const timer = setInterval(() => report(url), 1000);
  request.on('end', () => clearInterval(timer));
}

var theThing = null;

function replaceThing() {
  var originalThing = theThing;
  var unused = function () {
    if (originalThing) console.log('hi');
  };
  theThing = {
    longStr: new Array(1000000).join('*'),
    someMethod: function () {
      console.log('someMessage');
    },
  };
  originalThing = null;
}

function poll(client) {
  const t = setInterval(() => client.ping(), 5000);
  return () => clearInterval(t);
}

function later(job) {
  return setTimeout(() => run(job.id), 100);
}

module.exports = { monitor, replaceThing, poll, later };
