// Validates a HAR file against the HAR 1.2 schema with Debian's
// node-har-validator (NODE_PATH=/usr/share/nodejs). Prints "valid", or
// "invalid" and the schema errors (exit status 1).
'use strict';
const fs = require('fs');
const hv = require('har-validator');

const data = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
hv.har(data).then(() => {
  console.log('valid');
}).catch((e) => {
  console.log('invalid ' + JSON.stringify(e.errors || e.message).slice(0, 2000));
  process.exit(1);
});
