// jQuery objects kept in a local before `find(...).toArray()`: the
// elements of a page, not the documents of a collection (DataTables'
// `$()` API method).
function rowsMatching(api, selector, opts) {
  var rows = api.rows(opts).nodes(),
    jqRows = $(rows);
  return [].concat(
    jqRows.filter(selector).toArray(),
    jqRows.find(selector).toArray()
  );
}

function cellsOf(table) {
  let body;
  body = jQuery(table.tBodies[0]);
  return body.find({ tag: 'td' }).toArray();
}
