// A queue-based GPU worker: POST /gpu_worker/run_sync {"input": {"prompt": "a red fox"}}
import { remote, LiveServerless, GpuGroup } from "flash-ts";

const gpu = new LiveServerless({ name: "gpu-worker", gpus: [GpuGroup.ADA_24, GpuGroup.AMPERE_24], workersMax: 3 });

export interface GenerateInput {
  prompt?: string;
}

export const generate = remote(gpu, async (input: GenerateInput) => {
  const { execFile } = await import("node:child_process");
  // On a Runpod GPU worker nvidia-smi names the card; on the local emulator there may be none.
  const gpuName = await new Promise<string>((resolve) =>
    execFile("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], (error, stdout) => resolve(error ? "no GPU visible" : stdout.trim())),
  );
  return { prompt: input?.prompt ?? "hello from the GPU worker", gpu: gpuName, node: process.version };
});
