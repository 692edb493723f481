import { z } from 'zod';

export const name = 'read-system-id';

export const payloadSchema = z.object({}).strict();
export type Payload = z.infer<typeof payloadSchema>;
