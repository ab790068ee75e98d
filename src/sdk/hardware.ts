/**
 * GPU pools, GPU types and CPU instance types, with the wire values Runpod
 * uses. Values as in Runpod Flash (docs/internals.md, "Hardware names").
 */

/**
 * What `GpuGroup.ADA_99` (a member that does not exist) evaluates to: types
 * are stripped before the code runs, so without this it would be `undefined`
 * and the config could only say "unknown GPU undefined". It carries the name
 * written in the code, which the config's validation reports.
 */
export class UnknownEnumMember {
  constructor(
    /** What the enum lists, e.g. "GPU group". */
    readonly what: string,
    /** The enum's name, e.g. "GpuGroup". */
    readonly enumName: string,
    /** The member written in the code, e.g. "ADA_99". */
    readonly member: string,
  ) {
    Object.freeze(this);
  }
  toString(): string {
    return `${this.enumName}.${this.member}`;
  }
}

/** Looks like an enum member (upper case); anything else (then, toJSON, symbols) reads as usual. */
const MEMBER_NAME = /^[A-Z][A-Z0-9_]*$/;

/** `values` whose missing upper-case members read as {@link UnknownEnumMember} instead of undefined. */
function namedEnum<T extends Record<string, string>>(enumName: string, what: string, values: T): T {
  return new Proxy(Object.freeze(values), {
    get(target, key, receiver) {
      if (typeof key === "string" && !(key in target) && MEMBER_NAME.test(key)) return new UnknownEnumMember(what, enumName, key);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/** The name written in the code for a value that is not a member of its enum, if it is one. */
export function unknownMember(value: unknown): UnknownEnumMember | undefined {
  return value instanceof UnknownEnumMember ? value : undefined;
}

/** Serverless GPU pools (REST v2 `gpu.pools`). `ANY` means every pool. */
export const GpuGroup = namedEnum("GpuGroup", "GPU group", {
  ANY: "ANY",
  ADA_24: "ADA_24",
  ADA_32_PRO: "ADA_32_PRO",
  ADA_48_PRO: "ADA_48_PRO",
  ADA_80_PRO: "ADA_80_PRO",
  AMPERE_16: "AMPERE_16",
  AMPERE_24: "AMPERE_24",
  AMPERE_48: "AMPERE_48",
  AMPERE_80: "AMPERE_80",
  HOPPER_141: "HOPPER_141",
  BLACKWELL_96: "BLACKWELL_96",
  BLACKWELL_180: "BLACKWELL_180",
} as const);
export type GpuGroup = (typeof GpuGroup)[keyof typeof GpuGroup];

/** Individual GPU types (REST v2 GPU type ids). */
export const GpuType = namedEnum("GpuType", "GPU type", {
  ANY: "ANY",
  NVIDIA_GEFORCE_RTX_4090: "NVIDIA GeForce RTX 4090",
  NVIDIA_GEFORCE_RTX_5090: "NVIDIA GeForce RTX 5090",
  NVIDIA_RTX_6000_ADA_GENERATION: "NVIDIA RTX 6000 Ada Generation",
  NVIDIA_H100_80GB_HBM3: "NVIDIA H100 80GB HBM3",
  NVIDIA_RTX_A4000: "NVIDIA RTX A4000",
  NVIDIA_RTX_A4500: "NVIDIA RTX A4500",
  NVIDIA_RTX_4000_ADA_GENERATION: "NVIDIA RTX 4000 Ada Generation",
  NVIDIA_RTX_2000_ADA_GENERATION: "NVIDIA RTX 2000 Ada Generation",
  NVIDIA_RTX_A5000: "NVIDIA RTX A5000",
  NVIDIA_L4: "NVIDIA L4",
  NVIDIA_GEFORCE_RTX_3090: "NVIDIA GeForce RTX 3090",
  NVIDIA_A40: "NVIDIA A40",
  NVIDIA_RTX_A6000: "NVIDIA RTX A6000",
  NVIDIA_A100_80GB_PCIE: "NVIDIA A100 80GB PCIe",
  NVIDIA_A100_SXM4_80GB: "NVIDIA A100-SXM4-80GB",
  NVIDIA_H200: "NVIDIA H200",
  NVIDIA_RTX_PRO_6000_BLACKWELL_SERVER_EDITION: "NVIDIA RTX PRO 6000 Blackwell Server Edition",
  NVIDIA_RTX_PRO_6000_BLACKWELL_WORKSTATION_EDITION: "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
  NVIDIA_RTX_PRO_6000_BLACKWELL_MAX_Q_WORKSTATION_EDITION: "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition",
  NVIDIA_B200: "NVIDIA B200",
} as const);
export type GpuType = (typeof GpuType)[keyof typeof GpuType];

/** Which pool each GPU type belongs to. */
export const GPU_POOL_TYPES: Readonly<Record<Exclude<GpuGroup, "ANY">, readonly GpuType[]>> = {
  ADA_24: [GpuType.NVIDIA_GEFORCE_RTX_4090],
  ADA_32_PRO: [GpuType.NVIDIA_GEFORCE_RTX_5090],
  ADA_48_PRO: [GpuType.NVIDIA_RTX_6000_ADA_GENERATION],
  ADA_80_PRO: [GpuType.NVIDIA_H100_80GB_HBM3],
  AMPERE_16: [
    GpuType.NVIDIA_RTX_A4000,
    GpuType.NVIDIA_RTX_A4500,
    GpuType.NVIDIA_RTX_4000_ADA_GENERATION,
    GpuType.NVIDIA_RTX_2000_ADA_GENERATION,
  ],
  AMPERE_24: [GpuType.NVIDIA_RTX_A5000, GpuType.NVIDIA_L4, GpuType.NVIDIA_GEFORCE_RTX_3090],
  AMPERE_48: [GpuType.NVIDIA_A40, GpuType.NVIDIA_RTX_A6000],
  AMPERE_80: [GpuType.NVIDIA_A100_80GB_PCIE, GpuType.NVIDIA_A100_SXM4_80GB],
  HOPPER_141: [GpuType.NVIDIA_H200],
  BLACKWELL_96: [
    GpuType.NVIDIA_RTX_PRO_6000_BLACKWELL_SERVER_EDITION,
    GpuType.NVIDIA_RTX_PRO_6000_BLACKWELL_WORKSTATION_EDITION,
    GpuType.NVIDIA_RTX_PRO_6000_BLACKWELL_MAX_Q_WORKSTATION_EDITION,
  ],
  BLACKWELL_180: [GpuType.NVIDIA_B200],
};

export const ALL_GPU_POOLS = Object.keys(GPU_POOL_TYPES).sort() as Exclude<GpuGroup, "ANY">[];

/**
 * CPU instance types: `<flavor>-<vCPUs>-<GB memory>`, as Runpod Flash lists
 * them. The 1-vCPU types are sent as `vcpuCount: 1`; REST v2's published
 * schema asks for at least 2, so an account where Runpod refuses them gets
 * Runpod's own message when the endpoint is provisioned (docs/internals.md,
 * "Hardware names").
 */
export const CpuInstanceType = namedEnum("CpuInstanceType", "CPU instance type", {
  CPU3G_1_4: "cpu3g-1-4",
  CPU3G_2_8: "cpu3g-2-8",
  CPU3G_4_16: "cpu3g-4-16",
  CPU3G_8_32: "cpu3g-8-32",
  CPU3C_1_2: "cpu3c-1-2",
  CPU3C_2_4: "cpu3c-2-4",
  CPU3C_4_8: "cpu3c-4-8",
  CPU3C_8_16: "cpu3c-8-16",
  CPU5C_1_2: "cpu5c-1-2",
  CPU5C_2_4: "cpu5c-2-4",
  CPU5C_4_8: "cpu5c-4-8",
  CPU5C_8_16: "cpu5c-8-16",
} as const);
export type CpuInstanceType = (typeof CpuInstanceType)[keyof typeof CpuInstanceType];

const GPU_GROUP_VALUES = new Set<string>(Object.values(GpuGroup));
const GPU_TYPE_VALUES = new Set<string>(Object.values(GpuType));
const CPU_TYPE_VALUES = new Set<string>(Object.values(CpuInstanceType));

export function isGpuGroup(value: string): value is GpuGroup {
  return GPU_GROUP_VALUES.has(value);
}
export function isGpuType(value: string): value is GpuType {
  return GPU_TYPE_VALUES.has(value);
}
export function isCpuInstanceType(value: string): value is CpuInstanceType {
  return CPU_TYPE_VALUES.has(value);
}

export interface GpuSelection {
  /** Pools, sorted. */
  pools: string[];
  /** GPU types excluded from those pools, sorted. */
  excludedTypes: string[];
}

/**
 * Turns a list of pools and/or types into REST v2's pools + exclusions, in a
 * canonical order (Flash's Python version ordered these by hash seed, which
 * made restarts look like config changes). A type selects its pool minus the
 * pool's other types, unless the pool is also selected whole.
 */
export function resolveGpuSelection(gpus: readonly string[]): GpuSelection {
  if (gpus.length === 0 || gpus.includes("ANY")) return { pools: [...ALL_GPU_POOLS], excludedTypes: [] };
  const wholePools = new Set<string>();
  const typesByPool = new Map<string, Set<string>>();
  for (const gpu of gpus) {
    if (gpu in GPU_POOL_TYPES) {
      wholePools.add(gpu);
      continue;
    }
    const pool = (Object.keys(GPU_POOL_TYPES) as (keyof typeof GPU_POOL_TYPES)[]).find((p) =>
      (GPU_POOL_TYPES[p] as readonly string[]).includes(gpu),
    );
    if (!pool) continue; // validated earlier
    if (!typesByPool.has(pool)) typesByPool.set(pool, new Set());
    typesByPool.get(pool)!.add(gpu);
  }
  const pools = new Set<string>(wholePools);
  const excluded: string[] = [];
  for (const [pool, chosen] of typesByPool) {
    if (wholePools.has(pool)) continue;
    pools.add(pool);
    for (const t of GPU_POOL_TYPES[pool as keyof typeof GPU_POOL_TYPES]) if (!chosen.has(t)) excluded.push(t);
  }
  return { pools: [...pools].sort(), excludedTypes: excluded.sort() };
}
