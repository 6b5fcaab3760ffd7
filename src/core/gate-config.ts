// Placeholder until the gates module lands: the gate spec as users write it.
import { z } from 'zod';

export const gateSpecSchema = z
  .object({
    name: z.string().min(1, 'a gate needs a name'),
    query: z.string().optional(),
    max: z.number().optional(),
    min: z.number().optional(),
    'max-increase': z.union([z.number(), z.string()]).optional(),
    'max-ratio': z.number().optional(),
    'min-requests': z.number().int().nonnegative().optional(),
  })
  .strict();

export type GateSpec = z.output<typeof gateSpecSchema>;

export const DEFAULT_GATES: GateSpec[] = [
  { name: 'error-rate', max: 0.01, 'max-ratio': 1.5, 'min-requests': 100 },
  { name: 'latency-p95', 'max-ratio': 1.2, 'min-requests': 100 },
];
