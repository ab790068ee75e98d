// A pipeline: a load-balanced route that calls two queue-based functions, each on its own endpoint.
//   POST /pipeline/run {"text": "a red fox"}
import { remote, CpuLiveLoadBalancer } from "flash-ts";
import { summarize } from "./cpu_worker";
import { generate } from "./gpu_worker";

const pipelineApi = new CpuLiveLoadBalancer({ name: "pipeline" });

export const run = remote(pipelineApi, { method: "POST", path: "/run" }, async (body: { text?: string }) => {
  const summary = await summarize({ text: body.text ?? "a red fox" });
  const image = await generate({ prompt: summary.upper });
  return { summary, image };
});
