// A queue-based GPU worker: POST /gpu_worker/run_sync {"input": {"message": "hi"}}
import { remote, LiveServerless, GpuGroup } from "flash-ts";

const gpu = new LiveServerless({ name: "gpu-worker", gpus: [GpuGroup.ADA_24, GpuGroup.AMPERE_24], workersMax: 3 });

export interface HelloInput {
  message?: string;
}

export const gpuHello = remote(gpu, async (input: HelloInput) => {
  const { execFile } = await import("node:child_process");
  // On a Runpod GPU worker nvidia-smi names the card; locally there is none.
  const gpuName = await new Promise<string>((resolve) =>
    execFile("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], (error, stdout) =>
      resolve(error ? "no GPU visible" : stdout.trim()),
    ),
  );
  console.log(`gpuHello called with ${JSON.stringify(input)}`);
  return { message: input?.message ?? "hello from the GPU worker", gpu: gpuName, node: process.version };
});
