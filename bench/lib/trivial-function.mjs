// The benchmarks' trivial flash function (`a + b`) in a throwaway project,
// bundled exactly as flash dev bundles it: { project, module }.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDiscovery } from "../../dist/discovery/index.js";

export async function bundleTrivialFunction(prefix) {
  const project = await mkdtemp(join(tmpdir(), prefix));
  await writeFile(
    join(project, "trivial.ts"),
    `import { remote, CpuLiveServerless } from "flash-ts";
export const add = remote(new CpuLiveServerless({ name: "bench" }), async (input: { a: number; b: number }) => input.a + input.b);
`,
  );
  const discovery = createDiscovery({ root: project });
  const manifest = await discovery.discover();
  await discovery.close();
  return { project, module: manifest.modules["trivial.ts"] };
}
