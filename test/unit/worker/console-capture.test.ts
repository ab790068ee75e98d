import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createExecutor } from "../../../src/worker/execute.js";
import type { Executor } from "../../../src/worker/execute.js";
import { bundle, makeRequest, resultOf, tempDir, unique } from "../../helpers/worker-bundles.js";

let cache: { path: string; remove: () => Promise<void> };
let executor: Executor;

beforeAll(async () => {
  cache = await tempDir();
  executor = createExecutor({ cacheDir: cache.path });
});
afterAll(async () => {
  executor.close();
  await cache.remove();
});

const header = `import { remote, CpuLiveServerless } from "flash-ts";\nconst cpu = new CpuLiveServerless({ name: "cpu" });\n`;

describe("console capture", () => {
  it("gives each call its own lines, even when calls interleave", async () => {
    // Each call logs, waits for the other to log, and logs again: lines interleave in time.
    const mod = bundle(
      `${header}// ${unique()}
const gates = globalThis.__gates ??= {};
export const chatty = remote(cpu, async (name, other) => {
  console.log("start", name);
  gates[name] = true;
  while (!gates[other]) await new Promise((r) => setImmediate(r));
  console.error("middle", name);
  await new Promise((r) => setTimeout(r, 5));
  console.info({ name });
  console.warn("end %s", name);
  console.debug("debug", name);
  return name;
});`,
      "chatty.ts",
      ["chatty"],
    );
    const [a, b] = await Promise.all([
      executor.execute(makeRequest(mod, "chatty.ts", "chatty", ["a", "b"])),
      executor.execute(makeRequest(mod, "chatty.ts", "chatty", ["b", "a"])),
    ]);
    expect(resultOf(a)).toBe("a");
    expect(resultOf(b)).toBe("b");
    for (const [response, name] of [[a, "a"], [b, "b"]] as const) {
      expect(response.logs).toEqual([
        { stream: "stdout", text: `start ${name}` },
        { stream: "stderr", text: `middle ${name}` },
        { stream: "stdout", text: `{ name: '${name}' }` },
        { stream: "stderr", text: `end ${name}` },
        { stream: "stdout", text: `debug ${name}` },
      ]);
    }
  });

  it("sends output from outside any call to the real stderr, not to a call", async () => {
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const mod = bundle(`${header}// ${unique()}\nconsole.log("loading module");\nexport const quiet = remote(cpu, async () => 1);`, "quiet.ts", ["quiet"]);
    const response = await executor.execute(makeRequest(mod, "quiet.ts", "quiet"));
    const written = write.mock.calls.map((c) => String(c[0]));
    write.mockRestore();
    expect(resultOf(response)).toBe(1);
    expect(response.logs).toEqual([]);
    expect(written).toContain("loading module\n");
  });

  it("keeps logging into a call after awaits in nested helpers and timers it awaits", async () => {
    const mod = bundle(
      `${header}// ${unique()}
async function step(i) { await new Promise((r) => setTimeout(r, 1)); console.log("step", i); }
export const steps = remote(cpu, async () => { for (let i = 0; i < 3; i++) await step(i); console.trace("done"); return 3; });`,
      "steps.ts",
      ["steps"],
    );
    const response = await executor.execute(makeRequest(mod, "steps.ts", "steps"));
    expect(response.logs.slice(0, 3).map((l) => l.text)).toEqual(["step 0", "step 1", "step 2"]);
    expect(response.logs[3]).toMatchObject({ stream: "stderr", text: expect.stringMatching(/^Trace: done\n\s+at /) });
  });

  it("hands each line to onLog as it is written, with its position in the response's logs, also past the size cap", async () => {
    const mod = bundle(
      `${header}// ${unique()}
export const big = remote(cpu, async () => { console.log("first"); console.log("x".repeat(1024 * 1024)); console.log("after the cap"); return 1; });`,
      "big.ts",
      ["big"],
    );
    const seen: { text: string; seq: number }[] = [];
    const response = await executor.execute(makeRequest(mod, "big.ts", "big"), { onLog: (log, seq) => seen.push({ text: log.text.slice(0, 20), seq }) });
    expect(response.logs.map((l) => l.text)).toEqual(["first", expect.stringMatching(/log output over \d+ bytes/)]);
    // The line that crossed the cap is replaced by the note, as in the response; later lines still go live.
    expect(seen).toEqual([
      { text: "first", seq: 0 },
      { text: response.logs[1]!.text.slice(0, 20), seq: 1 },
      { text: "after the cap", seq: 2 },
    ]);
  });
});
