// Queue-based, on a GPU worker: POST /gpu_worker/run_sync {"input": {"message": "hi"}}
//
// Python Flash:
//   @Endpoint(name="hello-gpu", gpu=GpuType.NVIDIA_GEFORCE_RTX_4090, workers=(0, 3), idle_timeout=5)
//   async def gpu_hello(input_data: dict) -> dict: ...
import { Endpoint, GpuType } from "flash-ts";

export interface HelloInput {
  message?: string;
}

/** Says hello from a GPU worker, naming the card it runs on. */
export const gpuHello = new Endpoint({
  name: "hello-gpu",
  gpu: GpuType.NVIDIA_GEFORCE_RTX_4090,
  workers: [0, 3],
  idleTimeout: 5,
}).fn(async (input: HelloInput) => {
  const { execFile } = await import("node:child_process");
  // On a Runpod GPU worker nvidia-smi names the card; locally there is none.
  const gpu = await new Promise<string>((resolve) =>
    execFile("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], (error, stdout) => resolve(error ? "no GPU visible" : stdout.trim())),
  );
  console.log(`gpuHello called with ${JSON.stringify(input)}`);
  return { message: input?.message ?? "hello from the GPU worker", gpu, node: process.version };
});
