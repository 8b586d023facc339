// Uploads a file through the official tus-js-client (the protocol oracle).
// Usage: node tus_upload.mjs ENDPOINT FILE [--chunk BYTES] [--parallel N] [--bearer KS]
//        [--protocol tus-v1|ietf-draft-03|ietf-draft-05]
// Prints one JSON line {"url": ..., "bytes": ...}; exits non-zero on failure.
import fs from 'node:fs';
import * as tus from 'tus-js-client';

const [endpoint, file, ...rest] = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : dflt;
};
const data = fs.readFileSync(file);
const options = {
  endpoint,
  retryDelays: [0, 100, 300, 1000, 2000],
  metadata: { filename: file.split('/').pop(), filetype: 'video/mp4' },
  uploadSize: data.length,
  removeFingerprintOnSuccess: true,
  onError: (err) => {
    console.error(`tus-js-client error: ${err}`);
    process.exit(1);
  },
  onSuccess: () => {
    console.log(JSON.stringify({ url: upload.url, bytes: data.length }));
  },
};
const protocol = rest.indexOf('--protocol');
if (protocol >= 0) options.protocol = rest[protocol + 1];
const bearer = rest.indexOf('--bearer');
if (bearer >= 0) options.headers = { Authorization: `Bearer ${rest[bearer + 1]}` };
const chunk = opt('--chunk', 0);
if (chunk > 0) options.chunkSize = chunk;
const parallel = opt('--parallel', 1);
if (parallel > 1) {
  options.parallelUploads = parallel;
  delete options.uploadSize; // derived from the Buffer; the option is refused here
}
const upload = new tus.Upload(data, options);
upload.start();
