/**
 * Runs inside the schema service's `node:worker_threads` Worker: keeps one
 * extractor (and so one TypeScript program) for the project and answers
 * extract requests one at a time. The TypeScript compiler is loaded here
 * only, on the first request, so the dev server's own thread never pays for
 * it and is never blocked by it.
 *
 * Loaded by Node directly: from dist/ as JavaScript, or from src/ with Node's
 * type stripping (tests), where `./x.js` specifiers name `.ts` files, so
 * those are mapped before the extractor is imported.
 */
import { readlinkSync } from "node:fs";
import { registerHooks } from "node:module";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import type { TypeSchemaExtractor } from "./extractor.js";
import type { ExtractMessage, ResultMessage, SchemaThreadData } from "./schema-protocol.js";

if (import.meta.url.endsWith(".ts")) {
  registerHooks({
    resolve(specifier, context, next) {
      if (specifier.startsWith(".") && specifier.endsWith(".js") && context.parentURL?.endsWith(".ts")) {
        return next(`${specifier.slice(0, -3)}.ts`, context);
      }
      return next(specifier, context);
    },
  });
}

/**
 * Lowest CPU priority for this thread only (docs/type-schemas.md, "Where the
 * work runs"): on Linux a thread has its own nice value, and
 * `/proc/thread-self` names the calling thread. A reload that starts while
 * an extraction runs then gets the CPU first. Elsewhere, or if refused, the
 * thread keeps the normal priority.
 */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid) setPriority(tid, 19);
  } catch {
    // not Linux, or not allowed
  }
}
lowerPriority();

const data = workerData as SchemaThreadData;
let extractor: TypeSchemaExtractor | undefined;

function post(message: ResultMessage): void {
  parentPort?.postMessage(message);
}

async function handle(message: ExtractMessage): Promise<void> {
  try {
    if (!extractor) {
      const { createTypeSchemaExtractor } = await import("./extractor.js");
      extractor = createTypeSchemaExtractor({ root: data.root, reservedNames: data.reservedNames });
    }
    post({ type: "result", seq: message.seq, ok: true, set: extractor.extract(message.targets, message.options) });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    post({ type: "result", seq: message.seq, ok: false, error: { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) } });
  }
}

// The service sends one request at a time, so handling them in arrival order is enough.
let queue: Promise<void> = Promise.resolve();
parentPort?.on("message", (message: ExtractMessage) => {
  queue = queue.then(() => handle(message));
});
