// Python Flash's quickstart (gpu_demo.py) in TypeScript. Run it:
//
//   npx flash run gpu_demo.ts        # on Runpod with a key; on the local emulator without one
//   npx flash run gpu_demo.ts 200    # a 200x200 matrix
//
// Python Flash:
//   @Endpoint(name="flash-quickstart", gpu=GpuType.NVIDIA_GEFORCE_RTX_4090, workers=3, dependencies=["numpy", "torch"])
//   def gpu_matrix_multiply(size): ...
//
//   if __name__ == "__main__":
//       asyncio.run(main())
//
// The function is plain TypeScript here (numpy and torch have no place in a Node worker),
// so the endpoint needs no dependencies.
import { Endpoint, GpuType } from "flash-ts";

/** Multiplies two random size×size matrices on a GPU worker and says which card it ran on. */
export const gpuMatrixMultiply = Endpoint.fn(
  { name: "flash-quickstart", gpu: GpuType.NVIDIA_GEFORCE_RTX_4090, workers: 3 },
  async function gpuMatrixMultiply(size: number) {
    // Get the GPU's name (nvidia-smi is on Runpod's GPU workers; a local worker has none).
    const { execFile } = await import("node:child_process");
    const deviceName = await new Promise<string>((resolve) =>
      execFile("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], (error, stdout) => resolve(error ? "no GPU visible" : stdout.trim())),
    );

    // Create random matrices
    const a = randomMatrix(size);
    const b = randomMatrix(size);

    // Multiply matrices
    const c = multiply(a, b, size);

    return {
      matrix_size: size,
      result_mean: c.reduce((sum, x) => sum + x, 0) / c.length,
      gpu: deviceName,
    };
  },
);

function randomMatrix(size: number): Float64Array {
  return Float64Array.from({ length: size * size }, () => Math.random());
}

function multiply(a: Float64Array, b: Float64Array, size: number): Float64Array {
  const c = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < size; k++) {
      const aik = a[i * size + k]!;
      for (let j = 0; j < size; j++) c[i * size + j]! += aik * b[k * size + j]!;
    }
  }
  return c;
}

// Call the function
async function main() {
  console.log("Running matrix multiplication on Runpod GPU...");
  const result = await gpuMatrixMultiply(Number(process.argv[2] ?? 1000));

  console.log(`\n✓ Matrix size: ${result.matrix_size}x${result.matrix_size}`);
  console.log(`✓ Result mean: ${result.result_mean.toFixed(4)}`);
  console.log(`✓ GPU used: ${result.gpu}`);
}

if (import.meta.main) {
  await main();
}
