export * from "./boot-image";
export * from "./builder";
export { BootImagePlanError, NicDriverMissingError, planLabPayloads, type ImageClient, type NicCheckReport, type PayloadPlan } from "../../lib/boot-image";
