// One watcher under measurement, run in its own process so that its CPU time
// can be read from /proc without counting the benchmark's own work.
// Usage: node watch-subject.mjs <subject> <root> [hot files, comma-separated]
// Prints READY once the watcher's initial scan is done, then idles until killed.
import { stdout, argv } from "node:process";

const [subject, root, hotArg = ""] = argv.slice(2);
const hot = hotArg ? hotArg.split(",") : [];
let events = 0;

if (subject.startsWith("flash-poll") || subject === "flash-native") {
  // flash-poll uses the defaults; flash-poll@50 sets hotIntervalMs to 50 (for choosing the defaults).
  const { createWatcher, describeWatcher } = await import("../../dist/watch/index.js");
  const hotIntervalMs = subject.includes("@") ? Number(subject.split("@")[1]) : undefined;
  const watcher = createWatcher({ root, mode: subject === "flash-native" ? "native" : "poll", ...(hotIntervalMs ? { hotIntervalMs } : {}) });
  watcher.setHotFiles(hot);
  watcher.onChange((batch) => (events += batch.events.length));
  await watcher.ready;
  stdout.write(`READY ${JSON.stringify({ description: describeWatcher(watcher.stats()), stats: watcher.stats() })}\n`);
} else if (subject.startsWith("chokidar-poll-")) {
  // chokidar 6 polling every path, with the same folders ignored: the naive design, for reference.
  const { watch } = await import("chokidar");
  const interval = Number(subject.slice("chokidar-poll-".length));
  const watcher = watch(root, {
    backend: "polling",
    pollingInterval: interval,
    ignoreInitial: true,
    ignored: /(^|[/\\])(node_modules|\.git|dist|build)([/\\]|$)/,
  });
  watcher.on("all", () => events++);
  await new Promise((resolve) => watcher.once("ready", resolve));
  stdout.write(`READY ${JSON.stringify({ description: `chokidar 6 usePolling every ${interval} ms` })}\n`);
} else if (subject === "node-idle") {
  // The floor: a Node process doing nothing but staying alive.
  setInterval(() => {}, 1 << 30);
  stdout.write(`READY {"description":"an idle node process"}\n`);
} else {
  throw new Error(`unknown subject ${subject}`);
}
