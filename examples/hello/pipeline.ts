// A pipeline: an LB route that calls two QB functions, each on its own endpoint.
// POST /pipeline/greet {"name": "Ada"}
import { remote, CpuLiveLoadBalancer } from "flash-ts";
import { cpuHello } from "./cpu_worker";
import { gpuHello } from "./gpu_worker";

const pipelineApi = new CpuLiveLoadBalancer({ name: "pipeline" });

export const greet = remote(pipelineApi, { method: "POST", path: "/greet" }, async (body: { name?: string }) => {
  const name = body.name ?? "world";
  const cpu = await cpuHello({ message: `hello ${name}` });
  const gpu = await gpuHello({ message: cpu.message.toUpperCase() });
  return { steps: [cpu, gpu], result: gpu.message };
});
