// Makes the Postman collection (v2.1) of api/openapi.json with openapi-to-postmanv2, for
// scripts/postman.sh: one request per operation, in a folder per tag, Basic auth from the
// collection's variables. Usage: node convert.js OPENAPI.json OUT.json
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const converter = require('openapi-to-postmanv2');

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node convert.js OPENAPI.json OUT.json');
  process.exit(2);
}
const spec = fs.readFileSync(input, 'utf8');
const options = {
  folderStrategy: 'Tags',
  requestParametersResolution: 'Example',
  exampleParametersResolution: 'Example',
  includeAuthInfoInExample: false,
};
converter.convert({type: 'string', data: spec}, options, (err, res) => {
  if (err || !res.result) {
    console.error('postman: the converter failed:', err || res.reason);
    process.exit(1);
  }
  const collection = res.output[0].data;
  // The variables an importer fills in: where kopilkad listens and the Basic credentials.
  collection.variable = [
    {key: 'baseUrl', value: 'http://127.0.0.1:8080', type: 'string'},
    {key: 'basicAuthUsername', value: '', type: 'string'},
    {key: 'basicAuthPassword', value: '', type: 'string'},
  ];
  // The same document gives the same id, so a re-import replaces the collection.
  collection.info._postman_id = crypto.createHash('sha256').update(spec).digest('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, '$1-$2-$3-$4-$5');
  fs.writeFileSync(output, JSON.stringify(collection));
});
