import { z } from 'zod';

export const name = 'host-facts';

export const payloadSchema = z.object({}).passthrough();
export type Payload = z.infer<typeof payloadSchema>;
