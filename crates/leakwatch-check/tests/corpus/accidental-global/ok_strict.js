'use strict';

function parseRequest(req) {
  body = JSON.parse(req.payload);
  return body.items;
}
