// Queue-based, on a CPU worker, in one expression: POST /cpu_worker/run_sync {"input": {"text": "Flash"}}
// The endpoint takes the function's name ("cpuReverse") when none is given.
import { Endpoint, CpuInstanceType } from "flash-ts";

/** Reverses a text. */
export const cpuReverse = Endpoint.fn({ cpu: CpuInstanceType.CPU3C_2_4, workers: 2 }, async function cpuReverse(input: { text: string }) {
  return { reversed: [...input.text].reverse().join(""), length: input.text.length };
});
