export * from "./boot-files";
export * from "./bsdp";
export * from "./errors";
export * from "./schema";
export * from "./stack-config";
export * from "./validate";
