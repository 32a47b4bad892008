// The one vocabulary for what a request asks the service to do. The edge's routes, the
// edge ↔ pool protocol, the runner's pipeline methods and both sides' metrics and logs all
// name an operation with these words, so one request reads the same everywhere.
import { z } from "zod";

export const OPERATIONS = ["generation", "variation", "edit", "interpolation"] as const;

export const operationSchema = z.enum(OPERATIONS);

export type Operation = z.infer<typeof operationSchema>;
