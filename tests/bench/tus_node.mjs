// @tus/server with its file store, for tests/bench/compare.sh (a peer, not part of
// upgate). Usage: node tus_node.mjs MODULES_DIR PORT DATA_DIR, where MODULES_DIR holds
// `npm install @tus/server @tus/file-store`. Binds 127.0.0.1 only.
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [dir, port, data] = process.argv.slice(2);
if (!dir || !port || !data) {
  console.error("usage: node tus_node.mjs MODULES_DIR PORT DATA_DIR");
  process.exit(2);
}
const load = (pkg) =>
  import(pathToFileURL(path.join(dir, "node_modules", pkg, "dist", "index.js")).href);
const { Server } = await load("@tus/server");
const { FileStore } = await load("@tus/file-store");
const tus = new Server({ path: "/files", datastore: new FileStore({ directory: data }) });
http.createServer((req, res) => tus.handle(req, res)).listen(Number(port), "127.0.0.1");
